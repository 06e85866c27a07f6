/**
 * Plain HTTP request/response types, CORS, body parsing, and the one table that turns an
 * error code into an HTTP status. Adapters (SCF events, the local server) only translate
 * into and out of these types.
 */

import type { GrantRequest } from "../grant/compose.ts";
import { type MonotonicMs, systemClock } from "../shared/clock.ts";
import { BrokerError, type ErrorCode } from "../shared/errors.ts";
import type { Audit } from "../shared/log.ts";
import { type Logger, millisSince, type Outcome } from "../shared/log.ts";
import { checkFields } from "./fields.ts";
import type { Broker, Credential } from "./issue.ts";

export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  readonly requestId: string;
  readonly sourceIp?: string;
  readonly remainingMs?: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export type HttpHandler = (request: HttpRequest) => Promise<HttpResponse>;

/** The only place an error code becomes a status (docs/contract.md, Errors). */
export const STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  BadRequest: 400,
  InvalidToken: 401,
  ScopeNotAllowed: 403,
  IdentityNotAllowed: 403,
  MethodNotAllowed: 405,
  PayloadTooLarge: 413,
  TooManyRequests: 429,
  InternalError: 500,
  ConfigError: 500,
  UpstreamError: 502,
  UpstreamThrottled: 503,
  UpstreamTimeout: 504,
};

/** The request body is a profile name, a key or a scope list: 16 KB is plenty. */
export const MAX_BODY_BYTES = 16 * 1024;
const ALLOWED_METHODS = "GET, POST, OPTIONS";
const BASE_HEADERS = {
  "Content-Type": "application/json",
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
};

export interface HttpDeps {
  /** Only the token path: claims that skip verification (`issueFor`) never come from HTTP. */
  readonly broker: Pick<Broker, "issue">;
  readonly corsOrigins: readonly string[];
  readonly logger: Logger;
  /** How callers may sign in: login tokens, WeChat login, or both; default login tokens. */
  readonly schemes?: readonly Credential["scheme"][];
}

export function createHttpHandler(deps: HttpDeps): HttpHandler {
  const { broker, corsOrigins, logger, schemes = ["Bearer"] } = deps;

  return async (request) => {
    const started = systemClock.monotonic();
    const cors = corsHeaders(request.headers.origin, corsOrigins);
    const audit: Audit = {};
    const finish = (response: HttpResponse, outcome: Outcome, error?: BrokerError): HttpResponse => {
      logger.request({
        requestId: request.requestId,
        outcome,
        status: response.status,
        method: request.method,
        latencyMs: millisSince(started),
        code: error?.code,
        message: error?.message,
        detail: error?.detail,
        ...audit,
        sourceIp: request.sourceIp,
      });
      return response;
    };

    const method = request.method.toUpperCase();
    if (method === "OPTIONS") {
      const preflight: Record<string, string> = cors ? { ...cors, ...PREFLIGHT_HEADERS } : { Vary: "Origin" };
      return finish({ status: 204, headers: { ...preflight, "Cache-Control": "no-store" }, body: "" }, "preflight");
    }
    try {
      if (method !== "GET" && method !== "POST") {
        throw new BrokerError("MethodNotAllowed", `use POST or GET, not ${method.slice(0, 16)}`);
      }
      const credential = credentialOf(request.headers.authorization, schemes);
      const params = method === "GET" ? queryReader(request.query) : bodyReader(request.body);
      const ask = () => ({ ...params(), sourceIp: request.sourceIp, remainingMs: request.remainingMs });
      const credentials = await broker.issue({ credential, ask, remainingMs: request.remainingMs }, audit);
      return finish(jsonResponse(200, credentials, cors), "issued");
    } catch (caught) {
      const error = caught instanceof BrokerError ? caught : unexpected(caught);
      const response = errorResponse(error, request.requestId, cors, { authorization: request.headers.authorization, schemes });
      return finish(response, refusalOutcome(response.status), error);
    }
  };
}

const PREFLIGHT_HEADERS = {
  "Access-Control-Allow-Methods": ALLOWED_METHODS,
  "Access-Control-Allow-Headers": "Authorization, Content-Type",
  "Access-Control-Max-Age": "600",
};

function corsHeaders(origin: string | undefined, allowed: readonly string[]): Record<string, string> | undefined {
  if (!origin || !allowed.includes(origin)) return undefined;
  return { "Access-Control-Allow-Origin": origin, Vary: "Origin", "Access-Control-Expose-Headers": "Retry-After" };
}

/**
 * `Authorization: Bearer <jwt>` or `Authorization: WeChat <code>`, schemes case-insensitive and
 * only those the broker takes. A token in the query string is never read.
 */
function credentialOf(header: string | undefined, schemes: readonly Credential["scheme"][]): Credential {
  const [, scheme = "", value = ""] = /^(Bearer|WeChat) +([^\s]+) *$/i.exec(header ?? "") ?? [];
  const credential: Credential | undefined = /^bearer$/i.test(scheme)
    ? { scheme: "Bearer", token: value }
    : /^wechat$/i.test(scheme)
      ? { scheme: "WeChat", code: value }
      : undefined;
  if (!credential || !schemes.includes(credential.scheme)) throw new BrokerError("InvalidToken", howToSignIn(schemes));
  return credential;
}

