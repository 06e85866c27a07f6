/**
 * Environment -> validated, typed configuration, once per instance (cold start). Each module
 * owns its settings (identity, STS, grant); this file reads the rest and assembles them.
 * Every refusal names the variable and the fix, and never echoes a secret value.
 */
import { readFileSync } from "node:fs";
import type { BucketRef } from "../cam/policy.ts";
import { checkAreasApart, type IdentityArea } from "../grant/areas.ts";
import type { GrantSettings } from "../grant/compose.ts";
import { longestPolicyLength } from "../grant/policy.ts";
import { compilePrefixTemplate, PER_USER, type PrefixTemplate } from "../grant/prefix.ts";
import { builtInProfiles, type Profile, type ProfileWarning, parseProfiles, profileRuleError } from "../grant/profiles.ts";
import type { VerifiedClaims } from "../identity/claims.ts";
import { hasJwtSource, JWT_VARIABLES, type JwtConfig, parseJwt } from "../identity/settings.ts";
import { isWechatIdentity, WECHAT_CLAIMS, type WechatConfig } from "../identity/wechat.ts";
import { parseWechat, WECHAT_VARIABLES } from "../identity/wechat-settings.ts";
import { collectProblems, configError, type Env, isLoopbackHost, parseInteger, readVar } from "../shared/env.ts";
import type { CacheSettings } from "../sts/settings.ts";
import { MAX_DURATION_SECONDS, MIN_DURATION_SECONDS, parseCache, parseDuration, parseSts, STS_VARIABLES, type StsConfig, stsMode } from "../sts/settings.ts";
import type { RateLimit } from "./rate-limit.ts";

export interface Config extends GrantSettings {
  /** Login tokens; absent when only WeChat login is on. */
  readonly jwt: JwtConfig | undefined;
  /** WeChat login and the template its users' prefixes come from; absent when it is off. */
  readonly wechat: { readonly login: WechatConfig; readonly prefixTemplate: PrefixTemplate } | undefined;
  readonly sts: StsConfig;
  readonly corsOrigins: readonly string[];
  readonly cosEndpoint: string | undefined;
  /** Lint findings that do not stop the broker (an explicitly shared area); logged at cold start. */
  readonly profileWarnings: readonly ProfileWarning[];
  readonly cache: CacheSettings;
  readonly rateLimit: RateLimit;
}

/** Tencent documents no limit (only InvalidParameter.PolicyTooLong); peers stay under 2048 characters. */
const DEFAULT_MAX_POLICY_LENGTH = 2048;
/** SCF caps all environment variables of a function together at 4 KB (docs/deploy.md). */
const PLATFORM_ENV_BYTES = 4096;
const DEFAULT_RATE_PER_MINUTE = 60;
const DEFAULT_RATE_BURST = 20;

const BROKER_VARIABLES = [
  "COS_BUCKET",
  "COS_REGION",
  "PREFIX_TEMPLATE",
  "WECHAT_PREFIX_TEMPLATE",
  "STS_MAX_POLICY_LENGTH",
  "STS_PROFILES",
  "STS_PROFILES_FILE",
  "CORS_ORIGINS",
  "COS_ENDPOINT",
  "RATE_LIMIT_PER_MINUTE",
  "RATE_LIMIT_BURST",
] as const;
/** Every variable an operator may set; loadConfig reads no other (serverless.yml is tested against it). */
export const CONFIG_VARIABLES: readonly string[] = [...BROKER_VARIABLES, ...JWT_VARIABLES, ...WECHAT_VARIABLES, ...STS_VARIABLES];
/** The placeholders that name one WeChat user. */
const WECHAT_PER_USER: ReadonlySet<string> = new Set([...PER_USER, ...WECHAT_CLAIMS]);
/** readVar limited to the list above, so this file cannot read a variable it does not name. */
const read: (env: Env, name: (typeof BROKER_VARIABLES)[number]) => string | undefined = readVar;

