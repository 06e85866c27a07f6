/**
 * The broker as an HTTP server over node:http, for SCF web functions (started by scf_bootstrap)
 * and containers (the Dockerfile): `node index.js`. It only translates; the broker lives in
 * lib/. What it adds, and every setting, is in docs/adapters.md.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { type App, type AppDeps, createApp } from "../../lib/broker/app.ts";
import { CONFIG_VARIABLES } from "../../lib/broker/config.ts";
import type { HttpResponse } from "../../lib/broker/http.ts";
import { createLogger, type Logger } from "../../lib/shared/log.ts";
import { nodeTransport } from "../../lib/sts/node-transport.ts";
import { MAX_HEADER_BYTES, refuseMalformed } from "./refusals.ts";
import { requestFrom } from "./request.ts";
import { loadServerSettings, SERVER_VARIABLES, type ServerSettings } from "./settings.ts";

/** What this server reads from its environment: the broker's variables and its own. */
export const ENV_VARIABLES: readonly string[] = [...CONFIG_VARIABLES, ...SERVER_VARIABLES];

/** Answers 200 while the instance can issue, 503 while misconfigured or shutting down; nothing else. */
export const HEALTH_PATH = "/healthz";
/** How often Node looks for requests past their timeout (its default, 30 s, would let a 10 s limit run to 40). */
const TIMEOUT_CHECK_MS = 1000;

export interface ServerOptions extends AppDeps {
  readonly settings: ServerSettings;
}

export interface BrokerServer {
  readonly origin: string;
  readonly port: number;
  readonly app: App;
  readonly server: Server;
  /** Stops accepting, lets in-flight requests finish for up to SHUTDOWN_TIMEOUT_MS, then cuts the rest. */
  shutdown(): Promise<{ readonly finished: number; readonly cut: number }>;
  /** Stops at once, open connections and all (tests, npm start). */
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<BrokerServer> {
  const { settings } = options;
  const logger = options.logger ?? createLogger();
  const app = createApp({ ...options, stsTransport: options.stsTransport ?? nodeTransport(options.env), logger });
  const inFlight = new Set<ServerResponse>();
  let draining = false;

  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, connectionsCheckingInterval: TIMEOUT_CHECK_MS }, (req, res) => {
    if (isHealthCheck(req)) return health(res, app.ok && !draining);
    inFlight.add(res);
    res.on("close", () => inFlight.delete(res));
    serve(req, res).catch(() => res.destroy());
  });
  // Headers and body alike within REQUEST_TIMEOUT_MS: headersTimeout may not exceed requestTimeout.
  Object.assign(server, {
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    headersTimeout: settings.requestTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
  });
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => refuseMalformed(error, socket, logger));

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { request, whole } = await requestFrom(req, settings);
    const response = await app.handle(request);
    // A body cut at the limit was never read to its end; a draining server keeps no connection.
    send(res, response, !whole || draining);
  }

  const port = await listen(server, settings);
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    origin: `http://${settings.host.includes(":") ? `[${settings.host}]` : settings.host}:${port}`,
    port,
    app,
    server,
    close,
    async shutdown() {
      draining = true;
      const open = inFlight.size;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = new Promise<"late">((resolve) => setTimeout(resolve, settings.shutdownTimeoutMs, "late").unref());
      if ((await Promise.race([stopped, timer])) === "late") server.closeAllConnections();
      const cut = inFlight.size;
      return { finished: open - cut, cut };
    },
  };
}

function send(res: ServerResponse, response: HttpResponse, closeAfter: boolean): void {
  res.writeHead(response.status, closeAfter ? { ...response.headers, Connection: "close" } : response.headers);
  res.end(response.body);
}

const isHealthCheck = (req: IncomingMessage) => (req.method === "GET" || req.method === "HEAD") && req.url === HEALTH_PATH;

function health(res: ServerResponse, ready: boolean): void {
  res.writeHead(ready ? 200 : 503, { "Content-Type": "application/json", "Cache-Control": "no-store" });
  res.end(ready ? '{"status":"ok"}' : '{"status":"unavailable"}');
}

function listen(server: Server, settings: Pick<ServerSettings, "host" | "port">): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(settings.port, settings.host, () => {
      server.off("error", reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/** `node index.js`: settings from the environment; SIGTERM or SIGINT drain and exit 0. Resolves with the running server, or undefined when it cannot run. */
export async function main(env = process.env, logger: Logger = createLogger()): Promise<BrokerServer | undefined> {
  let settings: ServerSettings;
  try {
    settings = loadServerSettings(env);
  } catch (error) {
    logger.event("server_config_error", { message: (error as Error).message }, "error");
    process.exitCode = 1;
    return undefined;
  }
  const running = await startServer({ env, logger, settings }).catch((error: NodeJS.ErrnoException) => {
    logger.event("server_listen_error", { code: error.code, message: `cannot listen on ${settings.host}:${settings.port}` }, "error");
    process.exitCode = 1;
  });
  if (!running) return undefined;
  logger.event("listening", { host: settings.host, port: running.port });
  const stop = async (signal: string) => {
    logger.event("shutdown", { signal });
    const { finished, cut } = await running.shutdown();
    logger.event("stopped", { finished, cut });
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
  return running;
}

// Started only as the program itself (`node index.js`), not when a test or the build loads it.
if (typeof module !== "undefined" && typeof require !== "undefined" && require.main === module) void main();
