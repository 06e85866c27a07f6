/**
 * The use case: a login token and what the client asks for -> fenced COS credentials,
 * or a BrokerError. Knows nothing of HTTP or SCF; dependencies come in as parameters.
 */
import { type GrantRequest, grantFor } from "../grant/compose.ts";
import { subjectHash } from "../grant/prefix.ts";
import type { VerifiedClaims } from "../identity/claims.ts";
import type { TokenVerifier } from "../identity/verify.ts";
import { type Clock, systemClock } from "../shared/clock.ts";
import type { Audit } from "../shared/log.ts";
import type { StsClient } from "../sts/client.ts";
import type { Config } from "./config.ts";
import type { RateCheck } from "./rate-limit.ts";

/** What the client asks for, with how long the invocation has left. */
export interface ClientAsk extends GrantRequest {
  /** Milliseconds the invocation has left, when the platform says. */
  readonly remainingMs?: number;
}

export interface IssueRequest {
  readonly token: string;
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
  readonly verifyToken: TokenVerifier;
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
  const { config, verifyToken, stsClient } = deps;
  const clock = deps.clock ?? systemClock;

  const broker: Broker = {
    async issue(request, audit) {
      const claims = await verifyToken(request.token);
      audit.subject = subjectHash(claims);
      deps.checkRate?.(audit.subject);
      return broker.issueFor(claims, request.ask(), audit);
    },

    async issueFor(claims, request, audit) {
      audit.subject ??= subjectHash(claims);
      const nowMs = clock.now();
      const grant = grantFor(config, claims, request, nowMs, audit);
      const issued = await stsClient.requestCredentials({
        encodedPolicy: grant.encodedPolicy,
        subjectHash: audit.subject,
        durationSeconds: grant.durationSeconds,
        budgetMs: stsBudget(request.remainingMs),
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

/** All STS attempts together must end (in a 504 if STS hangs) well before the platform kills the function. */
function stsBudget(remainingMs: number | undefined): number | undefined {
  return remainingMs === undefined || !Number.isFinite(remainingMs) ? undefined : remainingMs - RESPONSE_MARGIN_MS;
}
