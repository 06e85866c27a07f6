/**
 * How login tokens are verified, read from the environment: an HMAC secret, a JWKS URL or
 * the issuer's OIDC discovery document, and the claim rules every token must meet
 * (docs/identity-providers.md; docs/contract.md, Configuration).
 */
import { createHash } from "node:crypto";
import { collectProblems, configError, type Env, parseFetchUrl, parseInteger, readVar } from "../shared/env.ts";

/** Where keys for asymmetric tokens come from: a JWKS URL, or the first issuer's discovery document. */
export type KeySetSource = { readonly source: "jwks"; readonly url: URL } | { readonly source: "discovery"; readonly issuer: string };

export interface JwtConfig {
  /** Accepted `iss` values; a token with any of them is the first one's (docs/identity-providers.md). */
  readonly issuers: readonly string[] | undefined;
  readonly audience: readonly string[] | undefined;
  /** Claims every token must carry, each compared with its value as written (JWT_REQUIRED_CLAIMS). */
  readonly requiredClaims: ReadonlyMap<string, string>;
  /** The longest `exp - iat` accepted. */
  readonly maxLifetimeSeconds: number;
  readonly clockToleranceSeconds: number;
  /** Verifies HS* tokens, and nothing else. */
  readonly secret: Uint8Array<ArrayBuffer> | undefined;
  /** Verifies asymmetric tokens, and nothing else. */
  readonly keySet: KeySetSource | undefined;
}

export interface JwtRules {
  /**
   * STS is a loopback emulator (`npm start`, the tests): only then may a secret this
   * repository publishes sign login tokens, since anyone can mint tokens with it.
   */
  readonly localSts: boolean;
}

const MIN_JWT_SECRET_BYTES = 32;
const DEFAULT_MAX_LIFETIME_SECONDS = 86_400;
const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
/**
 * SHA-256 (hex) of every secret this repository publishes or has published: the dev JWT secret
 * and the dev WeChat app secret `npm start` fills in (dev/defaults.ts), the benchmark's and the
 * tests', and the one an earlier deploy guide showed. test/unit/identity/settings.test.ts finds
 * them in the repository and fails on one missing here.
 */
const PUBLISHED_SECRETS = new Set([
  "afc27a9f4941a70fc84de8c566b5fc855b90e9cec701c84f16cb10badc3d702e",
  "16d7677b933911872bac7425c18dca4ace9994d351a00bb0f29cd16bfabaf859",
  "802dbfd9e5fa1e3442a783792d98c458ee49df0720c3e3b15170815256a0d6a5",
  "c62e4615bd39e222572f3a1bf7c2132ea1e65b17ec805047bd6b2842c593493f",
  "3923fb8348df77529b04f6f536b8204856d0501d031063de795c57ad693b288f",
  "84e0c0eafaa95a34c293f278ac52e45ce537bab5e752a00e6959a13ae103b65a",
  "3eb1bd439947eb762998e566ccc2e099c791118b2f40579cc4f7da2b5061b7f9",
]);

/** A secret anyone can read in this repository: fit only for the loopback emulators. */
export const isPublishedSecret = (value: string): boolean => PUBLISHED_SECRETS.has(createHash("sha256").update(value).digest("hex"));
/** A claim name as JWT_REQUIRED_CLAIMS may name it: no `=`, `,` or space (`cognito:groups` and URLs are fine). */
const CLAIM_NAME = /^[^\s=,]+$/;
/** Kept out of issuers so that `iss NUL sub` is one identity only. */
const CONTROL = /[\p{Cc}\uD800-\uDFFF]/u;

export const JWT_VARIABLES = [
  "JWT_SECRET",
  "JWT_JWKS_URL",
  "JWT_ISSUER",
  "JWT_AUDIENCE",
  "JWT_REQUIRED_CLAIMS",
  "JWT_MAX_TOKEN_LIFETIME_SECONDS",
  "JWT_CLOCK_TOLERANCE_SECONDS",
] as const;
/** readVar limited to the list above, so this module cannot read a variable it does not name. */
const read: (env: Env, name: (typeof JWT_VARIABLES)[number]) => string | undefined = readVar;

/** Any login-token source named: a secret, a JWKS, or an issuer. */
export const hasJwtSource = (env: Env): boolean => ["JWT_SECRET", "JWT_JWKS_URL", "JWT_ISSUER"].some((name) => readVar(env, name) !== undefined);

