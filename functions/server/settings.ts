/**
 * The server's own settings (docs/adapters.md, The server), read once at start beside the
 * broker's. A problem names the variable and the fix; every problem is reported at once.
 */
import { ipInRange } from "../../lib/cam/ip.ts";
import { collectProblems, configError, type Env, parseInteger, readVar } from "../../lib/shared/env.ts";

/** Who may say who the client is: no one but the socket (0 hops), a number of proxy hops, or the proxies' addresses. */
export type TrustProxy = { readonly hops: number } | { readonly ranges: readonly string[] };

export interface ServerSettings {
  readonly port: number;
  readonly host: string;
  readonly trustProxy: TrustProxy;
  /** A header a trusted front end sets to its request id (`x-scf-request-id` on an SCF web function). */
  readonly requestIdHeader?: string;
  readonly keepAliveTimeoutMs: number;
  /** How long a client may take to send its whole request (headers and body). */
  readonly requestTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
}

export const SERVER_VARIABLES: readonly string[] = [
  "PORT",
  "HOST",
  "TRUST_PROXY",
  "REQUEST_ID_HEADER",
  "KEEP_ALIVE_TIMEOUT_MS",
  "REQUEST_TIMEOUT_MS",
  "SHUTDOWN_TIMEOUT_MS",
];

/** SCF web functions listen on 0.0.0.0:9000 (cloud.tencent.com/document/product/583/56124); containers follow. */
const DEFAULT_PORT = 9000;
const DEFAULT_HOST = "0.0.0.0";
/** Node's own default; behind a load balancer, set it above the balancer's idle timeout. */
const DEFAULT_KEEP_ALIVE_MS = 5000;
/** A request is at most 16 KB of body and 32 KB of headers: a client that takes longer is stalling. */
const DEFAULT_REQUEST_MS = 10_000;
/** Kubernetes waits 30 s after SIGTERM by default; a request the broker answers takes seconds at most. */
const DEFAULT_SHUTDOWN_MS = 10_000;

export function loadServerSettings(env: Env): ServerSettings {
  const problems = collectProblems();
  const header = readVar(env, "REQUEST_ID_HEADER")?.trim().toLowerCase();
  return problems.settle({
    port: problems.take(() => parseInteger("PORT", readVar(env, "PORT"), DEFAULT_PORT, 0, 65535)),
    host: readVar(env, "HOST")?.trim() ?? DEFAULT_HOST,
    trustProxy: problems.take(() => parseTrustProxy(readVar(env, "TRUST_PROXY"))),
    requestIdHeader: problems.take(() => checkHeaderName(header)),
    keepAliveTimeoutMs: problems.take(() => parseInteger("KEEP_ALIVE_TIMEOUT_MS", readVar(env, "KEEP_ALIVE_TIMEOUT_MS"), DEFAULT_KEEP_ALIVE_MS, 1000, 600_000)),
    requestTimeoutMs: problems.take(() => parseInteger("REQUEST_TIMEOUT_MS", readVar(env, "REQUEST_TIMEOUT_MS"), DEFAULT_REQUEST_MS, 1000, 300_000)),
    shutdownTimeoutMs: problems.take(() => parseInteger("SHUTDOWN_TIMEOUT_MS", readVar(env, "SHUTDOWN_TIMEOUT_MS"), DEFAULT_SHUTDOWN_MS, 0, 600_000)),
  });
}

/** `2` (the hops in front to trust), or `10.0.0.0/8, 127.0.0.1` (the proxies' addresses); unset trusts the socket alone. */
function parseTrustProxy(value: string | undefined): TrustProxy {
  if (value === undefined) return { hops: 0 };
  if (/^\s*\d+\s*$/.test(value)) return { hops: parseInteger("TRUST_PROXY", value.trim(), 1, 0, 16) };
  const ranges = value
    .split(",")
    .map((range) => range.trim())
    .filter(Boolean);
  const bad = ranges.filter((range) => !isRange(range));
  if (bad.length > 0 || ranges.length === 0) {
    throw configError(
      "TRUST_PROXY",
      `has ${bad.length > 0 ? `no address or CIDR range in '${bad[0]!.slice(0, 64)}'` : "nothing in it"}`,
      "give the number of proxy hops in front (e.g. 1), or the proxies' addresses (e.g. 10.0.0.0/8, 127.0.0.1)",
    );
  }
  return { ranges };
}

/** A well-formed range holds its own base address; ipInRange is false for anything malformed. */
const isRange = (range: string) => ipInRange(range.split("/")[0] ?? "", range);

function checkHeaderName(name: string | undefined): string | undefined {
  if (name !== undefined && !/^[a-z0-9-]{1,64}$/.test(name)) {
    throw configError("REQUEST_ID_HEADER", "is not a header name", "e.g. x-scf-request-id, or leave it unset for a fresh id per request");
  }
  return name;
}
