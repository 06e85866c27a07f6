/**
 * The user's key prefix, and the rules that keep it (and anything placed under it) narrow.
 * Prefix checks are what stop `user1*` or `user1/../user2/` from widening a grant
 * (docs/contract.md, How users are kept apart).
 */
import { createHash } from "node:crypto";
import { BrokerError } from "../shared/errors.ts";

/** One path segment of a template: a literal, or a placeholder with the literal text around it. */
export type Segment = { readonly literal: string } | { readonly before: string; readonly claim: string; readonly after: string };

export interface PrefixTemplate {
  readonly source: string;
  /** The segments between the slashes; the prefix is each filled in, followed by "/". */
  readonly segments: readonly Segment[];
  /** False only for a shared area a profile declared explicitly (`"shared": true`). */
  readonly perUser: boolean;
}

export type Claims = Readonly<Record<string, unknown>>;

/** Placeholders that derive from the subject; a template must have one so users stay apart. */
export const PER_USER = new Set(["sub", "sub_hash"]);
const PLACEHOLDER = /\{([^{}]*)\}/g;
const CLAIM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/**
 * Characters a template literal or claim value, and a client key, may never hold.
 * With the `u` flag, [\uD800-\uDFFF] matches only lone surrogates, which encodeURIComponent rejects.
 */
const FORBIDDEN_IN_CLAIM = /[/\\*?%\s\p{Cc}\p{Cf}\uD800-\uDFFF]/u;
const FORBIDDEN_IN_KEY = /[*?\p{Cc}\uD800-\uDFFF]/u;
/** COS object keys are at most 850 bytes (COS object overview, https://cloud.tencent.com/document/product/436/13324). */
const MAX_KEY_BYTES = 850;
/** Leaves room under the prefix for real object names. */
const MAX_PREFIX_BYTES = 512;
const MAX_CLAIM_CHARS = 128;
/** What {sub_hash} always is: base64url of a SHA-256 digest. */
const SUB_HASH = /^[A-Za-z0-9_-]{43}$/;
const SUB_HASH_CHARS = 43;

export interface TemplateRules {
  /** A shared area: no per-user placeholder needed (a profile's `"shared": true`). */
  readonly allowShared?: boolean;
  /** The placeholders that name one user; default {sub} and {sub_hash} (WeChat's add {openid}, {unionid}). */
  readonly perUserClaims?: ReadonlySet<string>;
}

/**
 * Parses and checks PREFIX_TEMPLATE (or a profile's `prefix`, or WECHAT_PREFIX_TEMPLATE). Each path segment may hold at
 * most one placeholder: claims never contain "/", so whole-segment substitution is injective
 * and two users can never be mapped onto the same prefix (`{a}-{b}` would let "x-y","z" meet
 * "x","y-z"). Only `allowShared` lets a template do without a per-user placeholder.
 */
export function compilePrefixTemplate(source: string, { allowShared = false, perUserClaims = PER_USER }: TemplateRules = {}): PrefixTemplate {
  const normalized = source.endsWith("/") ? source : `${source}/`;
  if (normalized.startsWith("/")) throw new Error("it must not start with '/'");
  const segments = normalized.slice(0, -1).split("/").map(compileSegment);
  const perUser = segments.some((segment) => "claim" in segment && perUserClaims.has(segment.claim));
  if (!perUser && !allowShared) throw new Error(`it has no per-user placeholder: include ${[...perUserClaims].map((claim) => `{${claim}}`).join(" or ")}`);
  return { source: normalized, segments, perUser };
}

function compileSegment(segment: string): Segment {
  const literal = segment.replace(PLACEHOLDER, "");
  if (segment === "") throw new Error("it must not contain an empty path segment ('//')");
  if (/[{}]/.test(literal)) throw new Error(`unbalanced brace in segment '${segment}'`);
  if (FORBIDDEN_IN_CLAIM.test(literal)) {
    throw new Error(`segment '${segment}' holds a character that is not allowed (*, ?, %, \\, whitespace, control)`);
  }
  const placeholders = [...segment.matchAll(PLACEHOLDER)];
  if (placeholders.length > 1) throw new Error(`segment '${segment}' holds more than one placeholder; give each its own segment`);
  const [match] = placeholders;
  if (!match) {
    if (segment === "." || segment === "..") throw new Error("it must not contain a '.' or '..' segment");
    return { literal: segment };
  }
  const claim = match[1] ?? "";
  if (!CLAIM_NAME.test(claim)) throw new Error(`placeholder '{${claim}}' is not a claim name`);
  return { before: segment.slice(0, match.index), claim, after: segment.slice(match.index + match[0].length) };
}

/** The template as written, one segment: for messages. */
export const segmentText = (segment: Segment): string => ("literal" in segment ? segment.literal : `${segment.before}{${segment.claim}}${segment.after}`);

