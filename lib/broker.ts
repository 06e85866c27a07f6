/**
 * The use case: a login token and what the client asks for -> fenced COS credentials,
 * or a BrokerError. Knows nothing of HTTP or SCF; dependencies come in as parameters.
 */
import type { TokenVerifier, VerifiedClaims } from "./auth.ts";
import type { Config } from "./config.ts";
import { BrokerError } from "./errors.ts";
import { canonicalIp } from "./ip.ts";
import { chooseKey } from "./keys.ts";
import type { RateCheck } from "./limit.ts";
import { buildPolicy, encodePolicy, type CamPolicy, type Narrowing } from "./policy.ts";
import { prefixFor, subjectHash, type Claims } from "./prefix.ts";
import { profileNamed, type Profile } from "./profiles.ts";
import type { CredentialIssuer } from "./sts.ts";

export interface IssueRequest {
  readonly token: string;
  readonly profile?: unknown;
  readonly key?: unknown;
  readonly scope?: unknown;
  /** A file name: the broker chooses the key (profiles with an extension allow-list). */
  readonly filename?: unknown;
  /** The caller's address as the trigger reports it; profiles may pin credentials to it. */
  readonly sourceIp?: string;
  /** Milliseconds the invocation has left, when the platform says. */
  readonly remainingMs?: number;
}

/** Everything besides the token that shapes a grant; `npm run policy` asks in the same terms. */
export type GrantRequest = Pick<IssueRequest, "profile" | "key" | "scope" | "filename" | "sourceIp">;

/** What the broker asks STS for. Everything that shapes it is in the policy or the duration. */
export interface Grant {
  readonly profile: Profile;
  readonly prefix: string;
  readonly policy: CamPolicy;
  /** Exactly the `Policy` parameter sent to STS. */
  readonly encodedPolicy: string;
  readonly allowActions: readonly string[];
  readonly durationSeconds: number;
  /** The one object the grant is narrowed to, if any. */
  readonly key?: string;
  /** True when the broker chose that key (a `filename` request). */
  readonly chosenKey: boolean;
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
  /** Only when the broker chose the key: the full object key to upload to. */
  key?: string;
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
  /** Per-subject rate limit (lib/limit.ts); throws TooManyRequests. */
  readonly checkRate?: RateCheck;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

export interface Broker {
  issue(request: IssueRequest, audit: Audit): Promise<CredentialResponse>;
  /** The same use case for claims already verified: the credential check's canary holds no login token. */
  issueFor(claims: VerifiedClaims, request: Omit<IssueRequest, "token">, audit: Audit): Promise<CredentialResponse>;
}

/** Leave the function this long to answer after an STS deadline. */
const RESPONSE_MARGIN_MS = 500;

export function createBroker(deps: BrokerDeps): Broker {
  const { config, verifyToken, issuer } = deps;
  const now = deps.now ?? Date.now;

  const broker: Broker = {
    async issue(request, audit) {
      const claims = await verifyToken(request.token);
      audit.subject = subjectHash(claims);
      deps.checkRate?.(audit.subject);
      return broker.issueFor(claims, request, audit);
    },

    async issueFor(claims, request, audit) {
      audit.subject ??= subjectHash(claims);
      const nowMs = now();
      const grant = grantFor(config, claims, request, nowMs, audit);
      const issued = await issuer.requestCredentials({
        policy: grant.encodedPolicy,
        subjectHash: audit.subject,
        durationSeconds: grant.durationSeconds,
        timeoutMs: stsDeadline(request.remainingMs),
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
        ...(grant.chosenKey ? { key: grant.key } : {}),
      };
    },
  };
  return broker;
}

/**
 * Verified claims + what the client asks for -> the policy and lifetime to ask STS for, or a
 * refusal. The one place a grant is composed: the broker and `npm run policy` both call it.
 * `audit` is filled as it goes, so a refusal is still logged with what was known.
 */
export function grantFor(config: Config, claims: Claims, request: GrantRequest, nowMs: number, audit: Audit = {}): Grant {
  const profile = profileNamed(config.profiles, request.profile);
  audit.profile = profile.name;
  const prefix = prefixFor(profile.prefixTemplate ?? config.prefixTemplate, claims);
  audit.prefix = prefix;
  const narrowing = narrowingFor(profile, prefix, request, nowMs);
  const sourceIp = request.sourceIp === undefined ? undefined : canonicalIp(request.sourceIp);
  const built = buildPolicy({ bucket: config, prefix, profile, narrowing, sourceIp });
  audit.key = built.key;
  const encodedPolicy = encodePolicy(built.policy);
  checkPolicyLength(encodedPolicy.length, config.maxPolicyLength, narrowing.key !== undefined || narrowing.scope !== undefined);
  return {
    profile,
    prefix,
    policy: built.policy,
    encodedPolicy,
    allowActions: built.allowActions,
    durationSeconds: profile.durationSeconds ?? config.durationSeconds,
    ...(built.key ? { key: built.key } : {}),
    chosenKey: narrowing.chosenKey !== undefined,
  };
}

const given = (value: unknown) => value !== undefined && value !== null;

/** A profile with an extension allow-list chooses every key; the others take the client's key or scope. */
function narrowingFor(profile: Profile, prefix: string, request: GrantRequest, nowMs: number): Narrowing {
  if (given(request.filename)) {
    if (given(request.key) || given(request.scope)) throw new BrokerError("BadRequest", "send one of key, scope or filename");
    return { chosenKey: chooseKey(profile, prefix, request.filename, nowMs) };
  }
  if (profile.extensions) throw new BrokerError("ScopeNotAllowed", `profile '${profile.name}' chooses keys itself: send filename instead of key or scope`);
  return { ...(given(request.key) ? { key: request.key } : {}), ...(given(request.scope) ? { scope: request.scope } : {}) };
}

/**
 * Measured before STS is called. Over the limit because of what the request named: 400, ask
 * for less. Otherwise only an unusually long (non-ASCII) claim can be the cause, since the
 * startup lint fits every profile for 128-character ASCII claims.
 */
function checkPolicyLength(length: number, max: number, narrowedByClient: boolean): void {
  if (length <= max) return;
  if (narrowedByClient) {
    throw new BrokerError("BadRequest", `the key or scope asked for makes the policy ${length} characters URL-encoded, over the limit of ${max}: ask for fewer objects per request`);
  }
  throw new BrokerError("IdentityNotAllowed", `this identity's key prefix makes the policy ${length} characters URL-encoded, over the limit of ${max}: use {sub_hash} in PREFIX_TEMPLATE, which is always short`);
}

/** All STS attempts together must end (in a 504 if STS hangs) well before the platform kills the function. */
function stsDeadline(remainingMs: number | undefined): number | undefined {
  return remainingMs === undefined || !Number.isFinite(remainingMs) ? undefined : remainingMs - RESPONSE_MARGIN_MS;
}
