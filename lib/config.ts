/**
 * Environment -> validated, typed configuration, once per instance (cold start).
 * Every refusal names the variable and the fix, and never echoes a secret value.
 */
import { readFileSync } from "node:fs";
import { BrokerError } from "./errors.ts";
import { longestPolicyLength, type BucketRef } from "./policy.ts";
import { compilePrefixTemplate, type PrefixTemplate } from "./prefix.ts";
import { builtInProfiles, parseProfiles, profileRuleError, type Profile, type ProfileWarning } from "./profiles.ts";
import type { CacheSettings } from "./cache.ts";
import type { RateLimit } from "./limit.ts";

export type Env = Readonly<Record<string, string | undefined>>;

export type JwtConfig = {
  readonly issuer: string | undefined;
  readonly audience: readonly string[] | undefined;
} & (
  | { readonly source: "secret"; readonly secret: Uint8Array<ArrayBuffer> }
  | { readonly source: "jwks"; readonly jwksUrl: URL }
  | { readonly source: "discovery"; readonly issuer: string }
);

/** Where STS calls get their key: an explicit one, or the execution role's, read at each call. */
export type StsCredentialSource =
  | { readonly kind: "explicit"; readonly secretId: string; readonly secretKey: string }
  | { readonly kind: "execution-role" };

export interface StsConfig {
  readonly mode: "AssumeRole" | "GetFederationToken";
  readonly roleArn: string | undefined;
  readonly endpoint: { readonly host: string; readonly protocol: "https://" | "http://" };
  readonly region: string;
  readonly credentials: StsCredentialSource;
  readonly timeoutMs: number;
  /** Attempts per request, counting the first; only transient failures are retried. */
  readonly maxAttempts: number;
}

export interface Config extends BucketRef {
  readonly jwt: JwtConfig;
  readonly prefixTemplate: PrefixTemplate;
  readonly sts: StsConfig;
  readonly durationSeconds: number;
  readonly corsOrigins: readonly string[];
  readonly cosEndpoint: string | undefined;
  /** Built-in and custom profiles in force. */
  readonly profiles: ReadonlyMap<string, Profile>;
  /** Lint findings that do not stop the broker (an explicitly shared area); logged at cold start. */
  readonly profileWarnings: readonly ProfileWarning[];
  /** Longest URL-encoded policy the broker sends to STS. */
  readonly maxPolicyLength: number;
  readonly cache: CacheSettings;
  readonly rateLimit: RateLimit;
}

/** The client SDKs refetch when under 60 s remain, so shorter credentials are useless (PRODUCT.md). */
export const MIN_DURATION_SECONDS = 120;
/** GetFederationToken max 7200 s, AssumeRole max 43200 s (STS API docs 1312/48195, 1312/48197). */
export const MAX_DURATION_SECONDS = { GetFederationToken: 7200, AssumeRole: 43200 } as const;
export const DEFAULT_DURATION_SECONDS = 900;
export const DEFAULT_STS_TIMEOUT_MS = 3000;
/** Tencent documents no limit (only InvalidParameter.PolicyTooLong); peers stay under 2048 characters. */
export const DEFAULT_MAX_POLICY_LENGTH = 2048;
/** SCF caps all environment variables of a function together at 4 KB (PRODUCT.md). */
const PLATFORM_ENV_BYTES = 4096;
export const DEFAULT_STS_MAX_ATTEMPTS = 3;
export const DEFAULT_CACHE_MAX_ENTRIES = 1000;
export const DEFAULT_RATE_PER_MINUTE = 60;
export const DEFAULT_RATE_BURST = 20;
const MIN_JWT_SECRET_BYTES = 32;
/** URL.hostname spells IPv6 with brackets. */
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const ROLE_ARN = /^qcs::cam::uin\/\d+:(roleName\/[\w+=,.@-]{1,128}|role\/\d+)$/;

export function configError(variable: string, problem: string, fix: string): BrokerError {
  return new BrokerError("ConfigError", `${variable} ${problem}: ${fix}`);
}

