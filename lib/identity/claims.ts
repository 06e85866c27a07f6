/**
 * Who the caller is, as every identity source hands it to the broker: an issuer and a subject
 * that name one identity only, and the other claims the source vouches for. The claim rules
 * that are not about signatures live here (docs/identity-providers.md, What a token must be).
 */
import type { JWTPayload } from "jose";
import { BrokerError } from "../shared/errors.ts";

/**
 * Verified claims. `iss` is the issuer the identity belongs to ("" when none is known): with
 * JWT_ISSUER set, always its first entry. Prefixes, `{sub_hash}`, the rate limit and the
 * credential cache are all built from `iss` and `sub`.
 */
export interface VerifiedClaims extends JWTPayload {
  readonly iss: string;
  readonly sub: string;
}

/** `iss` of every WeChat identity starts so (`wechat:<appid>`, lib/identity/wechat.ts); a login token may never claim it. */
export const WECHAT_ISSUER_PREFIX = "wechat:";

export interface ClaimRules {
  /** Accepted `iss` values; the identity's issuer is the first. */
  readonly issuers: readonly string[] | undefined;
  readonly requiredClaims: ReadonlyMap<string, string>;
  readonly maxLifetimeSeconds: number;
  readonly clockToleranceSeconds: number;
}

/**
 * Control characters and lone surrogates, refused in `iss` and `sub`: with them, `iss NUL sub`
 * could spell two identities ("a\0b","c" and "a","b\0c"), and two lone surrogates one UTF-8 text.
 */
const AMBIGUOUS = /[\p{Cc}\uD800-\uDFFF]/u;

const refuse = (message: string) => new BrokerError("InvalidToken", message);

/** The identity in claims whose signature, `iss`, `aud`, `exp` and `nbf` have been checked. */
export function verifiedClaims(claims: JWTPayload, rules: ClaimRules, nowSeconds: number): VerifiedClaims {
  const { sub } = claims;
  if (typeof sub !== "string" || sub.length === 0 || AMBIGUOUS.test(sub)) {
    throw refuse("token 'sub' claim must be a non-empty string without control characters");
  }
  const iss = rules.issuers?.[0] ?? claims.iss ?? "";
  if (typeof iss !== "string" || AMBIGUOUS.test(iss)) throw refuse("token 'iss' claim must be a string without control characters");
  // WeChat identities are `wechat:<appid>`; a token that said so could take a WeChat user's {sub_hash}.
  if (iss.startsWith(WECHAT_ISSUER_PREFIX)) throw refuse(`token 'iss' claim must not start with '${WECHAT_ISSUER_PREFIX}', which names WeChat login`);
  checkRequiredClaims(claims, rules.requiredClaims);
  checkLifetime(claims, rules, nowSeconds);
  return { ...claims, iss, sub };
}

/** JWT_REQUIRED_CLAIMS: a string, number or boolean claim whose JSON spelling is the value written. */
function checkRequiredClaims(claims: JWTPayload, required: ReadonlyMap<string, string>): void {
  for (const [name, expected] of required) {
    const claim = claims[name];
    const written = typeof claim === "string" || typeof claim === "number" || typeof claim === "boolean" ? String(claim) : undefined;
    if (written !== expected) throw refuse(`token '${name}' claim does not have the required value`);
  }
}

/**
 * A token must not be issued in the future, nor live longer than JWT_MAX_TOKEN_LIFETIME_SECONDS
 * (an `exp` in milliseconds would otherwise never expire). Without `iat`, its life from now counts.
 */
function checkLifetime(claims: JWTPayload, rules: ClaimRules, nowSeconds: number): void {
  const { exp, iat } = claims;
  if (iat !== undefined && iat > nowSeconds + rules.clockToleranceSeconds) throw refuse("token 'iat' claim is in the future");
  if (exp !== undefined && exp - (iat ?? nowSeconds) > rules.maxLifetimeSeconds) {
    throw refuse(`token lives longer than the ${rules.maxLifetimeSeconds} s allowed (exp - iat)`);
  }
}
