/**
 * Where asymmetric verification keys come from: a JWKS URL, or the issuer's OIDC discovery
 * document, never the token. jose's remote set caches the keys and refetches at most once per
 * cooldown for an unknown `kid` (so a rotated key is picked up and a storm of made-up kids is
 * not); on top of it, an identity-provider outage keeps using the last key set fetched
 * successfully, and with no such set every token fails closed.
 * Times here are `Date.now()`, not a Clock: jose stamps its cache with it, and the fallback is
 * measured against those stamps.
 */
import {
  type CompactJWSHeaderParameters,
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  type ExportedJWKSCache,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  jwksCache,
} from "jose";
import { isSecureOrLoopback } from "../shared/env.ts";
import { BrokerError } from "../shared/errors.ts";
import type { FetchLike } from "../shared/fetch.ts";
import type { KeySetSource } from "./settings.ts";

/** What a JWKS may sign login tokens with: asymmetric only, so a public key never serves as an HMAC secret. */
export const ASYMMETRIC_ALGORITHMS = [...["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"], ...["EdDSA", "Ed25519"]] as const;

/** The identity provider's keys could not be fetched: not the token's fault, and never a pass. */
export class KeySourceError extends Error {}

export interface KeyTiming {
  /** Refetch a key set this old before using it. */
  readonly maxAgeMs: number;
  /** At most one fetch per this long: for unknown kids, and after a failed fetch. */
  readonly cooldownMs: number;
  /**
   * An outage keeps the last good keys alive this long after they were fetched, no longer:
   * a key the provider revoked meanwhile must stop working some day.
   */
  readonly maxStaleMs: number;
  /**
   * With no key at all (a cold start during an outage, a failed discovery), try again after
   * this long: shorter than the cooldown, as nothing works meanwhile, but no hammering.
   */
  readonly noKeysRetryMs: number;
}

const DEFAULT_KEY_TIMING: KeyTiming = { maxAgeMs: 10 * 60_000, cooldownMs: 30_000, maxStaleMs: 24 * 60 * 60_000, noKeysRetryMs: 5000 };
const KEY_FETCH_TIMEOUT_MS = 3000;

export function keyResolver(config: KeySetSource, fetchImpl: FetchLike, timing: KeyTiming = DEFAULT_KEY_TIMING): JWTVerifyGetKey {
  if (config.source === "jwks") return lastGoodKeySet(config.url, fetchImpl, timing);

  // The discovery result is kept for the instance's life; only the key set is refreshed.
  let resolved: Promise<JWTVerifyGetKey> | undefined;
  let failedAt = -Infinity;
  return async (header, token) => {
    if (!resolved && Date.now() - failedAt < timing.noKeysRetryMs) {
      throw new KeySourceError("OIDC discovery failed recently");
    }
    resolved ??= discoverJwksUri(config.issuer, fetchImpl).then((url) => lastGoodKeySet(url, fetchImpl, timing));
    const getKey = await resolved.catch((error: unknown) => {
      resolved = undefined;
      failedAt = Date.now();
      throw error;
    });
    return getKey(header, token);
  };
}

/** jose's remote set, falling back to the last key set it fetched while the source is failing. */
function lastGoodKeySet(url: URL, fetchImpl: FetchLike, timing: KeyTiming): JWTVerifyGetKey {
  // jose writes every successful fetch here (its `jwksCache` option): the last good set.
  const fetched: Partial<ExportedJWKSCache> = {};
  const remote = createRemoteJWKSet(url, {
    cooldownDuration: timing.cooldownMs,
    cacheMaxAge: timing.maxAgeMs,
    timeoutDuration: KEY_FETCH_TIMEOUT_MS,
    [customFetch]: keySetFetch(fetchImpl),
    [jwksCache]: fetched as ExportedJWKSCache,
  });
  let failedAt = -Infinity;
  let fallback: { jwks: JSONWebKeySet; getKey: JWTVerifyGetKey } | undefined;

  const fromLastGood = async (header: CompactJWSHeaderParameters, token: FlattenedJWSInput, cause?: unknown) => {
    const { jwks, uat } = fetched;
    if (!jwks || !uat || Date.now() - uat > timing.maxStaleMs) throw new KeySourceError("no usable signing keys: the key source is failing", { cause });
    if (fallback?.jwks !== jwks) fallback = { jwks, getKey: createLocalJWKSet(jwks) };
    try {
      return await fallback.getKey(header, token);
    } catch (error) {
      // Maybe a key the provider rotated in during the outage: unknown, so not the token's fault.
      if (error instanceof errors.JWKSNoMatchingKey) throw new KeySourceError("no cached key matches and the key source is failing", { cause });
      throw error;
    }
  };

  return async (header, token) => {
    const retryAfterMs = fetched.jwks ? timing.cooldownMs : timing.noKeysRetryMs;
    if (Date.now() - failedAt < retryAfterMs) return fromLastGood(header, token);
    try {
      return await remote(header, token);
    } catch (error) {
      if (isAboutTheToken(error)) throw error;
      failedAt = Date.now();
      return fromLastGood(header, token, error);
    }
  };
}

