/**
 * Login-token verification with jose. The key always comes from configuration (a secret,
 * a JWKS URL, or the issuer's discovery document), never from the token's own header
 * (`jku`, `x5u`, `jwk` are ignored), and each source accepts only its own algorithm family.
 */
import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { JwtConfig } from "./config.ts";
import { BrokerError } from "./errors.ts";
import { ASYMMETRIC_ALGORITHMS, keyResolver, KeySourceError, type FetchLike, type KeyTiming } from "./jwks.ts";

export { ASYMMETRIC_ALGORITHMS, type FetchLike } from "./jwks.ts";

export interface VerifiedClaims extends JWTPayload {
  readonly sub: string;
}

export type TokenVerifier = (token: string) => Promise<VerifiedClaims>;

export interface AuthDeps {
  readonly fetch?: FetchLike;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
  /** How long fetched keys are trusted and refetches spaced (lib/jwks.ts); tests shorten it. */
  readonly keyTiming?: KeyTiming;
}

/** Refuse before parsing anything larger (PRODUCT.md: tokens over 8 KB are 401). */
export const MAX_TOKEN_BYTES = 8 * 1024;
export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
export const CLOCK_TOLERANCE_SECONDS = 30;

export function createTokenVerifier(config: JwtConfig, deps: AuthDeps = {}): TokenVerifier {
  const now = deps.now ?? Date.now;
  const fetchImpl: FetchLike = deps.fetch ?? ((input, init) => fetch(input, init));
  const getKey: JWTVerifyGetKey = config.source === "secret" ? hmacKeys(config.secret) : keyResolver(config, fetchImpl, deps.keyTiming);
  const algorithms = config.source === "secret" ? [...HMAC_ALGORITHMS] : [...ASYMMETRIC_ALGORITHMS];

  return async (token) => {
    if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) {
      throw new BrokerError("InvalidToken", `token is larger than ${MAX_TOKEN_BYTES} bytes`);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms,
        issuer: config.issuer,
        audience: config.audience ? [...config.audience] : undefined,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ["exp", "sub"],
        currentDate: new Date(now()),
      }));
    } catch (error) {
      throw tokenError(error);
    }
    if (typeof payload.sub !== "string" || payload.sub.length === 0) {
      throw new BrokerError("InvalidToken", "token 'sub' claim must be a non-empty string");
    }
    return payload as VerifiedClaims;
  };
}

/**
 * The secret imported once per HS* algorithm: given raw bytes, jose imports a WebCrypto key
 * on every verification (jose/dist/webapi/lib/key.js). jose checks `alg` against the allowed
 * list before it asks for the key, so only HS256/384/512 arrive here.
 */
function hmacKeys(secret: Uint8Array<ArrayBuffer>): JWTVerifyGetKey {
  const keys = new Map<string, Promise<CryptoKey>>();
  return ({ alg }) => {
    if (!(HMAC_ALGORITHMS as readonly string[]).includes(alg)) return secret;
    let key = keys.get(alg);
    if (!key) {
      key = crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: `SHA-${alg.slice(2)}` }, false, ["verify"]);
      keys.set(alg, key);
    }
    return key;
  };
}

const TOKEN_MESSAGES: Readonly<Record<string, string>> = {
  ERR_JWT_EXPIRED: "token has expired",
  ERR_JOSE_ALG_NOT_ALLOWED: "token algorithm is not allowed",
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: "token signature is invalid",
  ERR_JWKS_NO_MATCHING_KEY: "no configured key matches the token",
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: "token key id is ambiguous",
};

function tokenError(error: unknown): BrokerError {
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
