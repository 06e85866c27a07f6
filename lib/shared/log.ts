/**
 * One structured JSON line per request. The entry type holds only values the broker
 * computes itself (hashes, codes, ids, timings), so a secret, a JWT or a session token
 * has no field to travel in.
 */
import { type Clock, type MonotonicMs, systemClock } from "./clock.ts";

export type Outcome = "issued" | "refused" | "failed" | "preflight";

interface RequestLogEntry {
  readonly requestId: string;
  readonly outcome: Outcome;
  readonly status: number;
  readonly method: string;
  readonly latencyMs: number;
  readonly code?: string;
  /** Our own error message (never upstream text, never input echoed back). */
  readonly message?: string;
  /** Upstream error code / request id, for operators. */
  readonly detail?: string;
  readonly subject?: string;
  readonly profile?: string;
  readonly prefix?: string;
  readonly key?: string;
  readonly stsRequestId?: string;
  readonly cached?: boolean;
  readonly sourceIp?: string;
}

/** Filled in as the request progresses, so even a refusal is logged with what was known. */
export interface Audit {
  subject?: string;
  profile?: string;
  prefix?: string;
  key?: string;
  stsRequestId?: string;
  /** Whether the credentials came from this instance's cache. */
  cached?: boolean;
}

/** One line per credential-check run; `detail` is text the check writes itself, never a key or a token. */
interface CheckLogEntry {
  readonly outcome: "passed" | "failed";
  readonly durationMs: number;
  readonly requestId?: string;
  readonly trigger?: string;
  readonly results: readonly { readonly name: string; readonly status: string; readonly durationMs: number; readonly detail: string }[];
}

/**
 * Milliseconds since `started`, to two decimals: the `latencyMs` of a line. What a request
 * really took, only reported, never decided on: the system clock, whatever clock the code runs on.
 */
export function millisSince(started: MonotonicMs): number {
  return Math.round((systemClock.monotonic() - started) * 100) / 100;
}

/** Fields a client chooses (any method; a Function URL's address header) are cut to these lengths. */
const MAX_METHOD_CHARS = 16;
/** The longest IPv6 address with a zone fits. */
const MAX_SOURCE_IP_CHARS = 64;

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export type LogSink = (line: string) => void;

export interface Logger {
  request(entry: RequestLogEntry): void;
  check(entry: CheckLogEntry): void;
  /** A line that is not about one request: cold-start findings (`error` when the instance cannot issue), dev servers' calls. */
  event(name: string, fields?: Readonly<Record<string, string | number | boolean | undefined>>, level?: "info" | "error"): void;
}

const stdoutSink: LogSink = (line) => {
  process.stdout.write(`${line}\n`);
};

export function createLogger(sink: LogSink = stdoutSink, clock: Clock = systemClock): Logger {
  const time = () => new Date(clock.now()).toISOString();
  const write = (fields: object) => sink(JSON.stringify({ time: time(), ...fields }));
  return {
    // Field by field, in one shape: nothing but these reaches the line; the audit fields are null
    // when the request ended before they were known (an absent code, message or detail is left out).
    request: (entry) =>
      sink(
        JSON.stringify({
          time: time(),
          level: entry.status >= 500 ? "error" : "info",
          event: "request",
          requestId: entry.requestId,
          outcome: entry.outcome,
          status: entry.status,
          method: clip(entry.method, MAX_METHOD_CHARS),
          latencyMs: entry.latencyMs,
          code: entry.code,
          message: entry.message,
          detail: entry.detail,
          subject: entry.subject ?? null,
          profile: entry.profile ?? null,
          prefix: entry.prefix ?? null,
          key: entry.key ?? null,
          stsRequestId: entry.stsRequestId ?? null,
          cached: entry.cached ?? null,
          sourceIp: entry.sourceIp === undefined ? null : clip(entry.sourceIp, MAX_SOURCE_IP_CHARS),
        }),
      ),
    check: (entry) => write({ level: entry.outcome === "failed" ? "error" : "info", event: "credential_check", ...entry }),
    event: (name, fields = {}, level = "info") => write({ level, event: name, ...fields }),
  };
}