/** What jose's key lookup throws when the set is fine but has no (single) key for this token. */
function isAboutTheToken(error: unknown): boolean {
  return error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys || error instanceof errors.JOSENotSupported;
}

/**
 * OpenID Connect Discovery 1.0 §4: the document's issuer must equal the configured one. If it
 * does not, no token can pass, and only the operator can fix that: a ConfigError that shows
 * both spellings.
 */
async function discoverJwksUri(issuer: string, fetchImpl: FetchLike): Promise<URL> {
  const url = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  const response = await guardedFetch(fetchImpl)(url, {
    redirect: "manual",
    signal: AbortSignal.timeout(KEY_FETCH_TIMEOUT_MS),
    headers: { accept: "application/json" },
  });
  const document = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (typeof document?.issuer !== "string" || typeof document.jwks_uri !== "string")
    throw new KeySourceError("discovery document has no issuer or no jwks_uri");
  if (document.issuer !== issuer) throw issuerMismatch(issuer, document.issuer, url);
  const jwksUri = new URL(document.jwks_uri);
  if (!isSecureOrLoopback(jwksUri)) {
    throw new KeySourceError("discovery document's jwks_uri is not https");
  }
  return jwksUri;
}

function issuerMismatch(configured: string, discovered: string, url: string): BrokerError {
  const shown = JSON.stringify(discovered.slice(0, 200));
  const fix =
    discovered.replace(/\/$/, "") === configured.replace(/\/$/, "")
      ? `set JWT_ISSUER to exactly ${shown}: the trailing slash counts, as tokens carry it`
      : "set JWT_ISSUER to the issuer your tokens carry, spelled as the discovery document spells it";
  return new BrokerError("ConfigError", `JWT_ISSUER is ${JSON.stringify(configured)}, but the discovery document at ${url} names the issuer ${shown}: ${fix}`);
}

export interface SigningKeys {
  readonly url: string;
  /** Entries in the set, and those a login token could be signed with (asymmetric, not `use: enc`). */
  readonly total: number;
  readonly usable: number;
}

/**
 * Fetches the configured JWKS now, past any cache (through discovery when only the issuer is
 * set): the credential check proves the identity provider answers.
 */
export async function fetchSigningKeys(config: KeySetSource, fetchImpl: FetchLike = fetch): Promise<SigningKeys> {
  try {
    const url = config.source === "jwks" ? config.url : await discoverJwksUri(config.issuer, fetchImpl);
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
    if (error instanceof BrokerError) throw error;
    throw new BrokerError("UpstreamError", "the identity provider's signing keys could not be fetched", {
      detail: error instanceof Error ? error.message : undefined,
      cause: error,
    });
  }
}

/**
 * The key set as jose should see it. An Ed25519 key marked `alg: EdDSA` (RFC 8037) signs the
 * tokens RFC 9864 marks `alg: Ed25519`, and the reverse; jose matches `alg` exactly, so such a
 * key loses its `alg` here and serves both names (the curve still has to be Ed25519).
 */
function keySetFetch(fetchImpl: FetchLike): FetchLike {
  const guarded = guardedFetch(fetchImpl);
  return async (input, init) => {
    const response = await guarded(input, init);
    const body = (await response.json().catch(() => undefined)) as { keys?: unknown } | undefined;
    if (!Array.isArray(body?.keys)) throw new KeySourceError("the key set is not JSON with a 'keys' array");
    return Response.json({ ...body, keys: body.keys.map(eitherEdwardsName) });
  };
}

const EDWARDS_NAMES: readonly unknown[] = ["EdDSA", "Ed25519"];

function eitherEdwardsName(key: unknown): unknown {
  if (typeof key !== "object" || key === null) return key;
  const { alg, ...rest } = key as Record<string, unknown>;
  return rest.kty === "OKP" && rest.crv === "Ed25519" && EDWARDS_NAMES.includes(alg) ? rest : key;
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
