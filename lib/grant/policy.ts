/**
 * Profile + prefix + the request's narrowing -> the CAM session policy sent to STS.
 * Built as data and serialised with JSON.stringify: no string templates, no `principal`
 * (STS refuses it: https://cloud.tencent.com/document/api/1312/48195).
 */
import { isBucketAction, setsContentType, writesBody } from "../cam/actions.ts";
import { matchWildcard } from "../cam/evaluate.ts";
import { type BucketRef, type CamPolicy, type CamStatement, type ConditionBlock, resourceOf } from "../cam/policy.ts";
import { BrokerError } from "../shared/errors.ts";
import { longestChosenKey } from "./keys.ts";
import { checkKeyInPrefix, keyUnderPrefix, longestPrefix, type PrefixTemplate } from "./prefix.ts";
import type { Profile } from "./profiles.ts";

/** What a client may ask for to get less than the profile: one `key`, the SDKs' `scope`, or a key the broker chose. */
export interface Narrowing {
  readonly key?: unknown;
  readonly scope?: unknown;
  /** A full key the broker picked itself (server-chosen keys). */
  readonly chosenKey?: string;
}

export interface PolicyInput {
  readonly bucket: BucketRef;
  readonly prefix: string;
  readonly profile: Profile;
  readonly narrowing: Narrowing;
  /** The caller's address, canonical; required when the profile pins the source IP. */
  readonly sourceIp?: string;
}

export interface BuiltPolicy {
  readonly policy: CamPolicy;
  readonly allowActions: readonly string[];
  /** The object key the grant is narrowed to, when the request named exactly one. */
  readonly key?: string;
}

/** cos-js-sdk-v5 sends one item per object for DeleteMultipleObject; cap what one request may name. */
export const MAX_SCOPE_ITEMS = 100;

/** One action and where it applies; `listPrefixes` fences a bucket-level action by `cos:prefix`. */
interface ActionGrant {
  readonly action: string;
  readonly resources: readonly string[];
  readonly listPrefixes?: readonly string[];
}

export function buildPolicy(input: PolicyInput): BuiltPolicy {
  const { narrowing } = input;
  const hasKey = narrowing.key !== undefined && narrowing.key !== null;
  const hasScope = narrowing.scope !== undefined && narrowing.scope !== null;
  if (hasKey && hasScope) throw new BrokerError("BadRequest", "send either key or scope, not both");

  let grants: ActionGrant[];
  let key: string | undefined;
  if (hasScope) {
    grants = scopedGrants(input, narrowing.scope);
  } else if (hasKey || narrowing.chosenKey !== undefined) {
    key =
      narrowing.chosenKey === undefined ? keyUnderPrefix(narrowing.key, input.prefix) : checkKeyInPrefix(narrowing.chosenKey, input.prefix, "the chosen key");
    grants = objectGrants(input, [key], "key");
  } else {
    grants = profileGrants(input);
  }
  const statement = statementsOf(grants, input);
  return { policy: { version: "2.0", statement }, allowActions: grants.map((grant) => grant.action), ...(key ? { key } : {}) };
}

/** The whole profile: its patterns under the prefix; GetBucket on the bucket root, fenced by `cos:prefix`. */
function profileGrants({ bucket, prefix, profile }: PolicyInput): ActionGrant[] {
  const patterns = profile.resources.map((pattern) => prefix + pattern);
  // A listing prefix of `p/` or anything under it: both forms, as COS compares the literal `cos:prefix`.
  const listPrefixes = patterns.flatMap((pattern) => (pattern.endsWith("/*") ? [pattern.slice(0, -1), pattern] : [pattern]));
  const [bucketRoot, objects] = [[resourceOf(bucket, "")], patterns.map((pattern) => resourceOf(bucket, pattern))];
  return profile.actions.map((action) => (isBucketAction(action) ? { action, resources: bucketRoot, listPrefixes } : { action, resources: objects }));
}

/** Exactly these keys, with every object action of the profile; each key must lie within its patterns. */
function objectGrants({ bucket, prefix, profile }: PolicyInput, keys: readonly string[], what: string): ActionGrant[] {
  for (const key of keys) checkKeyInProfile(key, prefix, profile, what);
  const actions = profile.actions.filter((action) => !isBucketAction(action));
  if (actions.length === 0) throw new BrokerError("ScopeNotAllowed", `profile '${profile.name}' has no object actions to narrow to a key`);
  return actions.map((action) => ({ action, resources: keys.map((key) => resourceOf(bucket, key)) }));
}

function checkKeyInProfile(key: string, prefix: string, profile: Profile, what: string): void {
  if (!profile.resources.some((pattern) => matchWildcard(prefix + pattern, key))) {
    throw new BrokerError("ScopeNotAllowed", `${what} is outside what profile '${profile.name}' covers`);
  }
}

