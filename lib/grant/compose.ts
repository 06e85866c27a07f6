/**
 * Grant composition: verified claims + what the client asks for -> the policy and lifetime to
 * ask STS for, or a refusal. The one place a grant is composed: the broker and `npm run policy`
 * both call it.
 */

import { canonicalIp } from "../cam/ip.ts";
import type { BucketRef, CamPolicy } from "../cam/policy.ts";
import type { EpochMs } from "../shared/clock.ts";
import { BrokerError } from "../shared/errors.ts";
import type { Audit } from "../shared/log.ts";
import { chooseKey } from "./keys.ts";
import { buildPolicy, encodePolicy, type Narrowing } from "./policy.ts";
import { type Claims, type PrefixTemplate, prefixFor } from "./prefix.ts";
import { type Profile, profileNamed } from "./profiles.ts";

/** What composing a grant needs from the configuration. */
export interface GrantSettings extends BucketRef {
  readonly prefixTemplate: PrefixTemplate;
  /** Built-in and custom profiles in force. */
  readonly profiles: ReadonlyMap<string, Profile>;
  /** Longest URL-encoded policy the broker sends to STS. */
  readonly maxPolicyLength: number;
  /** Lifetime of issued credentials, unless a profile sets its own. */
  readonly durationSeconds: number;
}

/** Everything besides the token that shapes a grant; `npm run policy` asks in the same terms. */
export interface GrantRequest {
  readonly profile?: unknown;
  readonly key?: unknown;
  readonly scope?: unknown;
  /** A file name: the broker chooses the key (profiles with an extension allow-list). */
  readonly filename?: unknown;
  /** The caller's address as the trigger reports it; profiles may pin credentials to it. */
  readonly sourceIp?: string;
}

/** What the broker asks STS for. Everything that shapes it is in the policy or the duration. */
export interface Grant {
  readonly profile: Profile;
  readonly prefix: string;
  readonly policy: CamPolicy;
  /** Exactly the `Policy` parameter sent to STS. */
  readonly encodedPolicy: string;
  readonly allowActions: readonly string[];
  readonly durationSeconds: number;
  /** The one object the grant is narrowed to (a `key`, or the key the broker chose for a `filename`), if any. */
  readonly key?: string;
}

/**
 * Verified claims + what the client asks for -> the policy and lifetime to ask STS for, or a
 * refusal. The one place a grant is composed: the broker and `npm run policy` both call it.
 * `audit` is filled as it goes, so a refusal is still logged with what was known.
 */
export function grantFor(config: GrantSettings, claims: Claims, request: GrantRequest, nowMs: EpochMs, audit: Audit = {}): Grant {
  const profile = profileNamed(config.profiles, request.profile);
  audit.profile = profile.name;
  const prefix = prefixFor(profile.prefixTemplate ?? config.prefixTemplate, claims);
  audit.prefix = prefix;
  const narrowing = narrowingFor(profile, prefix, request, nowMs);
  // Only a profile pinned to the caller's address puts it into the policy.
  const sourceIp = profile.conditions.pinSourceIp && request.sourceIp !== undefined ? canonicalIp(request.sourceIp) : undefined;
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
  };
}

const given = (value: unknown) => value !== undefined && value !== null;

/** A profile with an extension allow-list chooses every key; the others take the client's key or scope. */
function narrowingFor(profile: Profile, prefix: string, request: GrantRequest, nowMs: EpochMs): Narrowing {
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
    throw new BrokerError(
      "BadRequest",
      `the key or scope asked for makes the policy ${length} characters URL-encoded, over the limit of ${max}: ask for fewer objects per request`,
    );
  }
  throw new BrokerError(
    "IdentityNotAllowed",
    `this identity's key prefix makes the policy ${length} characters URL-encoded, over the limit of ${max}: use {sub_hash} in PREFIX_TEMPLATE, which is always short`,
  );
}
