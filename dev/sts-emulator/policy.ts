// Session policy rules STS applies before issuing: URL-encoded CAM JSON, no
// `principal`, only the caller's own resources. Sources: the Policy notes of AssumeRole /
// GetFederationToken (tencentcloud-sdk-nodejs-sts/tencentcloud/services/sts/v20180813/
// sts_models.d.ts), STS error codes (https://cloud.tencent.com/document/api/1312/48197)
// and CAM syntax (https://cloud.tencent.com/document/product/598/10603).
import type { Caller } from "./registry.ts";
import { StsError } from "./wire.ts";

// What encodeURIComponent leaves alone, plus `%`, `/` (Python's quote() keeps it) and
// `+` (form-style space). Raw JSON has `{` and `"`, so a forgotten encode is caught here.
const URL_ENCODED = /^[A-Za-z0-9\-_.!~*'()%/+]*$/;
// qcs::<service>:<region>:uid/<appid>:... (COS) or uin/<uin> (most other services)
const OWNER = /^qcs::[^:]*:[^:]*:(uid|uin)\/(\d+):/;

/** Returns the decoded policy, or throws the error the real service would send. */
export function checkPolicy(raw: unknown, caller: Caller, maxLength: number): unknown {
  if (typeof raw !== "string") throw new StsError("InvalidParameter", "Policy must be a string.");
  if (raw.length > maxLength) {
    throw new StsError(
      "InvalidParameter.PolicyTooLong",
      `Policy is ${raw.length} characters URL-encoded; this emulator allows ${maxLength} (Tencent documents no limit).`,
    );
  }
  const policy = decodePolicy(raw);
  if (hasPrincipal(policy)) formatError("A session policy must not contain a principal element.");
  checkShape(policy);
  checkOwnResources(policy as { statement: Statement[] }, caller);
  return policy;
}

export function decodePolicy(raw: string): unknown {
  if (!URL_ENCODED.test(raw)) {
    formatError("Policy must be URL-encoded: send encodeURIComponent(JSON.stringify(policy)).");
  }
  let text: string;
  try {
    // Server-side urldecode turns `+` into a space, as form decoding does.
    text = decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    formatError("Policy is not valid URL encoding.");
  }
  try {
    return JSON.parse(text);
  } catch {
    formatError("Policy is not JSON once URL-decoded.");
  }
}

interface Statement {
  effect: string;
  action: string | string[];
  resource: string | string[];
  condition?: object;
}

function checkShape(policy: unknown): void {
  if (!isObject(policy)) formatError("Policy must be a JSON object.");
  if (policy.version !== "2.0") formatError('Policy needs "version": "2.0".');
  const statements = policy.statement;
  if (!Array.isArray(statements) || statements.length === 0) formatError('Policy needs a non-empty "statement" array.');
  statements.forEach((statement: unknown, index) => {
    const where = `statement[${index}]`;
    if (!isObject(statement)) formatError(`${where} must be an object.`);
    const effect = statement.effect;
    if (typeof effect !== "string" || !["allow", "deny"].includes(effect.toLowerCase())) {
      formatError(`${where}.effect must be "allow" or "deny".`);
    }
    if (!isStringOrStrings(statement.action)) formatError(`${where}.action must be a string or a non-empty string array.`);
    if (!isStringOrStrings(statement.resource)) {
      formatError(`${where}.resource must be a string or a non-empty string array.`);
    }
    if (statement.condition !== undefined && !isObject(statement.condition)) formatError(`${where}.condition must be an object.`);
  });
}

function checkOwnResources(policy: { statement: Statement[] }, caller: Caller): void {
  for (const statement of policy.statement) {
    for (const resource of [statement.resource].flat()) {
      const owner = OWNER.exec(resource);
      if (!owner) continue;
      const [, kind, id] = owner;
      const own = kind === "uid" ? caller.appid : caller.uin;
      if (id !== own) {
        throw new StsError("InvalidParameter.GrantOtherResource", `Resource ${resource} belongs to ${kind}/${id}; the caller's account is ${kind}/${own}.`);
      }
    }
  }
}

/** Walks the whole document without recursion, so nesting depth cannot overflow the stack. */
function hasPrincipal(document: unknown): boolean {
  const pending: unknown[] = [document];
  while (pending.length > 0) {
    const node = pending.pop();
    if (typeof node !== "object" || node === null) continue;
    for (const [key, child] of Object.entries(node)) {
      if (key.toLowerCase() === "principal") return true;
      pending.push(child);
    }
  }
  return false;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringOrStrings(value: unknown): boolean {
  if (typeof value === "string") return value.length > 0;
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === "string" && item.length > 0);
}

function formatError(message: string): never {
  throw new StsError("InvalidParameter.StrategyFormatError", message);
}