/** Every variable an operator may set; loadConfig reads no other (serverless.yml is tested against it). */
export const CONFIG_VARIABLES = [
  "COS_BUCKET",
  "COS_REGION",
  "JWT_SECRET",
  "JWT_JWKS_URL",
  "JWT_ISSUER",
  "JWT_AUDIENCE",
  "PREFIX_TEMPLATE",
  "STS_ROLE_ARN",
  "STS_SECRET_ID",
  "STS_SECRET_KEY",
  "STS_ENDPOINT",
  "STS_DURATION_SECONDS",
  "STS_TIMEOUT_MS",
  "STS_MAX_ATTEMPTS",
  "STS_MAX_POLICY_LENGTH",
  "STS_PROFILES",
  "STS_PROFILES_FILE",
  "CORS_ORIGINS",
  "COS_ENDPOINT",
  "CREDENTIAL_CACHE_MAX_ENTRIES",
  "CREDENTIAL_CACHE_MIN_REMAINING_SECONDS",
  "RATE_LIMIT_PER_MINUTE",
  "RATE_LIMIT_BURST",
] as const;
/** The execution role's key, injected by SCF under reserved names: never set in serverless.yml. */
export const PLATFORM_VARIABLES = ["TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN"] as const;
type Variable = (typeof CONFIG_VARIABLES)[number] | (typeof PLATFORM_VARIABLES)[number];

/** An empty variable counts as unset (a yml `${env:X}` of an unset X arrives empty). */
export function readVar(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === "" ? undefined : value;
}

/** readVar limited to the lists above, so the config cannot read a variable they do not name. */
const read: (env: Env, name: Variable) => string | undefined = readVar;

export function loadConfig(env: Env): Config {
  const { bucket, appid } = parseBucket(read(env, "COS_BUCKET"));
  const region = parseRegion(read(env, "COS_REGION"));
  const sts = parseSts(env, region);
  const prefixTemplate = parsePrefixTemplate(read(env, "PREFIX_TEMPLATE") ?? "users/{sub}/");
  const maxPolicyLength = parseInteger("STS_MAX_POLICY_LENGTH", read(env, "STS_MAX_POLICY_LENGTH"), DEFAULT_MAX_POLICY_LENGTH, 512, 16_384);
  const { profiles, warnings, variable } = loadProfiles(env, sts.mode);
  checkPolicyLengths(profiles, variable, { bucket, appid, region }, prefixTemplate, maxPolicyLength);
  return {
    bucket,
    appid,
    region,
    jwt: parseJwt(env),
    prefixTemplate,
    sts,
    durationSeconds: parseDuration(read(env, "STS_DURATION_SECONDS"), sts.mode),
    corsOrigins: parseOrigins(read(env, "CORS_ORIGINS")),
    cosEndpoint: parseOptionalUrl("COS_ENDPOINT", read(env, "COS_ENDPOINT")),
    profiles,
    profileWarnings: warnings,
    maxPolicyLength,
    cache: parseCache(env),
    rateLimit: parseRateLimit(env),
  };
}

/**
 * Custom profiles: inline STS_PROFILES, or the file STS_PROFILES_FILE names, which the build
 * bundles (so a deployed function reads no file); without either, the built-ins.
 */
interface LoadedProfiles {
  readonly profiles: ReadonlyMap<string, Profile>;
  readonly warnings: readonly ProfileWarning[];
  /** The variable to name when a profile breaks a rule. */
  readonly variable: string;
}

function loadProfiles(env: Env, mode: StsConfig["mode"]): LoadedProfiles {
  const inline = read(env, "STS_PROFILES");
  const file = read(env, "STS_PROFILES_FILE");
  const bundled = typeof __STS_PROFILES_JSON__ === "string" ? __STS_PROFILES_JSON__ : undefined;
  if (inline && (file || bundled !== undefined)) {
    throw configError("STS_PROFILES", "and STS_PROFILES_FILE are both set", "keep one: a file for anything but a few small profiles");
  }
  if (inline && Buffer.byteLength(inline) > PLATFORM_ENV_BYTES) {
    throw configError("STS_PROFILES", `is ${Buffer.byteLength(inline)} bytes, more than the platform's 4 KB cap on all variables together`, "move the profiles to a JSON file and set STS_PROFILES_FILE at build time");
  }
  const text = inline ?? bundled ?? (file === undefined ? undefined : readProfilesFile(file));
  // Built-ins alone can only outgrow the policy limit through a long PREFIX_TEMPLATE.
  if (text === undefined) return { profiles: builtInProfiles, warnings: [], variable: "PREFIX_TEMPLATE" };
  const variable = inline ? "STS_PROFILES" : "STS_PROFILES_FILE";
  const rules = { variable, minDurationSeconds: MIN_DURATION_SECONDS, maxDurationSeconds: MAX_DURATION_SECONDS[mode] };
  return { ...parseProfiles(text, rules), variable };
}

function readProfilesFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw configError("STS_PROFILES_FILE", `names a file that cannot be read (${code})`, "give the path of a JSON file of profiles; the build bundles it");
  }
}

/** Startup lint: a profile whose policy cannot fit for the longest ASCII identity would fail requests at random. */
function checkPolicyLengths(profiles: ReadonlyMap<string, Profile>, variable: string, bucket: BucketRef, template: PrefixTemplate, max: number): void {
  for (const profile of profiles.values()) {
    const length = longestPolicyLength(bucket, profile, template);
    if (length > max) {
      throw profileRuleError(
        variable,
        profile.name,
        "policy-too-long",
        `its policy reaches ${length} characters URL-encoded for the longest prefix, over the limit of ${max}`,
        "grant fewer actions or resources, shorten the prefix template, or raise STS_MAX_POLICY_LENGTH if your STS accepts more",
      );
    }
  }
}

function parseBucket(value: string | undefined): { bucket: string; appid: string } {
  const fix = "set it to the bucket name with its appid suffix, e.g. examplebucket-1250000000";
  if (!value) throw configError("COS_BUCKET", "is required", fix);
  // The appid is the text after the last "-" (PRODUCT.md, COS resource).
  const match = /^([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)-(\d{5,})$/.exec(value);
  if (!match || value.length > 63) throw configError("COS_BUCKET", "is not a bucket name with an appid suffix", fix);
  return { bucket: value, appid: match[2] ?? "" };
}

function parseRegion(value: string | undefined): string {
  const fix = "set it to the bucket's region, e.g. ap-guangzhou";
  if (!value) throw configError("COS_REGION", "is required", fix);
  if (!/^[a-z]{2,}(-[a-z0-9]+)+$/.test(value)) throw configError("COS_REGION", "is not a region name", fix);
  return value;
}

function parsePrefixTemplate(value: string): PrefixTemplate {
  try {
    return compilePrefixTemplate(value);
  } catch (error) {
    throw configError("PREFIX_TEMPLATE", `is not usable (${(error as Error).message})`, "e.g. users/{sub}/ or users/{sub_hash}/");
  }
}

function parseJwt(env: Env): JwtConfig {
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

/** Key material and webhooks go over https; plain http only to a loopback server (tests, local dev). */
export function isSecureOrLoopback(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname));
}

export function parseFetchUrl(variable: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw configError(variable, "is not a URL", "give an absolute https:// URL");
  }
  if (!isSecureOrLoopback(url)) {
    throw configError(variable, "must use https", "give an https:// URL (plain http is accepted only on loopback)");
  }
  return url;
}

function parseSts(env: Env, region: string): StsConfig {
  const roleArn = read(env, "STS_ROLE_ARN");
  const mode = roleArn ? "AssumeRole" : "GetFederationToken";
  if (roleArn && !ROLE_ARN.test(roleArn)) {
    throw configError("STS_ROLE_ARN", "is not a role ARN", "e.g. qcs::cam::uin/100000000001:roleName/cos-uploader");
  }
  return {
    mode,
    roleArn,
    endpoint: parseEndpoint(read(env, "STS_ENDPOINT") ?? "sts.tencentcloudapi.com"),
    region,
    credentials: parseStsCredentials(env, mode),
    timeoutMs: parseInteger("STS_TIMEOUT_MS", read(env, "STS_TIMEOUT_MS"), DEFAULT_STS_TIMEOUT_MS, 100, 30_000),
    maxAttempts: parseInteger("STS_MAX_ATTEMPTS", read(env, "STS_MAX_ATTEMPTS"), DEFAULT_STS_MAX_ATTEMPTS, 1, 5),
  };
}

