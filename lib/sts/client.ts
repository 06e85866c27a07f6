/**
 * The STS call (API 2018-08-13): requests signed here as Tencent's SDK signs them
 * (lib/sts/tc3.ts), sent by the transport the adapter hands in. One client per instance; a
 * hard deadline per attempt and one for all attempts; transient failures are retried with
 * jittered backoff; every failure becomes a BrokerError whose message names at most the STS
 * error code, never a key or a token.
 */
import { type Clock, systemClock } from "../shared/clock.ts";
import type { Env } from "../shared/env.ts";
import { BrokerError } from "../shared/errors.ts";
import { type Attempt, retryWithin } from "../shared/retry.ts";
import { durationLimits, type StsConfig } from "./settings.ts";
import { type HttpAnswer, type SignedRequest, type StsTransport, signStsCall, TransportTimeout } from "./tc3.ts";

export interface CredentialRequest {
  /** The session policy as `encodePolicy` returns it (URL-encoded JSON), what STS's Policy parameter takes. */
  readonly encodedPolicy: string;
  /** Hash of the subject; becomes the session name so audit logs tell users apart. */
  readonly subjectHash: string;
  readonly durationSeconds: number;
  /**
   * Milliseconds the whole call may take, retries included (the invocation's remaining
   * time); each attempt's own limit is StsConfig.timeoutMs (STS_TIMEOUT_MS). Without it,
   * there are STS_MAX_ATTEMPTS attempts of that length.
   */
  readonly budgetMs?: number;
}

export interface IssuedCredentials {
  readonly tmpSecretId: string;
  readonly tmpSecretKey: string;
  readonly sessionToken: string;
  /** Unix seconds, from STS. */
  readonly expiredTime: number;
  readonly expiration: string;
  readonly requestId: string;
  /** True when lib/sts/reuse.ts handed out a credential it had issued before. */
  readonly cached?: boolean;
}

/** Where the broker gets temporary credentials: the client here, the reuse around it (lib/sts/reuse.ts), or a test's fake. */
export interface StsClient {
  requestCredentials(request: CredentialRequest): Promise<IssuedCredentials>;
}

interface StsResponse {
  Credentials?: { Token?: string; TmpSecretId?: string; TmpSecretKey?: string };
  ExpiredTime?: number;
  Expiration?: string | null;
  RequestId?: string;
}

/** What the client needs from its surroundings; tests hand in their own. */
export interface StsDeps {
  /** Sends a signed request: lib/sts/node-transport.ts on SCF. */
  readonly transport: StsTransport;
  /** Uniform in [0, 1): the jitter. */
  readonly random?: () => number;
  /** Times the total deadline and the waits between attempts. */
  readonly clock?: Clock;
}

/**
 * A failed call, described as tencentcloud-sdk-nodejs-common's TencentCloudSDKHttpException
 * describes it (common/abstract_client.js parseResponse): an error answer's `code` and
 * `requestId`, a non-200 status as `httpCode` with the status text as `message`, or only a
 * `message` when no usable answer came (a network failure, a body that is not JSON).
 */
export interface StsFailure {
  code?: string;
  requestId?: string;
  httpCode?: number;
  message?: string;
}

/**
 * `env` is read at each call for the execution role's key: SCF injects and rotates it as
 * TENCENTCLOUD_SECRETID/SECRETKEY/SESSIONTOKEN (the STS SDK's own env reader used other names).
 */
export function createStsClient(config: StsConfig, env: Env, deps: StsDeps): StsClient {
  const { transport, random = Math.random, clock = systemClock } = deps;
  const source = config.credentials;

  const sign = (request: CredentialRequest): SignedRequest => {
    const key =
      source.kind === "explicit"
        ? { secretId: source.secretId, secretKey: source.secretKey }
        : { secretId: env.TENCENTCLOUD_SECRETID ?? "", secretKey: env.TENCENTCLOUD_SECRETKEY ?? "", token: env.TENCENTCLOUD_SESSIONTOKEN || undefined };
    const timestamp = Math.floor(clock.now() / 1000);
    return signStsCall({ endpoint: config.endpoint, action: config.mode, region: config.region, params: stsParams(config, request), timestamp, ...key });
  };

  const attempt = async (request: CredentialRequest, limitMs: number): Promise<Attempt<IssuedCredentials>> => {
    const timeoutMs = Math.max(1, Math.round(limitMs));
    let timedOut = false;
    try {
      const signed = sign(request);
      const answer = await transport(signed, timeoutMs).catch((error: Error): never => {
        timedOut = error instanceof TransportTimeout;
        throw failure({ message: error.message });
      });
      return { value: credentialsFrom(responseOf(answer, signed.url)) };
    } catch (caught) {
      // An answer without credentials is a malformed one: worth another try.
      if (caught instanceof BrokerError) return { error: caught, transient: true };
      const error = caught as StsFailure;
      const lifetime = { mode: config.mode, seconds: request.durationSeconds };
      return { error: stsError(error, timedOut, timeoutMs, lifetime), transient: isTransient(error, timedOut) };
    }
  };

  return {
    requestCredentials: (request) =>
      retryWithin(
        {
          maxAttempts: config.maxAttempts,
          attemptMs: config.timeoutMs,
          budgetMs: request.budgetMs,
          clock,
          random,
          tooLate: () => new BrokerError("UpstreamTimeout", "not enough time left in this invocation to call STS"),
        },
        (limitMs) => attempt(request, limitMs),
      ),
  };
}

