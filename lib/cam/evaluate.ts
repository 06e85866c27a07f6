/**
 * "Does this CAM policy allow this action on this resource, in this request's context?",
 * decided as COS applies CAM. Pure and allocation-light: the local COS server calls it per request.
 *
 * Grammar (https://cloud.tencent.com/document/product/598/10603): statements of effect,
 * action, resource and an optional condition; action and resource may be one string or an
 * array; `*` is a wildcard in both. Explicit deny wins over allow; nothing allowed is denied.
 * Conditions (https://cloud.tencent.com/document/product/598/10608): `{operator: {key: value}}`;
 * every operator and key in a block must hold; an array of values means "any of"; condition
 * keys are case-sensitive. COS's own keys: https://cloud.tencent.com/document/product/436/46205.
 * Action names are case-sensitive (436/30580), so they are matched exactly, `*` aside.
 */
import { ipInRange, parseIp } from "./ip.ts";
import type { CamPolicy } from "./policy.ts";

export type ContextValue = string | number | boolean | undefined;

export interface EvaluationRequest {
  /** `name/cos:PutObject` */
  readonly action: string;
  /** `qcs::cos:<region>:uid/<appid>:<bucket>/<key>`; bucket-level actions end in `<bucket>/`. */
  readonly resource: string;
  /** `qcs:ip`, `cos:secure-transport`, `cos:content-length`, ...; undefined = not in the request. */
  readonly context?: Readonly<Record<string, ContextValue>>;
}

export interface Verdict {
  readonly allowed: boolean;
  readonly effect: "allow" | "deny" | "default-deny";
  /** The statement that decided; absent for a default deny. */
  readonly statementIndex?: number;
  readonly reason: string;
}

const IF_EXIST = "_if_exist";

/**
 * Per operator: how a request value is read (undefined = malformed) and how it compares with
 * one policy value. `negated` operators hold when the value matches none of the listed ones.
 */
type Scalar = string | number | boolean;
interface Operator {
  read(value: Scalar): Scalar | undefined;
  matches(actual: Scalar, expected: unknown): boolean;
  negated?: boolean;
}

const asText = (value: unknown) => (typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? String(value) : undefined);
const asNumber = (value: unknown) => {
  const text = asText(value)?.trim();
  return text !== undefined && /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : undefined;
};
const asBool = (value: unknown) => {
  const text = asText(value)?.toLowerCase();
  return text === "true" ? true : text === "false" ? false : undefined;
};

const text = (matches: (actual: string, expected: unknown) => boolean, negated = false): Operator => ({
  read: asText,
  matches: (actual, expected) => matches(String(actual), expected),
  negated,
});
const numeric = (compare: (actual: number, expected: number) => boolean, negated = false): Operator => ({
  read: asNumber,
  matches: (actual, expected) => {
    const bound = asNumber(expected);
    return bound !== undefined && compare(Number(actual), bound);
  },
  negated,
});
const ip = (negated: boolean): Operator => ({
  read: (value) => (typeof value === "string" && parseIp(value) ? value : undefined),
  matches: (actual, expected) => typeof expected === "string" && ipInRange(String(actual), expected),
  negated,
});

/** The condition operators of the grammar above; each also takes the `_if_exist` suffix. */
const OPERATORS: Readonly<Record<string, Operator>> = {
  string_equal: text((actual, expected) => actual === asText(expected)),
  string_not_equal: text((actual, expected) => actual === asText(expected), true),
  string_like: text((actual, expected) => typeof expected === "string" && matchWildcard(expected, actual)),
  ip_equal: ip(false),
  ip_not_equal: ip(true),
  numeric_equal: numeric((a, b) => a === b),
  numeric_not_equal: numeric((a, b) => a === b, true),
  numeric_less_than: numeric((a, b) => a < b),
  numeric_less_than_equal: numeric((a, b) => a <= b),
  numeric_greater_than: numeric((a, b) => a > b),
  numeric_greater_than_equal: numeric((a, b) => a >= b),
  bool_equal: { read: asBool, matches: (actual, expected) => actual === asBool(expected) },
};

/**
 * `*` matches any run of characters (including `/` and nothing); everything else is literal.
 * Greedy with one backtrack point, so it is linear-ish and cannot blow up on hostile keys.
 */