/** Whether some value of the placeholder, between its literal text, can spell `text` (docs/profiles.md, Startup lint). */
export function couldSpell(segment: Extract<Segment, { claim: string }>, text: string): boolean {
  const { before, claim, after } = segment;
  if (!text.startsWith(before) || !text.endsWith(after) || text.length <= before.length + after.length) return false;
  const value = text.slice(before.length, text.length - after.length);
  if (claim === "sub_hash") return SUB_HASH.test(value);
  return value.length <= MAX_CLAIM_CHARS && value !== "." && value !== ".." && !FORBIDDEN_IN_CLAIM.test(value);
}

/** The longest prefix an ASCII identity can produce: what the policy-size lint plans for. */
export function longestPrefix(template: PrefixTemplate): string {
  const prefix = fill(template, (claim) => "x".repeat(claim === "sub_hash" ? SUB_HASH_CHARS : MAX_CLAIM_CHARS));
  // prefixFor refuses anything longer, so the longest usable prefix stops there.
  return prefix.length > MAX_PREFIX_BYTES ? `${prefix.slice(0, MAX_PREFIX_BYTES - 1)}/` : prefix;
}

function fill(template: PrefixTemplate, claimText: (claim: string) => string): string {
  return template.segments.map((segment) => `${"literal" in segment ? segment.literal : segment.before + claimText(segment.claim) + segment.after}/`).join("");
}

/** base64url(sha256(iss NUL sub)): safe in any key, and distinct per issuer. */
export function subjectHash(claims: Claims): string {
  const iss = typeof claims.iss === "string" ? claims.iss : "";
  const sub = typeof claims.sub === "string" ? claims.sub : "";
  return createHash("sha256").update(`${iss}\0${sub}`).digest("base64url");
}

/** The user's prefix: the template filled from verified claims. Always ends with "/". */
export function prefixFor(template: PrefixTemplate, claims: Claims): string {
  const prefix = fill(template, (claim) => (claim === "sub_hash" ? subjectHash(claims) : claimValue(claims, claim)));
  if (Buffer.byteLength(prefix) > MAX_PREFIX_BYTES) {
    throw new BrokerError("IdentityNotAllowed", `the key prefix would exceed ${MAX_PREFIX_BYTES} bytes`);
  }
  return prefix;
}

function claimValue(claims: Claims, name: string): string {
  const value = claims[name];
  const refuse = (why: string) =>
    new BrokerError(
      "IdentityNotAllowed",
      `claim '${name}' cannot be used in the key prefix: ${why}; use {sub_hash} in the prefix template, which is always safe`,
    );
  if (typeof value !== "string") throw refuse("it is not a string");
  if (value.length < 1 || value.length > MAX_CLAIM_CHARS) throw refuse(`it must be 1-${MAX_CLAIM_CHARS} characters`);
  if (value === "." || value === "..") throw refuse("it is '.' or '..'");
  if (FORBIDDEN_IN_CLAIM.test(value)) throw refuse("it contains /, \\, *, ?, %, whitespace or a control character");
  return value;
}

/**
 * Checks a full object key a client asked for against the user's prefix. Refuses wildcards,
 * a leading "/", "." and ".." segments (COS may normalise them away), and keys outside the prefix.
 */
export function checkKeyInPrefix(key: unknown, prefix: string, what: string): string {
  const refuse = (why: string) => new BrokerError("ScopeNotAllowed", `${what} ${why}`);
  if (typeof key !== "string" || key.length === 0) throw refuse("must be a non-empty string");
  if (FORBIDDEN_IN_KEY.test(key)) throw refuse("must not contain '*', '?', control characters or lone surrogates");
  if (key.startsWith("/")) throw refuse("must not start with '/'");
  if (key.split("/").some((segment) => segment === "." || segment === "..")) {
    throw refuse("must not contain a '.' or '..' path segment");
  }
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw refuse(`must be at most ${MAX_KEY_BYTES} bytes with its prefix`);
  if (!prefix.endsWith("/") || !key.startsWith(prefix)) throw refuse("must lie inside your prefix");
  return key;
}

/**
 * A `key` relative to the user's prefix, as a full object key. A key that already starts with
 * the prefix is almost surely a full key sent by mistake: granting `<prefix><prefix>...`
 * would answer 200 for an object the client never meant, so it is refused instead.
 */
export function keyUnderPrefix(relative: unknown, prefix: string): string {
  if (typeof relative !== "string" || relative.length === 0) throw new BrokerError("ScopeNotAllowed", "key must be a non-empty string");
  if (relative.startsWith("/")) throw new BrokerError("ScopeNotAllowed", "key must not start with '/'");
  if (relative.startsWith(prefix)) {
    throw new BrokerError(
      "BadRequest",
      `key is relative to your prefix ${prefix}: send it without that prefix, e.g. "photos/cat.png" for ${prefix}photos/cat.png`,
    );
  }
  return checkKeyInPrefix(prefix + relative, prefix, "key");
}
