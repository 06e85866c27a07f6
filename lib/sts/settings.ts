/**
 * How the broker calls STS and reuses what it issued: the settings, read from the
 * environment (docs/contract.md, Configuration), and the lifetimes STS allows.
 */
import { collectProblems, configError, type Endpoint, type Env, parseEndpoint, parseInteger, readVar } from "../shared/env.ts";

/** Where STS calls get their key: an explicit one, or the execution role's, read at each call. */
type StsCredentialSource = { readonly kind: "explicit"; readonly secretId: string; readonly secretKey: string } | { readonly kind: "execution-role" };

export interface StsConfig {
  readonly mode: "AssumeRole" | "GetFederationToken";
  readonly roleArn: string | undefined;
  readonly endpoint: Endpoint;
  readonly region: string;
  readonly credentials: StsCredentialSource;
  readonly timeoutMs: number;
  /** Attempts per request, counting the first; only transient failures are retried. */
  readonly maxAttempts: number;
}

export interface CacheSettings {
  /** 0 turns reuse off. */
  readonly maxEntries: number;
  /**
   * Hand a credential out again only while at least this much of its lifetime remains;
   * undefined: two thirds of its requested duration (profiles may have their own).
   */
  readonly minRemainingSeconds: number | undefined;
}

/** The client SDKs refetch when under 60 s remain, so shorter credentials are useless (docs/contract.md). */
export const MIN_DURATION_SECONDS = 120;
/**
 * AssumeRole grants at most 43200 s; GetFederationToken 129600 s with a sub-account's key but
 * only 7200 s with the root account's (DurationSeconds in tencentcloud-sdk-nodejs-sts,
 * tencentcloud/services/sts/v20180813/sts_models.d.ts). A key does not say whose it is, so the
 * broker accepts up to 129600 s, and when STS refuses a lifetime lib/sts/client.ts says which
 * limit applies (docs/contract.md, Configuration).
 */
export const MAX_DURATION_SECONDS = { GetFederationToken: 129_600, AssumeRole: 43_200 } as const;
const ROOT_FEDERATION_MAX_SECONDS = 7200;
const LONGEST_DURATION_SECONDS = Math.max(...Object.values(MAX_DURATION_SECONDS));
const DEFAULT_DURATION_SECONDS = 900;
const DEFAULT_STS_TIMEOUT_MS = 3000;
const DEFAULT_STS_MAX_ATTEMPTS = 3;
const DEFAULT_CACHE_MAX_ENTRIES = 1000;
const ROLE_ARN = /^qcs::cam::uin\/\d+:(roleName\/[\w+=,.@-]{1,128}|role\/\d+)$/;

/** The variables this module reads; the execution role's key comes under the platform's reserved names. */
export const STS_VARIABLES = [
  "STS_ROLE_ARN",
  "STS_SECRET_ID",
  "STS_SECRET_KEY",
  "STS_ENDPOINT",
  "STS_DURATION_SECONDS",
  "STS_TIMEOUT_MS",
  "STS_MAX_ATTEMPTS",
  "CREDENTIAL_CACHE_MAX_ENTRIES",
  "CREDENTIAL_CACHE_MIN_REMAINING_SECONDS",
] as const;
/** The execution role's key, injected by SCF under reserved names: never set in serverless.yml. */
export const PLATFORM_VARIABLES = ["TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN"] as const;
type Variable = (typeof STS_VARIABLES)[number] | (typeof PLATFORM_VARIABLES)[number];
/** readVar limited to the lists above, so this module cannot read a variable they do not name. */
const read: (env: Env, name: Variable) => string | undefined = readVar;

/** STS_ROLE_ARN set: AssumeRole; unset: GetFederationToken. */
export function stsMode(env: Env): StsConfig["mode"] {
  return read(env, "STS_ROLE_ARN") ? "AssumeRole" : "GetFederationToken";
}

export function parseSts(env: Env, region: string): StsConfig {
  const problems = collectProblems();
  const roleArn = read(env, "STS_ROLE_ARN");
  const mode = stsMode(env);
  problems.take(() => {
    if (roleArn && !ROLE_ARN.test(roleArn)) throw configError("STS_ROLE_ARN", "is not a role ARN", "e.g. qcs::cam::uin/100000000001:roleName/cos-uploader");
  });
  return {
    mode,
    roleArn,
    region,
    ...problems.settle({
      endpoint: problems.take(() => parseEndpoint("STS_ENDPOINT", read(env, "STS_ENDPOINT") ?? "sts.tencentcloudapi.com", "sts.tencentcloudapi.com")),
      credentials: problems.take(() => parseStsCredentials(env, mode)),
      timeoutMs: problems.take(() => parseInteger("STS_TIMEOUT_MS", read(env, "STS_TIMEOUT_MS"), DEFAULT_STS_TIMEOUT_MS, 100, 30_000)),
      maxAttempts: problems.take(() => parseInteger("STS_MAX_ATTEMPTS", read(env, "STS_MAX_ATTEMPTS"), DEFAULT_STS_MAX_ATTEMPTS, 1, 5)),
    }),
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

export function parseDuration(env: Env, mode: StsConfig["mode"]): number {
  const value = read(env, "STS_DURATION_SECONDS");
  return parseInteger("STS_DURATION_SECONDS", value, DEFAULT_DURATION_SECONDS, MIN_DURATION_SECONDS, MAX_DURATION_SECONDS[mode], durationLimits(mode));
}

/** The longest lifetime STS gives in `mode`, in words, with whose key each limit applies to. */
export function durationLimits(mode: StsConfig["mode"]): string {
  return mode === "AssumeRole"
    ? `AssumeRole allows at most ${MAX_DURATION_SECONDS.AssumeRole} s`
    : `GetFederationToken allows at most ${MAX_DURATION_SECONDS.GetFederationToken} s with a sub-account's key, ${ROOT_FEDERATION_MAX_SECONDS} s with the root account's`;
}

/** Credential reuse; an explicit minimum above a credential's lifetime means it is never reused. */
export function parseCache(env: Env): CacheSettings {
  const problems = collectProblems();
  const minRemaining = read(env, "CREDENTIAL_CACHE_MIN_REMAINING_SECONDS");
  return problems.settle({
    maxEntries: problems.take(() =>
      parseInteger("CREDENTIAL_CACHE_MAX_ENTRIES", read(env, "CREDENTIAL_CACHE_MAX_ENTRIES"), DEFAULT_CACHE_MAX_ENTRIES, 0, 100_000, "0 turns reuse off"),
    ),
    minRemainingSeconds: problems.take(() =>
      minRemaining === undefined
        ? undefined
        : parseInteger(
            "CREDENTIAL_CACHE_MIN_REMAINING_SECONDS",
            minRemaining,
            600,
            MIN_DURATION_SECONDS,
            LONGEST_DURATION_SECONDS,
            "clients refetch below 60 s",
          ),
    ),
  });
}
