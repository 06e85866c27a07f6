/**
 * The use case: who the caller is (a login token, or a wx.login code) and what they ask for ->
 * fenced COS credentials, or a BrokerError. Knows nothing of HTTP or SCF; dependencies come in
 * as parameters.
 */
import { type GrantRequest, grantFor } from "../grant/compose.ts";
import { subjectHash } from "../grant/prefix.ts";
import type { VerifiedClaims } from "../identity/claims.ts";
import type { TokenVerifier } from "../identity/verify.ts";
import type { WechatLogin } from "../identity/wechat.ts";
import { type Clock, systemClock } from "../shared/clock.ts";
import { BrokerError } from "../shared/errors.ts";
import type { Audit } from "../shared/log.ts";
import type { StsClient } from "../sts/client.ts";
import { type Config, grantSettingsFor } from "./config.ts";
import type { RateCheck } from "./rate-limit.ts";

/** What the client asks for, with how long the invocation has left. */
export interface ClientAsk extends GrantRequest {
  /** Milliseconds the invocation has left, when the platform says. */
  readonly remainingMs?: number;
}

/** How the caller says who they are (docs/contract.md, The request). */
export type Credential = { readonly scheme: "Bearer"; readonly token: string } | { readonly scheme: "WeChat"; readonly code: string };

export interface IssueRequest {
  readonly credential: Credential;
  /** Milliseconds the invocation had left when the request arrived, when the platform says. */
  readonly remainingMs?: number;
  /**
   * Reads what the client asks for (the body or the query): called only once the token is
   * verified and the rate limit passed, so nothing a stranger sends is parsed.
   */
  readonly ask: () => ClientAsk;
}

/** A superset of what qcloud-cos-sts returns (docs/contract.md, The response). */
export interface CredentialResponse {
  credentials: { tmpSecretId: string; tmpSecretKey: string; sessionToken: string };
  startTime: number;
  expiredTime: number;
  expiration: string;
  requestId: string;
  bucket: string;
  region: string;
  prefix: string;
  profile: string;
  allowActions: string[];
  /** When the grant is narrowed to one object (a `key` or a `filename`): its full object key. */
  key?: string;
}

export interface BrokerDeps {
  readonly config: Config;
  /** Absent when no login-token source is configured. */
  readonly verifyToken?: TokenVerifier;
  /** Absent when WeChat login is off. */
  readonly wechatLogin?: WechatLogin;
  readonly stsClient: StsClient;
  /** Per-subject rate limit (lib/broker/rate-limit.ts); throws TooManyRequests. */
  readonly checkRate?: RateCheck;
  readonly clock?: Clock;
}

export interface Broker {
  issue(request: IssueRequest, audit: Audit): Promise<CredentialResponse>;
  /** The same use case for claims already verified: the credential check's canary holds no login token. */
  issueFor(claims: VerifiedClaims, request: ClientAsk, audit: Audit): Promise<CredentialResponse>;
}

/** Leave the function this long to answer after an STS deadline. */
const RESPONSE_MARGIN_MS = 500;

export function createBroker(deps: BrokerDeps): Broker {
  const { config, stsClient } = deps;
  const clock = deps.clock ?? systemClock;

  /** The caller's verified identity, from whichever source their credential names. */
  const identify = (credential: Credential, remainingMs: number | undefined): Promise<VerifiedClaims> => {
    if (credential.scheme === "Bearer" && deps.verifyToken) return deps.verifyToken(credential.token);
    // WeChat's retries leave STS one attempt's time (docs/mini-programs.md, When WeChat says no).
    if (credential.scheme === "WeChat" && deps.wechatLogin) return deps.wechatLogin(credential.code, budget(remainingMs, config.sts.timeoutMs));
    throw new BrokerError("InvalidToken", "this broker does not take that kind of login");
  };

  const broker: Broker = {
    async issue(request, audit) {
      const started = clock.monotonic();
      const claims = await identify(request.credential, request.remainingMs);
      audit.subject = subjectHash(claims);
      deps.checkRate?.(audit.subject);
      const ask = request.ask();
      // What identifying the caller took (a WeChat exchange, a key fetch) is gone from STS's time.
      const left = request.remainingMs === undefined ? ask.remainingMs : request.remainingMs - (clock.monotonic() - started);
      return broker.issueFor(claims, { ...ask, remainingMs: left }, audit);
    },

    async issueFor(claims, request, audit) {
      audit.subject ??= subjectHash(claims);
      const nowMs = clock.now();
      // Each identity source fills in its own template (docs/contract.md, How users are kept apart).
      const grant = grantFor(grantSettingsFor(config, claims), claims, request, nowMs, audit);
      const issued = await stsClient.requestCredentials({
        encodedPolicy: grant.encodedPolicy,
        subjectHash: audit.subject,
        durationSeconds: grant.durationSeconds,
        budgetMs: budget(request.remainingMs),
      });
      audit.stsRequestId = issued.requestId;
      audit.cached = issued.cached === true;
      return {
        credentials: { tmpSecretId: issued.tmpSecretId, tmpSecretKey: issued.tmpSecretKey, sessionToken: issued.sessionToken },
        startTime: Math.floor(nowMs / 1000),
        expiredTime: issued.expiredTime,
        expiration: issued.expiration,
        requestId: issued.requestId,
        bucket: config.bucket,
        region: config.region,
        prefix: grant.prefix,
        profile: grant.profile.name,
        allowActions: [...grant.allowActions],
        ...(grant.key ? { key: grant.key } : {}),
      };
    },
  };
  return broker;
}

/**
 * All attempts of an upstream call together must end (in a 504 if it hangs) well before the
 * platform kills the function, leaving `reserveMs` for what still follows.
 */
function budget(remainingMs: number | undefined, reserveMs = 0): number | undefined {
  return remainingMs === undefined || !Number.isFinite(remainingMs) ? undefined : remainingMs - RESPONSE_MARGIN_MS - reserveMs;
}