function parseStsCredentials(env: Env, mode: StsConfig["mode"]): StsCredentialSource {
  const secretId = read(env, "STS_SECRET_ID");
  const secretKey = read(env, "STS_SECRET_KEY");
  if (secretId || secretKey) {
    if (!secretId || !secretKey) {
      throw configError(secretId ? "STS_SECRET_KEY" : "STS_SECRET_ID", "is missing", "set STS_SECRET_ID and STS_SECRET_KEY together");
    }
    return { kind: "explicit", secretId, secretKey };
  }
  if (!read(env, "TENCENTCLOUD_SECRETID") || !read(env, "TENCENTCLOUD_SECRETKEY")) {
    throw configError(
      "STS_SECRET_ID",
      "is not set and no execution role credentials were found (TENCENTCLOUD_SECRETID)",
      "give the function an execution role allowed to call STS, or set STS_SECRET_ID/STS_SECRET_KEY",
    );
  }
  if (mode === "GetFederationToken" && read(env, "TENCENTCLOUD_SESSIONTOKEN")) {
    throw configError(
      "STS_ROLE_ARN",
      "is not set, and GetFederationToken accepts only permanent keys, not the execution role's temporary ones",
      "set STS_ROLE_ARN (AssumeRole) or a sub-account key in STS_SECRET_ID/STS_SECRET_KEY",
    );
  }
  return { kind: "execution-role" };
}

/** STS_ENDPOINT: a host (`sts.internal.tencentcloudapi.com`) or a URL (`http://127.0.0.1:9100`). */
function parseEndpoint(value: string): StsConfig["endpoint"] {
  if (!value.includes("://")) {
    if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(value)) throw configError("STS_ENDPOINT", "is not a host name", "e.g. sts.tencentcloudapi.com");
    return { host: value, protocol: "https://" };
  }
  const url = parseFetchUrl("STS_ENDPOINT", value);
  if (url.pathname !== "/" || url.search || url.hash) {
    throw configError("STS_ENDPOINT", "must not have a path", "give only scheme, host and port");
  }
  return { host: url.host, protocol: url.protocol === "http:" ? "http://" : "https://" };
}

function parseDuration(value: string | undefined, mode: StsConfig["mode"]): number {
  const max = MAX_DURATION_SECONDS[mode];
  return parseInteger("STS_DURATION_SECONDS", value, DEFAULT_DURATION_SECONDS, MIN_DURATION_SECONDS, max, `${mode} allows at most ${max}`);
}

export function parseInteger(variable: string, value: string | undefined, fallback: number, min: number, max: number, why = ""): number {
  if (value === undefined) return fallback;
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw configError(variable, `must be a whole number from ${min} to ${max}${why ? ` (${why})` : ""}`, `e.g. ${fallback}`);
  }
  return number;
}

function parseOrigins(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(",").map((item) => {
    const origin = item.trim();
    if (origin === "*") {
      throw configError("CORS_ORIGINS", "must not be *", "list the sites that may call the broker, e.g. https://app.example.com");
    }
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin) {
      throw configError("CORS_ORIGINS", `has '${origin}', which is not an origin`, "write scheme://host[:port] with no path or trailing slash");
    }
    return origin;
  });
}

function parseOptionalUrl(variable: string, value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol === "http:" || url.protocol === "https:") return value.replace(/\/$/, "");
  } catch {
    // fall through to the error below
  }
  throw configError(variable, "is not an http(s) URL", "e.g. http://127.0.0.1:9200");
}

/** Credential reuse; an explicit minimum above a credential's lifetime means it is never reused. */
function parseCache(env: Env): CacheSettings {
  const minRemaining = read(env, "CREDENTIAL_CACHE_MIN_REMAINING_SECONDS");
  return {
    maxEntries: parseInteger("CREDENTIAL_CACHE_MAX_ENTRIES", read(env, "CREDENTIAL_CACHE_MAX_ENTRIES"), DEFAULT_CACHE_MAX_ENTRIES, 0, 100_000, "0 turns reuse off"),
    minRemainingSeconds:
      minRemaining === undefined
        ? undefined
        : parseInteger("CREDENTIAL_CACHE_MIN_REMAINING_SECONDS", minRemaining, 600, MIN_DURATION_SECONDS, MAX_DURATION_SECONDS.AssumeRole, "clients refetch below 60 s"),
  };
}

function parseRateLimit(env: Env): RateLimit {
  return {
    perMinute: parseInteger("RATE_LIMIT_PER_MINUTE", read(env, "RATE_LIMIT_PER_MINUTE"), DEFAULT_RATE_PER_MINUTE, 1, 60_000),
    burst: parseInteger("RATE_LIMIT_BURST", read(env, "RATE_LIMIT_BURST"), DEFAULT_RATE_BURST, 1, 10_000),
  };
}