function howToSignIn(schemes: readonly Credential["scheme"][]): string {
  const bearer = "send the login token as 'Authorization: Bearer <jwt>'";
  const code = "the code wx.login gave as 'Authorization: WeChat <code>'";
  if (!schemes.includes("WeChat")) return bearer;
  return schemes.includes("Bearer") ? `${bearer}, or ${code}` : `send ${code}; this broker takes no login tokens`;
}

type Params = Pick<GrantRequest, "profile" | "key" | "scope" | "filename">;

/**
 * The body or the query, measured now (a cheap length check) and parsed only when the broker
 * asks, after the caller is identified (docs/contract.md, The request).
 */
function queryReader(query: Readonly<Record<string, string>>): () => Params {
  const bytes = Object.entries(query).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value) + 2, 0);
  if (bytes > MAX_BODY_BYTES) throw new BrokerError("PayloadTooLarge", `the query string must be at most ${MAX_BODY_BYTES} bytes`);
  return () => {
    checkFields(Object.keys(query), "the query string");
    const scope = query.scope === undefined ? undefined : parseJson(query.scope, "scope");
    return { profile: query.profile, key: query.key, scope, filename: query.filename };
  };
}

/** A JSON object, or a bare array: the scope list as Tencent's ScopeLimit demo posts it. */
function bodyReader(body: string | undefined): () => Params {
  if (body !== undefined && Buffer.byteLength(body) > MAX_BODY_BYTES) {
    throw new BrokerError("PayloadTooLarge", `the request body must be at most ${MAX_BODY_BYTES} bytes`);
  }
  return () => bodyParams(body);
}

function bodyParams(body: string | undefined): Params {
  if (body === undefined || body.trim() === "") return {};
  const parsed = parseJson(body, "the request body");
  if (Array.isArray(parsed)) return { scope: parsed };
  if (typeof parsed !== "object" || parsed === null) {
    throw new BrokerError("BadRequest", "the request body must be a JSON object");
  }
  checkFields(Object.keys(parsed), "the request body");
  const { profile, key, scope, filename } = parsed as Record<string, unknown>;
  return { profile, key, scope, filename };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BrokerError("BadRequest", `${what} is not valid JSON`);
  }
}

/**
 * RFC 6750 section 3.1: a request with no credential at all (no header, another scheme,
 * nothing after the scheme) gets the bare challenge of each scheme the broker takes, with no
 * error code; a token or a WeChat code that was presented and failed gets its own scheme's
 * `error="invalid_token"` (docs/mini-programs.md).
 */
function challenge(authorization: string | undefined, schemes: readonly Credential["scheme"][]): string {
  const presented = schemes.find((scheme) => new RegExp(`^${scheme}\\s+\\S`, "i").test(authorization ?? ""));
  return presented ? `${presented} error="invalid_token"` : schemes.join(", ");
}

const refusalOutcome = (status: number): Outcome => (status >= 500 ? "failed" : "refused");

/**
 * A refusal made before any handler runs (an event that is not an HTTP request, a
 * misconfigured instance): its answer, and its one log line.
 */
export function refuse(
  error: BrokerError,
  request: { requestId: string; method: string; sourceIp?: string },
  logger: Logger,
  started: MonotonicMs,
): HttpResponse {
  const response = errorResponse(error, request.requestId);
  logger.request({
    requestId: request.requestId,
    outcome: refusalOutcome(response.status),
    status: response.status,
    method: request.method,
    latencyMs: millisSince(started),
    code: error.code,
    message: error.message,
    sourceIp: request.sourceIp,
  });
  return response;
}

function unexpected(error: unknown): BrokerError {
  const name = error instanceof Error ? error.name : typeof error;
  return new BrokerError("InternalError", "the broker failed unexpectedly; see the function's log", { detail: name, cause: error });
}

function jsonResponse(status: number, body: unknown, extraHeaders: Readonly<Record<string, string>> = {}): HttpResponse {
  return { status, headers: { ...BASE_HEADERS, ...extraHeaders }, body: JSON.stringify(body) };
}

function errorResponse(
  error: BrokerError,
  requestId: string,
  cors?: Readonly<Record<string, string>>,
  asked: { authorization?: string; schemes: readonly Credential["scheme"][] } = { schemes: ["Bearer"] },
): HttpResponse {
  const headers: Record<string, string> = { ...cors };
  if (error.code === "InvalidToken") headers["WWW-Authenticate"] = challenge(asked.authorization, asked.schemes);
  if (error.code === "MethodNotAllowed") headers.Allow = ALLOWED_METHODS;
  if (error.retryAfter !== undefined) headers["Retry-After"] = String(Math.max(1, Math.ceil(error.retryAfter)));
  const body = { error: { code: error.code, message: error.message }, requestId };
  return jsonResponse(STATUS_OF[error.code], body, headers);
}
