/**
 * The one error type of the broker. Every refusal and failure carries a stable `code`;
 * `lib/broker/http.ts` owns the only table that turns a code into an HTTP status.
 */
export type ErrorCode =
  | "BadRequest"
  | "InvalidToken"
  | "ScopeNotAllowed"
  | "IdentityNotAllowed"
  | "MethodNotAllowed"
  | "PayloadTooLarge"
  | "TooManyRequests"
  | "UpstreamError"
  | "UpstreamThrottled"
  | "UpstreamTimeout"
  | "ConfigError"
  | "InternalError";

export interface BrokerErrorOptions {
  /** Seconds a client should wait before retrying (429, 503). */
  retryAfter?: number;
  /** Upstream error code or request id worth logging; never shown to the client. */
  detail?: string;
  cause?: unknown;
}

export class BrokerError extends Error {
  readonly code: ErrorCode;
  readonly retryAfter: number | undefined;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, message: string, options: BrokerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "BrokerError";
    this.code = code;
    this.retryAfter = options.retryAfter;
    this.detail = options.detail;
  }
}

export function isBrokerError(value: unknown): value is BrokerError {
  return value instanceof BrokerError;
}
