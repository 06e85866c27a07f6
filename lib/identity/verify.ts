/**
 * Login-token verification. The key always comes from configuration (a secret, a JWKS URL,
 * or the issuer's discovery document), never from the token's own header (`jku`, `x5u`,
 * `jwk` are ignored), and each source accepts only its own algorithm family. jose checks
 * asymmetric signatures and the standard claims (`iss`, `aud`, `exp`, `nbf`), HS* MACs are
 * checked here, and lib/identity/claims.ts applies the broker's own claim rules.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { errors, type JWTClaimVerificationOptions, type JWTPayload, type JWTVerifyGetKey, jwtVerify, UnsecuredJWT } from "jose";
import { type Clock, systemClock } from "../shared/clock.ts";
import { BrokerError } from "../shared/errors.ts";
import type { FetchLike } from "../shared/fetch.ts";
import { type VerifiedClaims, verifiedClaims } from "./claims.ts";
import { ASYMMETRIC_ALGORITHMS, KeySourceError, type KeyTiming, keyResolver } from "./key-sources.ts";
import type { JwtConfig } from "./settings.ts";

export type TokenVerifier = (token: string) => Promise<VerifiedClaims>;

export interface AuthDeps {
  readonly fetch?: FetchLike;
  /** Decides whether a token has expired or is not valid yet. */
  readonly clock?: Clock;
  /** How long fetched keys are trusted and refetches spaced (lib/identity/key-sources.ts); tests shorten it. */
  readonly keyTiming?: KeyTiming;
}

/** Refuse before parsing anything larger (docs/identity-providers.md, What a token must be). */
export const MAX_TOKEN_BYTES = 8 * 1024;
const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;

export function createTokenVerifier(config: JwtConfig, deps: AuthDeps = {}): TokenVerifier {
  const clock = deps.clock ?? systemClock;
  const fetchImpl: FetchLike = deps.fetch ?? ((input, init) => fetch(input, init));
  // Each source verifies only its own algorithm family: HS* the secret, the rest the key set.
  const bySecret = config.secret && hmacVerifier(config.secret);
  const byKeySet = config.keySet && keySetVerifier(keyResolver(config.keySet, fetchImpl, deps.keyTiming));
  const verifyPayload: PayloadVerifier =
    bySecret && byKeySet ? (token, rules) => (isHmacToken(token) ? bySecret : byKeySet)(token, rules) : (bySecret ?? byKeySet ?? refuseAll);

  return async (token) => {
    if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) {
      throw new BrokerError("InvalidToken", `token is larger than ${MAX_TOKEN_BYTES} bytes`);
    }
    const nowMs = clock.now();
    const claimRules: JWTClaimVerificationOptions = {
      issuer: config.issuers ? [...config.issuers] : undefined,
      audience: config.audience ? [...config.audience] : undefined,
      clockTolerance: config.clockToleranceSeconds,
      requiredClaims: ["exp", "sub"],
      currentDate: new Date(nowMs),
    };
    let payload: JWTPayload;
    try {
      payload = await verifyPayload(token, claimRules);
    } catch (error) {
      throw tokenError(error);
    }
    return verifiedClaims(payload, config, Math.floor(nowMs / 1000));
  };
}

/** No source configured (settings.ts refuses that): nothing verifies. */
const refuseAll: PayloadVerifier = () => {
  throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
};

/** Which family a token claims to be signed with; its header is parsed again by the verifier. */
function isHmacToken(token: string): boolean {
  const match = COMPACT_JWS.exec(token);
  if (!match) throw new errors.JWSInvalid("Invalid Compact JWS");
  const { alg } = parseHeader(match[1] ?? "");
  return typeof alg === "string" && alg.startsWith("HS");
}

type PayloadVerifier = (token: string, claimRules: JWTClaimVerificationOptions) => JWTPayload | Promise<JWTPayload>;

/** JWKS or discovery: jose throughout, asymmetric algorithms only. */
function keySetVerifier(getKey: JWTVerifyGetKey): PayloadVerifier {
  return async (token, claimRules) => (await jwtVerify(token, getKey, { ...claimRules, algorithms: [...ASYMMETRIC_ALGORITHMS] })).payload;
}

/** Header, payload and signature: three non-empty base64url segments. */
const COMPACT_JWS = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;
/** `{"alg":"none"}`, to hand a payload whose MAC was checked here to jose's claim rules. */
const NONE_HEADER = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url");

/**
 * HS* tokens. jose checks MACs with WebCrypto's `subtle.verify`, a hop to libuv's thread pool
 * that cost ~35 µs a token, plus jitter, on the warm path (`npm run bench`): enough to lose the
 * throughput target. Here the MAC is computed in this thread with node:crypto and compared in
 * constant time; jose's `UnsecuredJWT.decode` then applies every claim rule, as `jwtVerify`
 * would. test/unit/identity/verify.test.ts holds the two to the same verdicts on generated tokens.
 */
function hmacVerifier(secret: Uint8Array): PayloadVerifier {
  return (token, claimRules) => verifyHmacToken(token, secret, claimRules);
}

function verifyHmacToken(token: string, secret: Uint8Array, claimRules: JWTClaimVerificationOptions): JWTPayload {
  const match = COMPACT_JWS.exec(token);
  if (!match) throw new errors.JWSInvalid("Invalid Compact JWS");
  const [, encodedHeader = "", encodedPayload = "", encodedSignature = ""] = match;
  const header = parseHeader(encodedHeader);
  const alg = header.alg;
  if (typeof alg !== "string" || !(HMAC_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  }
  // jose accepts `crit` only for extensions it knows (b64); no login token needs one.
  if ("crit" in header || "b64" in header) throw new errors.JWSInvalid("unsupported JWS extension");
  const expected = createHmac(`sha${alg.slice(2)}`, secret)
    .update(`${encodedHeader}.${encodedPayload}`)
    .digest();
  const given = Buffer.from(encodedSignature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new errors.JWSSignatureVerificationFailed();
  return UnsecuredJWT.decode(`${NONE_HEADER}.${encodedPayload}.`, claimRules).payload;
}

function parseHeader(encoded: string): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8"));
  } catch {
    throw new errors.JWSInvalid("JWS Protected Header is invalid");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new errors.JWSInvalid("JWS Protected Header is invalid");
  return header as Record<string, unknown>;
}

const TOKEN_MESSAGES: Readonly<Record<string, string>> = {
  ERR_JWT_EXPIRED: "token has expired",
  ERR_JOSE_ALG_NOT_ALLOWED: "token algorithm is not allowed",
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: "token signature is invalid",
  ERR_JWKS_NO_MATCHING_KEY: "no configured key matches the token",
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: "token key id is ambiguous",
};

function tokenError(error: unknown): BrokerError {
  // A discovery document naming another issuer: the operator's to fix (lib/identity/key-sources.ts).
  if (error instanceof BrokerError) return error;
  if (error instanceof KeySourceError) {
    return new BrokerError("UpstreamError", "the identity provider's signing keys could not be fetched", {
      detail: error.message,
      cause: error,
    });
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new BrokerError("InvalidToken", `token '${error.claim}' claim check failed`);
  }
  const code = error instanceof errors.JOSEError ? error.code : "";
  return new BrokerError("InvalidToken", TOKEN_MESSAGES[code] ?? "token is malformed or invalid");
}
