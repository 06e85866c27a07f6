/**
 * SCF entry point (`index.main_handler`) for the HTTP trigger: Function URL or API Gateway.
 * It only translates; the broker lives in lib/.
 */
import { type AppDeps, createApp } from "../../lib/broker/app.ts";
import { CONFIG_VARIABLES } from "../../lib/broker/config.ts";
import { refuse } from "../../lib/broker/http.ts";
import { type MonotonicMs, systemClock } from "../../lib/shared/clock.ts";
import { BrokerError } from "../../lib/shared/errors.ts";
import { createLogger } from "../../lib/shared/log.ts";
import { nodeTransport } from "../../lib/sts/node-transport.ts";
import { requestIdOf, type ScfContext } from "../scf.ts";
import { eventResponse, requestFromEvent, type ScfHttpResponse } from "./event.ts";

/** What this function reads from its environment; serverless.yml sets exactly these (test/build/serverless-yml.test.ts). */
export const ENV_VARIABLES: readonly string[] = CONFIG_VARIABLES;

export type ScfHandler = (event: unknown, context?: ScfContext) => Promise<ScfHttpResponse>;

export function createHandler(deps: AppDeps = {}): ScfHandler {
  const logger = deps.logger ?? createLogger();
  const app = createApp({ ...deps, stsTransport: deps.stsTransport ?? nodeTransport(deps.env), logger });
  const refuseEvent = (error: BrokerError, requestId: string, started: MonotonicMs) =>
    eventResponse(refuse(error, { requestId, method: "-" }, logger, started));
  return async (event, context) => {
    const started = systemClock.monotonic();
    const requestId = requestIdOf(context);
    try {
      const request = requestFromEvent(event, context);
      if (!request) return refuseEvent(new BrokerError("BadRequest", "this function answers HTTP trigger events only"), requestId, started);
      return eventResponse(await app.handle(request));
    } catch {
      // app.handle never throws; this guards the translation of a malformed event.
      return refuseEvent(new BrokerError("BadRequest", "the trigger event could not be read"), requestId, started);
    }
  };
}

let instance: ScfHandler | undefined;

/** Configuration is read once per instance, at its first invocation. */
export const main_handler: ScfHandler = (event, context) => {
  instance ??= createHandler();
  return instance(event, context);
};
