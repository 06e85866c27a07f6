/**
 * Login-token verification with jose. The key always comes from configuration (a secret,
 * a JWKS URL, or the issuer's discovery document), never from the token's own header
 * (`jku`, `x5u`, `jwk` are ignored), and each source accepts only its own algorithm family.
 */
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { JwtConfig } from "./config.ts";
import { BrokerError } from "./errors.ts";

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface VerifiedClaims extends JWTPayload {
  readonly sub: string;
}

export type TokenVerifier = (token: string) => Promise<VerifiedClaims>;

export interface AuthDeps {
  readonly fetch?: FetchLike;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

/** Refuse before parsing anything larger (PRODUCT.md: tokens over 8 KB are 401). */
export const MAX_TOKEN_BYTES = 8 * 1024;
export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
export const ASYMMETRIC_ALGORITHMS = [
  ...["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"],
  ...["EdDSA", "Ed25519"],
] as const;
export const CLOCK_TOLERANCE_SECONDS = 30;
const KEY_FETCH_TIMEOUT_MS = 3000;
const JWKS_COOLDOWN_MS = 30_000;
const JWKS_MAX_AGE_MS = 10 * 60_000;
/** After a failed discovery, fail fast for a while instead of hammering the issuer. */
const DISCOVERY_RETRY_MS = 5000;

/** The identity provider's keys could not be fetched: not the token's fault, and never a pass. */
class KeySourceError extends Error {}

export function createTokenVerifier(config: JwtConfig, deps: AuthDeps = {}): TokenVerifier {
  const now = deps.now ?? Date.now;
  const fetchImpl: FetchLike = deps.fetch ?? ((input, init) => fetch(input, init));
  const getKey: JWTVerifyGetKey = config.source === "secret" ? hmacKeys(config.secret) : keyResolver(config, fetchImpl);
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

function keyResolver(config: Exclude<JwtConfig, { source: "secret" }>, fetchImpl: FetchLike): JWTVerifyGetKey {
  const remoteSet = (url: URL) =>
    createRemoteJWKSet(url, {
      cooldownDuration: JWKS_COOLDOWN_MS,
      cacheMaxAge: JWKS_MAX_AGE_MS,
      timeoutDuration: KEY_FETCH_TIMEOUT_MS,
      [customFetch]: guardedFetch(fetchImpl),
    });
  if (config.source === "jwks") return remoteSet(config.jwksUrl);

  let resolved: Promise<JWTVerifyGetKey> | undefined;
  let failedAt = -Infinity;
  return async (header, token) => {
    if (!resolved && Date.now() - failedAt < DISCOVERY_RETRY_MS) {
      throw new KeySourceError("OIDC discovery failed recently");
    }
    resolved ??= discoverJwksUri(config.issuer, fetchImpl).then(remoteSet);
    const getKey = await resolved.catch((error: unknown) => {
      resolved = undefined;
      failedAt = Date.now();
      throw error;
    });
    return getKey(header, token);
  };
}

/** OpenID Connect Discovery 1.0 §4: the document's issuer must equal the configured one. */
async function discoverJwksUri(issuer: string, fetchImpl: FetchLike): Promise<URL> {
  const url = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  const response = await guardedFetch(fetchImpl)(url, {
    redirect: "manual",
    signal: AbortSignal.timeout(KEY_FETCH_TIMEOUT_MS),
    headers: { accept: "application/json" },
  });
  const document = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (document?.issuer !== issuer || typeof document.jwks_uri !== "string") {
    throw new KeySourceError("discovery document has another issuer or no jwks_uri");
  }
  const jwksUri = new URL(document.jwks_uri);
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(jwksUri.hostname);
  if (jwksUri.protocol !== "https:" && !(jwksUri.protocol === "http:" && loopback)) {
    throw new KeySourceError("discovery document's jwks_uri is not https");
  }
  return jwksUri;
}

export interface SigningKeys {
  readonly url: string;
  /** Entries in the set, and those a login token could be signed with (asymmetric, not `use: enc`). */
  readonly total: number;
  readonly usable: number;
}

/**
 * Fetches the configured JWKS now, past any cache (through discovery when only the issuer is
 * set): the credential check proves the identity provider answers. Failures are KeySourceErrors.
 */
export async function fetchSigningKeys(config: Exclude<JwtConfig, { source: "secret" }>, fetchImpl: FetchLike = fetch): Promise<SigningKeys> {
  try {
    const url = config.source === "jwks" ? config.jwksUrl : await discoverJwksUri(config.issuer, fetchImpl);
    const response = await guardedFetch(fetchImpl)(url, {
      redirect: "manual",
      signal: AbortSignal.timeout(KEY_FETCH_TIMEOUT_MS),
      headers: { accept: "application/json" },
    });
    const body = (await response.json().catch(() => undefined)) as { keys?: unknown } | undefined;
    if (!Array.isArray(body?.keys)) throw new KeySourceError("the key set is not JSON with a 'keys' array");
    const usable = body.keys.filter((key: Partial<Record<string, unknown>> | null) => {
      if (typeof key?.kty !== "string" || key.kty === "oct" || key.use === "enc") return false;
      return key.alg === undefined || (ASYMMETRIC_ALGORITHMS as readonly unknown[]).includes(key.alg);
    });
    return { url: url.href, total: body.keys.length, usable: usable.length };
  } catch (error) {
    throw new BrokerError("UpstreamError", "the identity provider's signing keys could not be fetched", {
      detail: error instanceof Error ? error.message : undefined,
      cause: error,
    });
  }
}

function guardedFetch(fetchImpl: FetchLike): FetchLike {
  return async (input, init) => {
    let response: Response;
    try {
      response = await fetchImpl(input, init);
    } catch (error) {
      throw new KeySourceError("key source unreachable", { cause: error });
    }
    if (response.status !== 200) throw new KeySourceError(`key source answered HTTP ${response.status}`);
    return response;
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
  if (error instanceof KeySourceError || error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
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