/** Every problem found is reported at once (ConfigProblems), as lib/broker/config.ts does. */
export function parseJwt(env: Env, rules: JwtRules): JwtConfig {
  const problems = collectProblems();
  const issuers = problems.take(() => parseIssuers(read(env, "JWT_ISSUER")));
  const settled = problems.settle({
    issuers,
    audience: parseList(read(env, "JWT_AUDIENCE")),
    requiredClaims: problems.take(() => parseRequiredClaims(read(env, "JWT_REQUIRED_CLAIMS"))),
    maxLifetimeSeconds: problems.take(() =>
      parseInteger("JWT_MAX_TOKEN_LIFETIME_SECONDS", read(env, "JWT_MAX_TOKEN_LIFETIME_SECONDS"), DEFAULT_MAX_LIFETIME_SECONDS, 60, 366 * 86_400),
    ),
    clockToleranceSeconds: problems.take(() =>
      parseInteger("JWT_CLOCK_TOLERANCE_SECONDS", read(env, "JWT_CLOCK_TOLERANCE_SECONDS"), DEFAULT_CLOCK_TOLERANCE_SECONDS, 0, 300),
    ),
    secret: problems.take(() => parseSecret(read(env, "JWT_SECRET"), rules)),
    keySet: problems.take(() => parseKeySet(read(env, "JWT_JWKS_URL"), problems.valueOr(issuers, undefined), read(env, "JWT_SECRET") !== undefined)),
  });
  if (!settled.secret && !settled.keySet) {
    throw configError(
      "JWT_SECRET",
      "is not set, nor JWT_JWKS_URL, nor JWT_ISSUER",
      "set one of them so the broker can verify login tokens (or WECHAT_APPID and WECHAT_APP_SECRET for WeChat login alone)",
    );
  }
  return settled;
}

function parseIssuers(value: string | undefined): string[] | undefined {
  const issuers = parseList(value);
  if (issuers?.some((issuer) => CONTROL.test(issuer)))
    throw configError("JWT_ISSUER", "holds a control character", "write the issuers as your tokens spell them");
  return issuers;
}

function parseList(value: string | undefined): string[] | undefined {
  const items = value
    ?.split(",")
    .map((item) => item.trim())
    .filter(Boolean);
  return items?.length ? items : undefined;
}

function parseKeySet(jwksUrl: string | undefined, issuers: readonly string[] | undefined, hasSecret: boolean): KeySetSource | undefined {
  if (jwksUrl) return { source: "jwks", url: parseFetchUrl("JWT_JWKS_URL", jwksUrl) };
  // Discovery only when nothing else is set: beside a secret, JWT_ISSUER is a check only.
  const [first] = issuers ?? [];
  if (first === undefined || hasSecret) return undefined;
  parseFetchUrl("JWT_ISSUER", first);
  return { source: "discovery", issuer: first };
}

function parseSecret(value: string | undefined, rules: JwtRules): Uint8Array<ArrayBuffer> | undefined {
  if (value === undefined) return undefined;
  const fix = "use a random secret of your own, e.g. `openssl rand -base64 48`";
  if (Buffer.byteLength(value) < MIN_JWT_SECRET_BYTES) throw configError("JWT_SECRET", `is shorter than ${MIN_JWT_SECRET_BYTES} bytes`, fix);
  if (!rules.localSts && isPublishedSecret(value)) {
    throw configError("JWT_SECRET", "is a secret published in this repository (anyone can sign tokens with it), and STS is not the local emulator", fix);
  }
  return new TextEncoder().encode(value);
}

/** `token_use=id,azp=web-app`: each claim must equal its value as written (docs/identity-providers.md). */
function parseRequiredClaims(value: string | undefined): Map<string, string> {
  const required = new Map<string, string>();
  for (const item of parseList(value) ?? []) {
    const at = item.indexOf("=");
    const [name, expected] = [item.slice(0, at).trim(), item.slice(at + 1).trim()];
    if (at < 1 || !CLAIM_NAME.test(name) || expected === "") {
      throw configError("JWT_REQUIRED_CLAIMS", `has '${item.slice(0, 64)}', which is not claim=value`, "write a comma list such as token_use=id,azp=web-app");
    }
    if (required.has(name)) throw configError("JWT_REQUIRED_CLAIMS", `names '${name}' twice`, "give each claim one value");
    required.set(name, expected);
  }
  return required;
}