/** Every item must fall inside the user's prefix, bucket, region and profile, or nothing is granted. */
function scopedGrants(input: PolicyInput, scope: unknown): ActionGrant[] {
  const { bucket, prefix, profile } = input;
  if (!Array.isArray(scope) || scope.length === 0) {
    throw new BrokerError("BadRequest", "scope must be a non-empty array of {action, bucket, region, prefix}");
  }
  if (scope.length > MAX_SCOPE_ITEMS) {
    throw new BrokerError("BadRequest", `scope may name at most ${MAX_SCOPE_ITEMS} items`);
  }
  const keysByAction = new Map<string, Set<string>>();
  scope.forEach((item: unknown, index) => {
    const where = `scope[${index}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      throw new BrokerError("ScopeNotAllowed", `${where} must be an object`);
    }
    const { action, bucket: itemBucket, region, prefix: key } = item as Record<string, unknown>;
    if (typeof action !== "string" || !profile.actions.includes(action) || isBucketAction(action)) {
      throw new BrokerError("ScopeNotAllowed", `${where}.action is not one of this profile's object actions`);
    }
    if (itemBucket !== bucket.bucket || region !== bucket.region) {
      throw new BrokerError("ScopeNotAllowed", `${where} names another bucket or region`);
    }
    const fullKey = checkKeyInPrefix(key, prefix, `${where}.prefix`);
    checkKeyInProfile(fullKey, prefix, profile, `${where}.prefix`);
    const keys = keysByAction.get(action) ?? new Set<string>();
    keys.add(fullKey);
    keysByAction.set(action, keys);
  });
  return [...keysByAction].map(([action, keys]) => ({ action, resources: [...keys].map((key) => resourceOf(bucket, key)) }));
}

/** Actions that share resources and conditions share a statement, which keeps the policy short. */
function statementsOf(grants: readonly ActionGrant[], input: PolicyInput): CamStatement[] {
  const statements = new Map<string, CamStatement>();
  // Grants often share one resource list (profileGrants): serialise each list once.
  const resourceKeys = new Map<readonly string[], string>();
  for (const grant of grants) {
    const condition = conditionsFor(grant, input);
    const resources = resourceKeys.get(grant.resources) ?? JSON.stringify(grant.resources);
    resourceKeys.set(grant.resources, resources);
    // A JSON array ends where it ends, so the two parts cannot run into each other.
    const shape = condition ? resources + JSON.stringify(condition) : resources;
    const existing = statements.get(shape);
    if (existing) existing.action.push(grant.action);
    else statements.set(shape, { effect: "allow", action: [grant.action], resource: [...grant.resources], ...(condition ? { condition } : {}) });
  }
  return [...statements.values()];
}

/**
 * The profile's conditions for one action (condition keys: 436/46205). Size and type go only
 * on the actions whose requests carry them, rather than on every action with `_if_exist`:
 * a GetObject has no Content-Length, but `_if_exist` would also let a chunked PutObject
 * (no Content-Length either) skip the size check. `qcs:ip` and `cos:secure-transport` are
 * present on every request, so they apply to all actions.
 */
function conditionsFor(grant: ActionGrant, { profile, sourceIp }: PolicyInput): ConditionBlock | undefined {
  const block: ConditionBlock = {};
  const add = (operator: string, key: string, value: ConditionBlock[string][string]) => {
    block[operator] = { ...block[operator], [key]: value };
  };
  const { maxBytes, contentTypes, pinSourceIp, httpsOnly } = profile.conditions;
  if (grant.listPrefixes) add("string_like", "cos:prefix", grant.listPrefixes);
  if (maxBytes !== undefined && writesBody(grant.action)) add("numeric_less_than_equal", "cos:content-length", maxBytes);
  if (contentTypes && setsContentType(grant.action)) add("string_like", "cos:content-type", contentTypes);
  if (pinSourceIp) {
    if (!sourceIp) throw new BrokerError("ScopeNotAllowed", `profile '${profile.name}' is pinned to the caller's IP, and this request's source IP is unknown`);
    add("ip_equal", "qcs:ip", sourceIp);
  }
  if (httpsOnly) add("bool_equal", "cos:secure-transport", "true");
  return Object.keys(block).length > 0 ? block : undefined;
}

/** An IPv6 address as long as one can be written canonically. */
const LONGEST_IP = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";

/**
 * The longest encoded policy a profile yields for an ASCII identity (claims at their
 * 128-character maximum), with the longest source IP and, for server-chosen keys, the
 * longest chosen key: what the startup lint holds against the policy-length limit.
 */
export function longestPolicyLength(bucket: BucketRef, profile: Profile, defaultTemplate: PrefixTemplate): number {
  const prefix = longestPrefix(profile.prefixTemplate ?? defaultTemplate);
  const narrowing = profile.extensions ? { chosenKey: longestChosenKey(prefix) } : {};
  return encodePolicy(buildPolicy({ bucket, prefix, profile, narrowing, sourceIp: LONGEST_IP }).policy).length;
}

/** The form STS wants: `encodeURIComponent(JSON.stringify(policy))`; the SDK does not encode it. */
export function encodePolicy(policy: CamPolicy): string {
  return encodeURIComponent(JSON.stringify(policy));
}
