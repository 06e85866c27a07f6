/**
 * Wires the broker from the environment, once per instance. Every adapter (SCF Function URL
 * or API Gateway, the local server) calls this at cold start and then only translates.
 */
import { createTokenVerifier } from "../identity/verify.ts";
import { createWechatLogin } from "../identity/wechat.ts";
import { type Clock, systemClock } from "../shared/clock.ts";
import type { Env } from "../shared/env.ts";
import { BrokerError } from "../shared/errors.ts";
import type { FetchLike } from "../shared/fetch.ts";
import { createLogger, type Logger } from "../shared/log.ts";
import { createStsClient, type StsClient } from "../sts/client.ts";
import { cacheCredentials } from "../sts/reuse.ts";
import type { StsTransport } from "../sts/tc3.ts";
import { type Config, loadConfig } from "./config.ts";
import { createHttpHandler, type HttpHandler, refuse } from "./http.ts";
import { type Broker, type Credential, createBroker } from "./issue.ts";
import { createRateLimiter } from "./rate-limit.ts";

export interface AppDeps {
  readonly env?: Env;
  readonly logger?: Logger;
  readonly fetch?: FetchLike;
  readonly clock?: Clock;
  /** Replaces the STS client (the credential check and tests hand in their own). */
  readonly stsClient?: StsClient;
  /** How the STS client sends its requests: the adapter's, as only it knows the platform (lib/sts/node-transport.ts on SCF). */
  readonly stsTransport?: StsTransport;
}

export type App =
  | { readonly ok: true; readonly config: Config; readonly broker: Broker; readonly handle: HttpHandler }
  | { readonly ok: false; readonly error: BrokerError; readonly handle: HttpHandler };

export function createApp(deps: AppDeps = {}): App {
  const env = deps.env ?? process.env;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger();
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (caught) {
    const error = caught instanceof BrokerError ? caught : new BrokerError("ConfigError", "configuration could not be read");
    logger.event("config_error", { code: error.code, message: error.message }, "error");
    return { ok: false, error, handle: refuseAll(error, logger) };
  }
  for (const warning of config.profileWarnings) logger.event("profile_warning", { ...warning });
  const verifyToken = config.jwt && createTokenVerifier(config.jwt, { fetch: deps.fetch, clock });
  const wechatLogin = config.wechat && createWechatLogin(config.wechat.login, { fetch: deps.fetch, clock });
  const stsClient = cacheCredentials(deps.stsClient ?? createStsClient(config.sts, env, { clock, transport: transportOf(deps) }), config.cache, clock);
  const checkRate = createRateLimiter(config.rateLimit, clock);
  const broker = createBroker({ config, verifyToken, wechatLogin, stsClient, checkRate, clock });
  return { ok: true, config, broker, handle: createHttpHandler({ broker, corsOrigins: config.corsOrigins, logger, schemes: schemesOf(config) }) };
}

const schemesOf = (config: Config): Credential["scheme"][] => [...(config.jwt ? ["Bearer" as const] : []), ...(config.wechat ? ["WeChat" as const] : [])];

function transportOf(deps: AppDeps): StsTransport {
  if (!deps.stsTransport) throw new Error("createApp needs an stsClient or an stsTransport from its adapter");
  return deps.stsTransport;
}

/** A misconfigured instance issues nothing; every request gets the 500 that names the variable. */
function refuseAll(error: BrokerError, logger: Logger): HttpHandler {
  return async (request) => refuse(error, request, logger, systemClock.monotonic());
}
