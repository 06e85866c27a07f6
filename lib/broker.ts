/**
 * The use case: a login token and what the client asks for -> fenced COS credentials,
 * or a BrokerError. Knows nothing of HTTP or SCF; dependencies come in as parameters.
 */
import type { TokenVerifier } from "./auth.ts";
import type { Config } from "./config.ts";
import { buildPolicy, encodePolicy } from "./policy.ts";
import { prefixFor, subjectHash } from "./prefix.ts";
import { builtInProfiles, profileNamed, type Profile } from "./profiles.ts";
import type { RateCheck } from "./limit.ts";
import type { CredentialIssuer } from "./sts.ts";

export interface IssueRequest {
  readonly token: string;
  readonly profile?: unknown;
  readonly key?: unknown;
  readonly scope?: unknown;
  /** Milliseconds the invocation has left, when the platform says. */
  readonly remainingMs?: number;
}

/** PRODUCT.md "Response 200": a superset of what qcloud-cos-sts returns. */
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

export interface BrokerDeps {
  readonly config: Config;
  readonly verifyToken: TokenVerifier;
  readonly issuer: CredentialIssuer;
  readonly profiles?: ReadonlyMap<string, Profile>;
  /** Per-subject rate limit (lib/limit.ts); throws TooManyRequests. */
  readonly checkRate?: RateCheck;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

export interface Broker {
  issue(request: IssueRequest, audit: Audit): Promise<CredentialResponse>;
}

/** Leave the function this long to answer after an STS deadline. */
const RESPONSE_MARGIN_MS = 500;

export function createBroker(deps: BrokerDeps): Broker {
  const { config, verifyToken, issuer } = deps;
  const profiles = deps.profiles ?? builtInProfiles;
  const now = deps.now ?? Date.now;

  return {
    async issue(request, audit) {
      const claims = await verifyToken(request.token);
      audit.subject = subjectHash(claims);
      deps.checkRate?.(audit.subject);
      const profile = profileNamed(profiles, request.profile);
      audit.profile = profile.name;
      const prefix = prefixFor(config.prefixTemplate, claims);
      audit.prefix = prefix;
      const built = buildPolicy({ bucket: config, prefix, profile, narrowing: { key: request.key, scope: request.scope } });
      audit.key = built.key;

      const startTime = Math.floor(now() / 1000);
      const issued = await issuer.requestCredentials({
        policy: encodePolicy(built.policy),
        subjectHash: audit.subject,
        durationSeconds: config.durationSeconds,
        timeoutMs: stsDeadline(request.remainingMs),
      });
      audit.stsRequestId = issued.requestId;
      audit.cached = issued.cached === true;
      return {
        credentials: { tmpSecretId: issued.tmpSecretId, tmpSecretKey: issued.tmpSecretKey, sessionToken: issued.sessionToken },
        startTime,
        expiredTime: issued.expiredTime,
        expiration: issued.expiration,
        requestId: issued.requestId,
        bucket: config.bucket,
        region: config.region,
        prefix,
        profile: profile.name,
        allowActions: [...built.allowActions],
      };
    },
  };
}

/** All STS attempts together must end (in a 504 if STS hangs) well before the platform kills the function. */
function stsDeadline(remainingMs: number | undefined): number | undefined {
  return remainingMs === undefined || !Number.isFinite(remainingMs) ? undefined : remainingMs - RESPONSE_MARGIN_MS;
}
