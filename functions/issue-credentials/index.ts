/**
 * SCF entry point (`index.main_handler`) for the HTTP trigger: Function URL or API Gateway.
 * It only translates; the broker lives in lib/.
 */
import { createApp, type AppDeps } from "../../lib/app.ts";
import { CONFIG_VARIABLES } from "../../lib/config.ts";
import { BrokerError } from "../../lib/errors.ts";
import { errorResponse } from "../../lib/http.ts";
import { createLogger } from "../../lib/log.ts";
import { eventResponse, requestFromEvent, type ScfContext, type ScfHttpResponse } from "./event.ts";

/** What this function reads from its environment; serverless.yml sets exactly these (test/serverless-yml.test.ts). */
export const ENV_VARIABLES: readonly string[] = CONFIG_VARIABLES;

export type ScfHandler = (event: unknown, context?: ScfContext) => Promise<ScfHttpResponse>;

export function createHandler(deps: AppDeps = {}): ScfHandler {
  const logger = deps.logger ?? createLogger();
  const app = createApp({ ...deps, logger });
  const refuse = (error: BrokerError, requestId: string) => {
    const response = errorResponse(error, requestId);
    logger.request({ requestId, outcome: response.status >= 500 ? "failed" : "refused", status: response.status, method: "-", latencyMs: 0, code: error.code });
    return eventResponse(response);
  };
  return async (event, context) => {
    const requestId = typeof context?.request_id === "string" ? context.request_id : "";
    try {
      const request = requestFromEvent(event, context);
      if (!request) return refuse(new BrokerError("BadRequest", "this function answers HTTP trigger events only"), requestId);
      return eventResponse(await app.handle(request));
    } catch {
      // app.handle never throws; this guards the translation of a malformed event.
      return refuse(new BrokerError("BadRequest", "the trigger event could not be read"), requestId);
    }
  };
}

let instance: ScfHandler | undefined;

/** Configuration is read once per instance, at its first invocation. */
export const main_handler: ScfHandler = (event, context) => (instance ??= createHandler())(event, context);
