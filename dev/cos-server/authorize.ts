// May this credential do this operation here? The account must own the bucket; a root key
// may do anything in its own buckets; a temporary key may do what its session policy allows,
// decided by the broker's own evaluator (lib/cam/evaluate.ts), so the server and the broker can
// never disagree about what a policy means.
import { type ContextValue, evaluatePolicy, type Verdict } from "../../lib/cam/evaluate.ts";
import type { CamPolicy } from "../../lib/cam/policy.ts";
import type { CosCredential } from "./credentials.ts";
import type { Operation } from "./route.ts";

export type Context = Readonly<Record<string, ContextValue>>;

export interface Decision {
  readonly allowed: boolean;
  readonly action: string;
  readonly resource: string;
  readonly context: Context;
  /** why, in words: the evaluator's reason, or the account rule */
  readonly reason: string;
  /** undefined for a root key or another account's bucket */
  readonly verdict?: Verdict;
}

/** `qcs::cos:<region>:uid/<appid>:<bucket>/<key>`; bucket-level operations use key "" (COS API authorization policies, https://cloud.tencent.com/document/product/436/30580). */
export function resourceOf(region: string, bucket: string, key: string): string {
  return `qcs::cos:${region}:uid/${appidOf(bucket)}:${bucket}/${key}`;
}

/** The appid is the text after the last "-" of the bucket name. */
function appidOf(bucket: string): string {
  return bucket.slice(bucket.lastIndexOf("-") + 1);
}

export function decide(credential: CosCredential, operation: Operation, bucket: string, resource: string, context: Context): Decision {
  const request = { action: `name/cos:${operation}`, resource, context };
  if (credential.appid !== appidOf(bucket)) return { ...request, allowed: false, reason: "the bucket belongs to another account" };
  if (credential.root) return { ...request, allowed: true, reason: "the account's own key" };
  // Issued without a session policy (AssumeRole alone): the rights would be the role's,
  // which this server does not know, so it grants nothing.
  if (credential.policy === undefined) return { ...request, allowed: false, reason: "no session policy" };
  const verdict = evaluatePolicy(credential.policy as CamPolicy, request);
  return { ...request, allowed: verdict.allowed, reason: verdict.reason, verdict };
}