/** The answer's `Response`, or the failure it describes (see StsFailure). */
function responseOf(answer: HttpAnswer, url: string): StsResponse {
  if (answer.status !== 200) throw failure({ message: answer.statusText, httpCode: answer.status });
  let data: { Response?: StsResponse & { Error?: { Code?: string; Message?: string } } };
  try {
    data = JSON.parse(answer.body);
  } catch (error) {
    throw failure({ message: `invalid json response body at ${url} reason: ${(error as Error).message}` });
  }
  const response = data?.Response;
  if (typeof response !== "object" || response === null) throw failure({ message: `no Response in the answer from ${url}` });
  if (response.Error) throw failure({ code: response.Error.Code, message: response.Error.Message, requestId: response.RequestId });
  return response;
}

const failure = (fields: StsFailure): Error & StsFailure => Object.assign(new Error(fields.message), fields);

/**
 * Worth another try: timeouts, network failures, 5xx and 429 answers, malformed bodies,
 * throttling and InternalError.*. Never an error that names the request or the broker's
 * own key or role (AuthFailure.*, ResourceNotFound.*, InvalidParameter.*): those repeat.
 */
export function isTransient(error: StsFailure, timedOut: boolean): boolean {
  if (timedOut) return true;
  if (error.code) return isThrottled(error) || /^InternalError(\.|$)/.test(error.code);
  return error.httpCode === undefined || error.httpCode >= 500 || error.httpCode === 429;
}

function stsParams(config: StsConfig, request: CredentialRequest): Record<string, string | number> {
  const common = { Policy: request.encodedPolicy, DurationSeconds: request.durationSeconds };
  if (config.mode === "AssumeRole") {
    return { RoleArn: config.roleArn ?? "", RoleSessionName: sessionName(request.subjectHash), ...common };
  }
  return { Name: federationName(request.subjectHash), ...common };
}

/** RoleSessionName: 2-128 chars of [\w+=,.@-]; base64url fits that charset. */
export function sessionName(subjectHash: string): string {
  return `cos-${subjectHash.slice(0, 32)}`;
}

/** GetFederationToken's Name is documented as letters only: spell hash nibbles as a-p. */
export function federationName(subjectHash: string): string {
  const hex = Buffer.from(subjectHash, "base64url").subarray(0, 10).toString("hex");
  return `cos${[...hex].map((digit) => String.fromCharCode(97 + parseInt(digit, 16))).join("")}`;
}

function credentialsFrom(response: StsResponse): IssuedCredentials {
  const { Credentials: credentials, ExpiredTime: expiredTime, RequestId: requestId = "" } = response;
  if (!credentials?.TmpSecretId || !credentials.TmpSecretKey || !credentials.Token || typeof expiredTime !== "number") {
    throw new BrokerError("UpstreamError", "STS returned an incomplete answer", { detail: `requestId=${requestId}` });
  }
  return {
    tmpSecretId: credentials.TmpSecretId,
    tmpSecretKey: credentials.TmpSecretKey,
    sessionToken: credentials.Token,
    expiredTime,
    // Expiration "may return null" (tencentcloud-sdk-nodejs-sts, sts_models.d.ts); derive it from ExpiredTime then.
    expiration: response.Expiration || new Date(expiredTime * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
    requestId,
  };
}

const THROTTLED = new Set(["RequestLimitExceeded", "InvalidParameter.OverLimit", "LimitExceeded"]);
const isThrottled = ({ code, httpCode }: StsFailure) => (code ? THROTTLED.has(code) || code.startsWith("RequestLimitExceeded") : httpCode === 429);
/** Codes that mean the broker's own key, role or settings are wrong: an operator must act. */
const MISCONFIGURED =
  /^(AuthFailure\.(?!SignatureExpire)|ResourceNotFound\.|UnauthorizedOperation|InvalidParameter\.(GrantOtherResource|OverTimeError|PolicyTooLong|AccessKeyNotSupport))/;

/** The lifetime asked for, to explain STS's refusal of it. */
interface Lifetime {
  readonly mode: StsConfig["mode"];
  readonly seconds: number;
}

export function stsError(error: StsFailure, timedOut: boolean, timeoutMs: number, lifetime?: Lifetime): BrokerError {
  // Messages for network failures name only the endpoint URL.
  const network = !error.code && !error.httpCode && error.message ? `network=${error.message.slice(0, 160)}` : undefined;
  const detail = [error.code && `code=${error.code}`, error.requestId && `requestId=${error.requestId}`, error.httpCode && `http=${error.httpCode}`, network]
    .filter(Boolean)
    .join(" ");
  const options = { detail: detail || undefined };
  const code = error.code;
  if (timedOut || (!code && /timeout/i.test(error.message ?? ""))) {
    return new BrokerError("UpstreamTimeout", `STS did not answer within ${timeoutMs} ms`, options);
  }
  if (isThrottled(error)) {
    return new BrokerError("UpstreamThrottled", "STS is throttling requests; retry shortly", { ...options, retryAfter: 1 });
  }
  if (code === "InvalidParameter.OverTimeError" && lifetime) {
    // With GetFederationToken, usually the root account's key asked for more than its 7200 s.
    const message = `STS refused credentials for ${lifetime.seconds} s (${code}): ${durationLimits(lifetime.mode)}; lower STS_DURATION_SECONDS or the profile's durationSeconds`;
    return new BrokerError("ConfigError", lifetime.mode === "GetFederationToken" ? `${message}, or use a sub-account's key` : message, options);
  }
  if (code && MISCONFIGURED.test(code)) {
    return new BrokerError("ConfigError", `STS refused the broker's configuration (${code}); see the function's log`, options);
  }
  return new BrokerError("UpstreamError", code ? `STS failed (${code})` : "STS could not be reached", options);
}
