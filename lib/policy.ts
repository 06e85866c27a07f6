/**
 * Profile + prefix + the request's narrowing -> the CAM session policy sent to STS.
 * Built as data and serialised with JSON.stringify: no string templates, no `principal`
 * (STS refuses it: https://cloud.tencent.com/document/api/1312/48195).
 */
import { BrokerError } from "./errors.ts";
import { checkKeyInPrefix, keyUnderPrefix } from "./prefix.ts";
import type { Profile } from "./profiles.ts";

export interface BucketRef {
  readonly bucket: string;
  readonly region: string;
  readonly appid: string;
}

export type ConditionBlock = Record<string, Record<string, string | number | boolean | readonly (string | number)[]>>;

export interface CamStatement {
  effect: "allow" | "deny";
  action: string[];
  resource: string[];
  condition?: ConditionBlock;
}

export interface CamPolicy {
  version: "2.0";
  statement: CamStatement[];
}

/** What a client may ask for to get less than the profile: one `key`, or the SDKs' `scope`. */
export interface Narrowing {
  readonly key?: unknown;
  readonly scope?: unknown;
}

export interface PolicyInput {
  readonly bucket: BucketRef;
  readonly prefix: string;
  readonly profile: Profile;
  readonly narrowing: Narrowing;
}

export interface BuiltPolicy {
  readonly policy: CamPolicy;
  readonly allowActions: readonly string[];
  /** The object key the grant is narrowed to, when the request named exactly one. */
  readonly key?: string;
}

/** cos-js-sdk-v5 sends one item per object for DeleteMultipleObject; cap what one request may name. */
export const MAX_SCOPE_ITEMS = 100;

/** `qcs::cos:<region>:uid/<appid>:<bucket-appid>/<key>` (PRODUCT.md, COS resource). */
export function resourceOf(ref: BucketRef, key: string): string {
  return `qcs::cos:${ref.region}:uid/${ref.appid}:${ref.bucket}/${key}`;
}

export function buildPolicy(input: PolicyInput): BuiltPolicy {
  const { bucket, prefix, profile, narrowing } = input;
  const hasKey = narrowing.key !== undefined && narrowing.key !== null;
  const hasScope = narrowing.scope !== undefined && narrowing.scope !== null;
  if (hasKey && hasScope) throw new BrokerError("BadRequest", "send either key or scope, not both");

  if (hasScope) return scopedPolicy(input, narrowing.scope);
  const key = hasKey ? keyUnderPrefix(narrowing.key, prefix) : undefined;
  const statement: CamStatement = {
    effect: "allow",
    action: [...profile.actions],
    resource: [resourceOf(bucket, key ?? `${prefix}*`)],
  };
  return { policy: { version: "2.0", statement: [statement] }, allowActions: profile.actions, ...(key ? { key } : {}) };
}

/** Every item must fall inside the user's prefix, bucket, region and profile, or nothing is granted. */
function scopedPolicy(input: PolicyInput, scope: unknown): BuiltPolicy {
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
    if (typeof action !== "string" || !profile.actions.includes(action)) {
      throw new BrokerError("ScopeNotAllowed", `${where}.action is not one of this profile's actions`);
    }
    if (itemBucket !== bucket.bucket || region !== bucket.region) {
      throw new BrokerError("ScopeNotAllowed", `${where} names another bucket or region`);
    }
    const fullKey = checkKeyInPrefix(key, prefix, `${where}.prefix`);
    const keys = keysByAction.get(action) ?? new Set<string>();
    keys.add(fullKey);
    keysByAction.set(action, keys);
  });
  const statement = [...keysByAction].map(([action, keys]): CamStatement => ({
    effect: "allow",
    action: [action],
    resource: [...keys].map((key) => resourceOf(bucket, key)),
  }));
  return { policy: { version: "2.0", statement }, allowActions: [...keysByAction.keys()] };
}

/** The form STS wants: `encodeURIComponent(JSON.stringify(policy))`; the SDK does not encode it. */
export function encodePolicy(policy: CamPolicy): string {
  return encodeURIComponent(JSON.stringify(policy));
}
