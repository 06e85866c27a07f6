/**
 * The STS call, with Tencent's own SDK (tencentcloud-sdk-nodejs-sts, API 2018-08-13).
 * One client per instance; a hard deadline per call; every failure becomes a BrokerError
 * whose message names at most the STS error code, never a key or a token.
 */
import { Client } from "tencentcloud-sdk-nodejs-sts/tencentcloud/services/sts/v20180813/sts_client.js";
import type { Env, StsConfig } from "./config.ts";
import { BrokerError } from "./errors.ts";

export interface CredentialRequest {
  /** URL-encoded policy, as `encodePolicy` returns it. */
  readonly policy: string;
  /** Hash of the subject; becomes the session name so audit logs tell users apart. */
  readonly subjectHash: string;
  readonly durationSeconds: number;
  /** Milliseconds this call may take at most. */
  readonly timeoutMs: number;
}

export interface IssuedCredentials {
  readonly tmpSecretId: string;
  readonly tmpSecretKey: string;
  readonly sessionToken: string;
  /** Unix seconds, from STS. */
  readonly expiredTime: number;
  readonly expiration: string;
  readonly requestId: string;
}

export interface CredentialIssuer {
  requestCredentials(request: CredentialRequest): Promise<IssuedCredentials>;
}

interface StsResponse {
  Credentials?: { Token?: string; TmpSecretId?: string; TmpSecretKey?: string };
  ExpiredTime?: number;
  Expiration?: string | null;
  RequestId?: string;
}

/** Fields of the SDK's TencentCloudSDKHttpException that the mapping reads. */
interface SdkError {
  code?: string;
  requestId?: string;
  httpCode?: number;
  message?: string;
}

/**
 * `env` is read at each call for the execution role's key: SCF injects and rotates it as
 * TENCENTCLOUD_SECRETID/SECRETKEY/SESSIONTOKEN, names the SDK's own env reader does not use.
 */
export function createStsIssuer(config: StsConfig, env: Env = process.env): CredentialIssuer {
  const source = config.credentials;
  const client = new Client({
    credential: {
      getCredential: async () =>
        source.kind === "explicit"
          ? { secretId: source.secretId, secretKey: source.secretKey }
          : { secretId: env.TENCENTCLOUD_SECRETID, secretKey: env.TENCENTCLOUD_SECRETKEY, token: env.TENCENTCLOUD_SESSIONTOKEN || undefined },
    },
    region: config.region,
    profile: {
      httpProfile: {
        endpoint: config.endpoint.host,
        protocol: config.endpoint.protocol,
        // Seconds; a backstop only, the AbortSignal below is the real deadline.
        reqTimeout: Math.ceil(config.timeoutMs / 1000) + 1,
      },
    },
  });

  return {
    async requestCredentials(request) {
      const signal = AbortSignal.timeout(Math.max(1, request.timeoutMs));
      let response: StsResponse;
      try {
        response = (await client.request(config.mode, stsParams(config, request), { signal })) as StsResponse;
      } catch (error) {
        throw stsError(error as SdkError, signal.aborted, request.timeoutMs);
      }
      return credentialsFrom(response);
    },
  };
}

function stsParams(config: StsConfig, request: CredentialRequest): Record<string, unknown> {
  const common = { Policy: request.policy, DurationSeconds: request.durationSeconds };
  if (config.mode === "AssumeRole") {
    return { RoleArn: config.roleArn, RoleSessionName: sessionName(request.subjectHash), ...common };
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
    // Expiration may be null (PRODUCT.md, STS response); derive it from ExpiredTime then.
    expiration: response.Expiration || new Date(expiredTime * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
    requestId,
  };
}

const THROTTLED = new Set(["RequestLimitExceeded", "InvalidParameter.OverLimit", "LimitExceeded"]);
/** Codes that mean the broker's own key, role or settings are wrong: an operator must act. */
const MISCONFIGURED = /^(AuthFailure\.(?!SignatureExpire)|ResourceNotFound\.|UnauthorizedOperation|InvalidParameter\.(GrantOtherResource|OverTimeError|PolicyTooLong|AccessKeyNotSupport))/;

export function stsError(error: SdkError, timedOut: boolean, timeoutMs: number): BrokerError {
  // The SDK's own messages for network failures name only the endpoint URL.
  const network = !error.code && !error.httpCode && error.message ? `network=${error.message.slice(0, 160)}` : undefined;
  const detail = [error.code && `code=${error.code}`, error.requestId && `requestId=${error.requestId}`, error.httpCode && `http=${error.httpCode}`, network]
    .filter(Boolean)
    .join(" ");
  const options = { detail: detail || undefined };
  const code = error.code;
  if (timedOut || (!code && /timeout/i.test(error.message ?? ""))) {
    return new BrokerError("UpstreamTimeout", `STS did not answer within ${timeoutMs} ms`, options);
  }
  if (code && (THROTTLED.has(code) || code.startsWith("RequestLimitExceeded"))) {
    return new BrokerError("UpstreamThrottled", "STS is throttling requests; retry shortly", { ...options, retryAfter: 1 });
  }
  if (code && MISCONFIGURED.test(code)) {
    return new BrokerError("ConfigError", `STS refused the broker's configuration (${code}); see the function's log`, options);
  }
  return new BrokerError("UpstreamError", code ? `STS failed (${code})` : "STS could not be reached", options);
}
