/**
 * Where login tokens' keys come from, read from the environment: an HMAC secret, a JWKS URL,
 * or the issuer's OIDC discovery document (docs/contract.md, Configuration).
 */
import { configError, type Env, parseFetchUrl, readVar } from "../shared/env.ts";

export type JwtConfig = {
  readonly issuer: string | undefined;
  readonly audience: readonly string[] | undefined;
} & (
  | { readonly source: "secret"; readonly secret: Uint8Array<ArrayBuffer> }
  | { readonly source: "jwks"; readonly jwksUrl: URL }
  | { readonly source: "discovery"; readonly issuer: string }
);

const MIN_JWT_SECRET_BYTES = 32;

export const JWT_VARIABLES = ["JWT_SECRET", "JWT_JWKS_URL", "JWT_ISSUER", "JWT_AUDIENCE"] as const;
/** readVar limited to the list above, so this module cannot read a variable it does not name. */
const read: (env: Env, name: (typeof JWT_VARIABLES)[number]) => string | undefined = readVar;

export function parseJwt(env: Env): JwtConfig {
  const secret = read(env, "JWT_SECRET");
  const jwksUrl = read(env, "JWT_JWKS_URL");
  const issuer = read(env, "JWT_ISSUER");
  const audience = read(env, "JWT_AUDIENCE")
    ?.split(",")
    .map((item) => item.trim())
    .filter(Boolean);
  const common = { issuer, audience: audience?.length ? audience : undefined };
  if (secret && jwksUrl) {
    throw configError("JWT_SECRET", "and JWT_JWKS_URL are both set", "keep one: HS* tokens must never be accepted alongside a JWKS");
  }
  if (secret) {
    if (Buffer.byteLength(secret) < MIN_JWT_SECRET_BYTES) {
      throw configError("JWT_SECRET", `is shorter than ${MIN_JWT_SECRET_BYTES} bytes`, "use a random secret, e.g. `openssl rand -base64 48`");
    }
    return { ...common, source: "secret", secret: new TextEncoder().encode(secret) };
  }
  if (jwksUrl) return { ...common, source: "jwks", jwksUrl: parseFetchUrl("JWT_JWKS_URL", jwksUrl) };
  if (issuer) {
    parseFetchUrl("JWT_ISSUER", issuer);
    return { ...common, source: "discovery", issuer };
  }
  throw configError("JWT_SECRET", "is not set, nor JWT_JWKS_URL, nor JWT_ISSUER", "set one of them so the broker can verify login tokens");
}
