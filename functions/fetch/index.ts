/**
 * The broker over the Fetch API (`Request` in, `Response` out), for runtimes that serve a
 * module's `export default { fetch }`: Deno (`deno serve`), Bun, edge workers, or any server
 * that hands over a Request. It only translates; STS is reached with the runtime's own fetch
 * (lib/sts/fetch-transport.ts), so nothing here needs node:http or node:https. Configuration:
 * docs/adapters.md, The Fetch handler.
 */
import { type AppDeps, createApp } from "../../lib/broker/app.ts";
import { CONFIG_VARIABLES } from "../../lib/broker/config.ts";
import { type HttpRequest, type HttpResponse, MAX_BODY_BYTES } from "../../lib/broker/http.ts";
import type { Env } from "../../lib/shared/env.ts";
import { createLogger } from "../../lib/shared/log.ts";
import { fetchTransport } from "../../lib/sts/fetch-transport.ts";

/** What this handler reads from the environment it is given. */
export const ENV_VARIABLES: readonly string[] = CONFIG_VARIABLES;

export interface FetchHandler {
  /** `connection`: what the runtime passes beside the request (Deno's ServeHandlerInfo, Bun's Server), read for the client's address. */
  fetch(request: Request, connection?: unknown): Promise<Response>;
}

export interface FetchHandlerOptions extends AppDeps {
  /** The client's address where the runtime does not say it, e.g. `(request) => request.headers.get("cf-connecting-ip")` behind a trusted edge. */
  readonly clientAddress?: (request: Request, connection: unknown) => string | null | undefined;
}

/** A handler over `options.env` (default: `process.env` where the runtime has one), its configuration read once, now. */
export function createFetchHandler(options: FetchHandlerOptions = {}): FetchHandler {
  const env = options.env ?? processEnv();
  // One line per request on the console, which every runtime has (process.stdout is Node's).
  const logger = options.logger ?? createLogger((line) => console.log(line));
  const app = createApp({ ...options, env, logger, stsTransport: options.stsTransport ?? fetchTransport(options.fetch) });
  const addressOf = options.clientAddress ?? runtimeAddress;
  return {
    async fetch(request, connection) {
      const response = await app.handle(await requestFrom(request, addressOf(request, connection) ?? undefined));
      return responseOf(response);
    },
  };
}

const processEnv = (): Env => (globalThis as { process?: { env?: Env } }).process?.env ?? {};

/** The address the runtime saw: Deno's `info.remoteAddr.hostname`, Bun's `server.requestIP(request).address`. */
function runtimeAddress(request: Request, connection: unknown): string | undefined {
  const given = connection as { remoteAddr?: { hostname?: unknown }; requestIP?: (request: Request) => { address?: unknown } | null } | undefined;
  const address = given?.remoteAddr?.hostname ?? (typeof given?.requestIP === "function" ? given.requestIP(request)?.address : undefined);
  return typeof address === "string" ? address : undefined;
}

async function requestFrom(request: Request, sourceIp: string | undefined): Promise<HttpRequest> {
  const url = new URL(request.url);
  // The first value of a repeated parameter wins, as in the other adapters.
  const query = Object.fromEntries([...url.searchParams].reverse());
  return {
    method: request.method,
    path: url.pathname,
    headers: Object.fromEntries(request.headers),
    query,
    body: await readBody(request, MAX_BODY_BYTES),
    requestId: crypto.randomUUID(),
    sourceIp,
  };
}

/** At most `max + 1` bytes, enough for the broker to answer 413; the rest is never read. */
async function readBody(request: Request, max: number): Promise<string | undefined> {
  if (!request.body) return undefined;
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    chunks.push(read.value);
    size += read.value.length;
    if (size > max) {
      await reader.cancel();
      break;
    }
  }
  if (size === 0) return undefined;
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(bytes.subarray(0, max + 1));
}

/** A 204 or 304 carries no body (the Response constructor refuses one). */
function responseOf({ status, headers, body }: HttpResponse): Response {
  return new Response(body === "" ? null : body, { status, headers });
}

let instance: FetchHandler | undefined;

/** `export default { fetch }`: configuration from `process.env`, read at the first request. */
export default {
  fetch(request: Request, connection?: unknown): Promise<Response> {
    instance ??= createFetchHandler();
    return instance.fetch(request, connection);
  },
} satisfies FetchHandler;