export function matchWildcard(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let star = -1;
  let resume = 0;
  while (v < value.length) {
    if (p < pattern.length && pattern[p] !== "*" && pattern[p] === value[v]) {
      p += 1;
      v += 1;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p;
      p += 1;
      resume = v;
    } else if (star >= 0) {
      p = star + 1;
      resume += 1;
      v = resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p += 1;
  return p === pattern.length;
}

/** `unreadable`: the condition itself is malformed (unknown operator, wrong shape). */
type Outcome = { readonly kind: "met" } | { readonly kind: "unmet" | "unreadable"; readonly why: string };
const MET: Outcome = { kind: "met" };
const unmet = (why: string): Outcome => ({ kind: "unmet", why });
const unreadable = (why: string): Outcome => ({ kind: "unreadable", why });

/**
 * One key under one operator. An absent key fails the condition, for the negated operators
 * too (`string_not_equal` without `_if_exist` needs the key present); with `_if_exist` an
 * absent key passes (docs/profiles.md, `npm run policy`). So a deny meant to fire on a missing
 * header must say `_if_exist`. A present but malformed value (a non-number for numeric_*)
 * fails, like an absent one.
 */
function checkKey(operatorName: string, key: string, expected: unknown, context: EvaluationRequest["context"]): Outcome {
  const ifExist = operatorName.endsWith(IF_EXIST);
  const operator = OPERATORS[ifExist ? operatorName.slice(0, -IF_EXIST.length) : operatorName];
  // Built only on the way to a refusal: this runs per COS request in the local server.
  const label = () => `${operatorName} ${key} ${JSON.stringify(expected)}`;
  if (!operator) return unreadable(`${label()} has an unknown operator`);
  const raw = context && Object.hasOwn(context, key) ? context[key] : undefined;
  if (raw === undefined) return ifExist ? MET : unmet(`${label()} is not met (${key} is absent)`);
  const actual = operator.read(raw);
  if (actual === undefined) return unmet(`${label()} is not met (${key} is malformed: ${JSON.stringify(raw)})`);
  const values = Array.isArray(expected) ? (expected as unknown[]) : [expected];
  const any = values.some((value) => operator.matches(actual, value));
  return any !== Boolean(operator.negated) ? MET : unmet(`${label()} is not met (${key} is ${JSON.stringify(raw)})`);
}

function checkConditions(condition: unknown, context: EvaluationRequest["context"]): Outcome {
  if (condition === undefined) return MET;
  if (!isRecord(condition)) return unreadable("its condition is not an object");
  for (const [operatorName, keys] of Object.entries(condition)) {
    if (!isRecord(keys)) return unreadable(`its ${operatorName} does not map keys to values`);
    for (const [key, expected] of Object.entries(keys)) {
      const outcome = checkKey(operatorName, key, expected, context);
      if (outcome.kind !== "met") return outcome;
    }
  }
  return MET;
}

interface LooseStatement {
  readonly effect?: unknown;
  readonly action?: unknown;
  readonly resource?: unknown;
  readonly condition?: unknown;
}

/** CAM allows one string or an array for action and resource (598/10603, "Syntax conventions"). */
const listOf = (value: unknown): readonly string[] =>
  typeof value === "string" ? [value] : Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];

export function evaluatePolicy(policy: CamPolicy, request: EvaluationRequest): Verdict {
  const statements: readonly LooseStatement[] = Array.isArray(policy?.statement) ? policy.statement : [];
  let allowedBy: { index: number; resource: string } | undefined;
  let nearMiss: string | undefined;
  for (const [index, statement] of statements.entries()) {
    const effect = typeof statement?.effect === "string" ? statement.effect.toLowerCase() : "";
    if (effect !== "allow" && effect !== "deny") continue;
    if (!listOf(statement.action).some((pattern) => matchWildcard(pattern, request.action))) continue;
    const resource = listOf(statement.resource).find((pattern) => matchWildcard(pattern, request.resource));
    if (resource === undefined) continue;
    const outcome = checkConditions(statement.condition, request.context);
    if (effect === "deny") {
      // A deny whose condition cannot be read still denies, and such an allow allows nothing: fail closed.
      if (outcome.kind !== "unmet") {
        return { allowed: false, effect: "deny", statementIndex: index, reason: `statement ${index} denies ${request.action} on ${shortResource(resource)}` };
      }
    } else if (outcome.kind === "met") {
      allowedBy ??= { index, resource };
    } else {
      nearMiss ??= `statement ${index} matches, but ${outcome.why}`;
    }
  }
  if (allowedBy) {
    const { index, resource } = allowedBy;
    return { allowed: true, effect: "allow", statementIndex: index, reason: `statement ${index} allows ${request.action} on ${shortResource(resource)}` };
  }
  const base = `no statement allows ${request.action} on ${shortResource(request.resource)}`;
  return { allowed: false, effect: "default-deny", reason: nearMiss ? `${base}: ${nearMiss}` : base };
}

/** `qcs::cos:<region>:uid/<appid>:<bucket>/users/alice/*` -> `users/alice/*`; the bucket root -> `bucket <name>`. */
export function shortResource(resource: string): string {
  const match = /^qcs::cos:[^:]*:uid\/[^:]*:([^/]*)\/(.*)$/.exec(resource);
  if (!match) return resource;
  return match[2] ? match[2] : `bucket ${match[1]}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