/** Every problem found is reported at once (ConfigProblems), so one start shows them all. */
export function loadConfig(env: Env): Config {
  const problems = collectProblems();
  const bucketParts = problems.take(() => parseBucket(read(env, "COS_BUCKET")));
  const region = problems.take(() => parseRegion(read(env, "COS_REGION")));
  const sts = problems.take(() => parseSts(env, problems.valueOr(region, "")));
  // The mode bounds durations; without a valid STS configuration, what STS_ROLE_ARN implies.
  const mode = problems.valueOr(sts, undefined)?.mode ?? stsMode(env);
  // A secret this repository publishes signs only beside a local STS emulator.
  const rules = { localSts: isLoopbackHost(problems.valueOr(sts, undefined)?.endpoint.host ?? "") };
  const wechatLogin = problems.take(() => parseWechat(env, rules));
  const wechatOn = problems.valueOr(wechatLogin, undefined) !== undefined;
  const {
    bucketParts: bucket,
    loaded,
    perMinute,
    burst,
    wechatLogin: login,
    wechatTemplate,
    ...settings
  } = problems.settle({
    bucketParts,
    region,
    sts,
    // A mini-program with no backend has no login tokens: WeChat login alone is enough.
    jwt: problems.take(() => (wechatOn && !hasJwtSource(env) ? undefined : parseJwt(env, rules))),
    wechatLogin,
    prefixTemplate: problems.take(() => parsePrefixTemplate("PREFIX_TEMPLATE", read(env, "PREFIX_TEMPLATE") ?? "users/{sub}/")),
    wechatTemplate: problems.take(() => (wechatOn ? parseWechatTemplate(read(env, "WECHAT_PREFIX_TEMPLATE") ?? "wx/{openid}/") : undefined)),
    maxPolicyLength: problems.take(() => parseInteger("STS_MAX_POLICY_LENGTH", read(env, "STS_MAX_POLICY_LENGTH"), DEFAULT_MAX_POLICY_LENGTH, 512, 16_384)),
    loaded: problems.take(() => loadProfiles(env, mode)),
    durationSeconds: problems.take(() => parseDuration(env, mode)),
    corsOrigins: problems.take(() => parseOrigins(read(env, "CORS_ORIGINS"))),
    cosEndpoint: problems.take(() => parseOptionalUrl("COS_ENDPOINT", read(env, "COS_ENDPOINT"))),
    cache: problems.take(() => parseCache(env)),
    perMinute: problems.take(() => parseInteger("RATE_LIMIT_PER_MINUTE", read(env, "RATE_LIMIT_PER_MINUTE"), DEFAULT_RATE_PER_MINUTE, 1, 60_000)),
    burst: problems.take(() => parseInteger("RATE_LIMIT_BURST", read(env, "RATE_LIMIT_BURST"), DEFAULT_RATE_BURST, 1, 10_000)),
  });
  const wechat = login && wechatTemplate && { login, prefixTemplate: wechatTemplate };
  const areas: IdentityArea[] = [
    ...(settings.jwt ? [{ template: settings.prefixTemplate, variable: "PREFIX_TEMPLATE", users: "login-token users" }] : []),
    ...(wechat ? [{ template: wechat.prefixTemplate, variable: "WECHAT_PREFIX_TEMPLATE", users: "WeChat users", perUserClaims: WECHAT_PER_USER }] : []),
  ];
  // These need every value above, so they run once they are all valid.
  checkAreasApart(loaded.profiles, areas, loaded.variable);
  for (const area of areas)
    checkPolicyLengths(loaded.profiles, loaded.variable, { ...bucket, region: settings.region }, area.template, settings.maxPolicyLength);
  return { ...bucket, ...settings, wechat, profiles: loaded.profiles, profileWarnings: loaded.warnings, rateLimit: { perMinute, burst } };
}

/** What composes this identity's grants: WeChat users' prefixes come from WECHAT_PREFIX_TEMPLATE. */
export function grantSettingsFor(config: Config, claims: VerifiedClaims): GrantSettings {
  return isWechatIdentity(claims) && config.wechat ? { ...config, prefixTemplate: config.wechat.prefixTemplate } : config;
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
    throw configError(
      "STS_PROFILES",
      `is ${Buffer.byteLength(inline)} bytes, more than the platform's 4 KB cap on all variables together`,
      "move the profiles to a JSON file and set STS_PROFILES_FILE at build time",
    );
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
  // The appid is the text after the last "-" (docs/contract.md, How users are kept apart).
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

function parsePrefixTemplate(variable: string, value: string, perUserClaims?: ReadonlySet<string>): PrefixTemplate {
  try {
    return compilePrefixTemplate(value, { perUserClaims });
  } catch (error) {
    const example = perUserClaims ? "wx/{openid}/ or wx/{unionid}/" : "users/{sub}/ or users/{sub_hash}/";
    throw configError(variable, `is not usable (${(error as Error).message})`, `e.g. ${example}`);
  }
}

/** WeChat users have no claims but these: a template naming another would refuse every one of them. */
function parseWechatTemplate(value: string): PrefixTemplate {
  const template = parsePrefixTemplate("WECHAT_PREFIX_TEMPLATE", value, WECHAT_PER_USER);
  const other = template.segments.find((segment) => "claim" in segment && !WECHAT_PER_USER.has(segment.claim));
  if (other && "claim" in other) {
    throw configError(
      "WECHAT_PREFIX_TEMPLATE",
      `has {${other.claim}}, which WeChat users do not have`,
      "use {openid}, {unionid}, {sub} (the openid) or {sub_hash}",
    );
  }
  return template;
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
