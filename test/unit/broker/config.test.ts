import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CONFIG_VARIABLES, loadConfig } from "../../../lib/broker/config.ts";
import { builtInProfiles } from "../../../lib/grant/profiles.ts";
import { ConfigProblems, type Env } from "../../../lib/shared/env.ts";
import { PLATFORM_VARIABLES } from "../../../lib/sts/settings.ts";

const base: Env = {
  COS_BUCKET: "examplebucket-1250000000",
  COS_REGION: "ap-guangzhou",
  // Beside real STS, a secret published in this repository is refused: this one is made now.
  JWT_SECRET: randomBytes(32).toString("base64"),
  STS_SECRET_ID: "test-id",
  STS_SECRET_KEY: "test-key",
};
const load = (over: Env) => loadConfig({ ...base, ...over });
const failure = (over: Env) => {
  try {
    load(over);
    return undefined;
  } catch (error) {
    return error as Error & { code?: string };
  }
};

describe("loadConfig", () => {
  it("reads a minimal configuration with documented defaults", () => {
    const config = load({});
    expect(config).toMatchObject({
      bucket: "examplebucket-1250000000",
      appid: "1250000000",
      region: "ap-guangzhou",
      durationSeconds: 900,
      corsOrigins: [],
      sts: { mode: "GetFederationToken", endpoint: { host: "sts.tencentcloudapi.com", protocol: "https://" }, timeoutMs: 3000, maxAttempts: 3 },
      jwt: {
        issuers: undefined,
        audience: undefined,
        secret: expect.any(Uint8Array),
        keySet: undefined,
        maxLifetimeSeconds: 86_400,
        clockToleranceSeconds: 30,
      },
      cache: { maxEntries: 1000, minRemainingSeconds: undefined },
      rateLimit: { perMinute: 60, burst: 20 },
    });
    expect(config.prefixTemplate.source).toBe("users/{sub}/");
  });

  it("takes the appid after the last dash", () => {
    expect(load({ COS_BUCKET: "my-photo-bucket-1300000001" }).appid).toBe("1300000001");
  });

  it("treats empty variables as unset", () => {
    expect(load({ STS_ROLE_ARN: "", PREFIX_TEMPLATE: "", STS_DURATION_SECONDS: " " }).sts.mode).toBe("GetFederationToken");
  });

  it("uses AssumeRole when STS_ROLE_ARN is set, with the execution role's key", () => {
    const config = loadConfig({
      COS_BUCKET: base.COS_BUCKET,
      COS_REGION: base.COS_REGION,
      JWT_JWKS_URL: "https://id.example.com/jwks.json",
      STS_ROLE_ARN: "qcs::cam::uin/100000000001:roleName/cos-uploader",
      TENCENTCLOUD_SECRETID: "id",
      TENCENTCLOUD_SECRETKEY: "key",
      TENCENTCLOUD_SESSIONTOKEN: "token",
      STS_DURATION_SECONDS: "43200",
    });
    expect(config.sts).toMatchObject({ mode: "AssumeRole", credentials: { kind: "execution-role" } });
    expect(config.durationSeconds).toBe(43200);
  });

  it("accepts a loopback emulator URL as STS_ENDPOINT", () => {
    expect(load({ STS_ENDPOINT: "http://127.0.0.1:9100" }).sts.endpoint).toEqual({ host: "127.0.0.1:9100", protocol: "http://" });
    expect(load({ STS_ENDPOINT: "sts.internal.tencentcloudapi.com" }).sts.endpoint).toEqual({ host: "sts.internal.tencentcloudapi.com", protocol: "https://" });
  });

  it.each<[string, Env, RegExp]>([
    ["missing bucket", { COS_BUCKET: undefined }, /COS_BUCKET is required/],
    ["bucket without appid", { COS_BUCKET: "examplebucket" }, /COS_BUCKET .*appid/],
    ["missing region", { COS_REGION: "" }, /COS_REGION is required/],
    ["bad region", { COS_REGION: "Guangzhou" }, /COS_REGION/],
    ["no JWT source", { JWT_SECRET: undefined }, /JWT_SECRET .*JWT_JWKS_URL/],
    ["short secret", { JWT_SECRET: "short" }, /JWT_SECRET is shorter than 32 bytes/],
    ["http JWKS off loopback", { JWT_SECRET: undefined, JWT_JWKS_URL: "http://id.example.com/jwks" }, /JWT_JWKS_URL must use https/],
    ["bad issuer URL", { JWT_SECRET: undefined, JWT_ISSUER: "not a url" }, /JWT_ISSUER is not a URL/],
    ["duration too short", { STS_DURATION_SECONDS: "60" }, /STS_DURATION_SECONDS .*120/],
    [
      "duration over federation max",
      { STS_DURATION_SECONDS: "129601" },
      /GetFederationToken allows at most 129600 s with a sub-account's key, 7200 s with the root account's/,
    ],
    ["duration over AssumeRole max", { STS_ROLE_ARN: "qcs::cam::uin/1:roleName/r", STS_DURATION_SECONDS: "43201" }, /AssumeRole allows at most 43200 s/],
    ["duration not a number", { STS_DURATION_SECONDS: "15m" }, /STS_DURATION_SECONDS/],
    ["bad role ARN", { STS_ROLE_ARN: "arn:aws:iam::1:role/x" }, /STS_ROLE_ARN is not a role ARN/],
    ["half a key", { STS_SECRET_KEY: undefined }, /STS_SECRET_KEY is missing/],
    ["no key at all", { STS_SECRET_ID: undefined, STS_SECRET_KEY: undefined }, /execution role/],
    [
      "federation with a temporary key",
      { STS_SECRET_ID: undefined, STS_SECRET_KEY: undefined, TENCENTCLOUD_SECRETID: "i", TENCENTCLOUD_SECRETKEY: "k", TENCENTCLOUD_SESSIONTOKEN: "t" },
      /permanent keys/,
    ],
    ["plain http STS off loopback", { STS_ENDPOINT: "http://sts.example.com" }, /STS_ENDPOINT must use https/],
    ["STS endpoint with a path", { STS_ENDPOINT: "https://sts.tencentcloudapi.com/x" }, /must not have a path/],
    ["CORS wildcard", { CORS_ORIGINS: "*" }, /CORS_ORIGINS must not be \*/],
    ["CORS origin with path", { CORS_ORIGINS: "https://app.example.com/" }, /not an origin/],
    ["bad prefix template", { PREFIX_TEMPLATE: "shared/" }, /PREFIX_TEMPLATE .*per-user/],
    ["bad COS endpoint", { COS_ENDPOINT: "ftp://x" }, /COS_ENDPOINT/],
    ["bad STS timeout", { STS_TIMEOUT_MS: "0" }, /STS_TIMEOUT_MS/],
    ["bad policy length limit", { STS_MAX_POLICY_LENGTH: "100" }, /STS_MAX_POLICY_LENGTH must be a whole number from 512/],
    ["profiles that are not JSON", { STS_PROFILES: "{avatar" }, /STS_PROFILES is not valid JSON/],
    ["a profile breaking a lint rule", { STS_PROFILES: '{"x": {"actions": ["name/cos:*"]}}' }, /STS_PROFILES: profile 'x' breaks rule wildcard-action/],
    ["no STS attempt", { STS_MAX_ATTEMPTS: "0" }, /STS_MAX_ATTEMPTS must be a whole number from 1 to 5/],
    ["too many STS attempts", { STS_MAX_ATTEMPTS: "9" }, /STS_MAX_ATTEMPTS/],
    ["a negative cache size", { CREDENTIAL_CACHE_MAX_ENTRIES: "-1" }, /CREDENTIAL_CACHE_MAX_ENTRIES .*0 turns reuse off/],
    ["reuse under two minutes", { CREDENTIAL_CACHE_MIN_REMAINING_SECONDS: "60" }, /CREDENTIAL_CACHE_MIN_REMAINING_SECONDS must be a whole number from 120/],
    [
      "reuse longer than any lifetime",
      { CREDENTIAL_CACHE_MIN_REMAINING_SECONDS: "129601" },
      /CREDENTIAL_CACHE_MIN_REMAINING_SECONDS must be a whole number from 120 to 129600/,
    ],
    ["a zero rate", { RATE_LIMIT_PER_MINUTE: "0" }, /RATE_LIMIT_PER_MINUTE/],
    ["a fractional rate", { RATE_LIMIT_PER_MINUTE: "0.5" }, /RATE_LIMIT_PER_MINUTE/],
    ["a zero burst", { RATE_LIMIT_BURST: "0" }, /RATE_LIMIT_BURST/],
  ])("refuses %s with a ConfigError naming the variable and the fix", (_why, over, message) => {
    const error = failure(over);
    expect(error?.code).toBe("ConfigError");
    expect(error?.message).toMatch(message);
    expect(error?.message).toMatch(/: \S/);
  });

  it("reports every bad variable at once, each naming its fix", () => {
    const error = failure({
      COS_BUCKET: undefined,
      COS_REGION: "Guangzhou",
      JWT_SECRET: "short",
      STS_TIMEOUT_MS: "0",
      STS_MAX_ATTEMPTS: "9",
      CREDENTIAL_CACHE_MAX_ENTRIES: "-1",
      RATE_LIMIT_BURST: "0",
    });
    expect(error).toBeInstanceOf(ConfigProblems);
    const { problems } = error as ConfigProblems;
    const named = problems.map((problem) => problem.split(" ")[0]);
    expect(named).toEqual(["COS_BUCKET", "COS_REGION", "STS_TIMEOUT_MS", "STS_MAX_ATTEMPTS", "JWT_SECRET", "CREDENTIAL_CACHE_MAX_ENTRIES", "RATE_LIMIT_BURST"]);
    for (const problem of problems) expect(problem).toMatch(/: \S/);
    expect(error?.message).toBe(`7 configuration problems: ${problems.join(" | ")}`);
  });

  it("one bad variable is reported alone, as it always was", () => {
    expect(failure({ COS_BUCKET: undefined })?.message).toMatch(/^COS_BUCKET is required: set it/);
  });

  it("accepts GetFederationToken lifetimes up to a sub-account's 129600 s", () => {
    expect(load({ STS_DURATION_SECONDS: "129600" }).durationSeconds).toBe(129_600);
    expect(load({ STS_PROFILES: JSON.stringify({ a: { actions: ["GetObject"], durationSeconds: 86_400 } }) }).profiles.get("a")?.durationSeconds).toBe(86_400);
  });

  it("never echoes a secret value", () => {
    const error = failure({ JWT_SECRET: "tiny-secret-value" });
    expect(error?.message).not.toContain("tiny-secret-value");
  });

  it("reads the retry, reuse and rate-limit settings", () => {
    const config = load({
      STS_MAX_ATTEMPTS: "1",
      CREDENTIAL_CACHE_MAX_ENTRIES: "0",
      CREDENTIAL_CACHE_MIN_REMAINING_SECONDS: "900",
      RATE_LIMIT_PER_MINUTE: "600",
      RATE_LIMIT_BURST: "5",
    });
    expect(config.sts.maxAttempts).toBe(1);
    expect(config.cache).toEqual({ maxEntries: 0, minRemainingSeconds: 900 });
    expect(config.rateLimit).toEqual({ perMinute: 600, burst: 5 });
  });

  it("parses CORS origins and audiences as lists", () => {
    const config = load({ CORS_ORIGINS: "https://a.example, http://localhost:5173", JWT_AUDIENCE: "app, admin" });
    expect(config.corsOrigins).toEqual(["https://a.example", "http://localhost:5173"]);
    expect(config.jwt?.audience).toEqual(["app", "admin"]);
  });

  it("reads no variable outside CONFIG_VARIABLES and PLATFORM_VARIABLES, on every path", () => {
    const listed = new Set<string>([...CONFIG_VARIABLES, ...PLATFORM_VARIABLES]);
    const read = new Set<string>();
    const recording = (over: Env): Env =>
      new Proxy(
        { ...base, ...over },
        {
          get: (target, name) => {
            read.add(String(name));
            return target[String(name)];
          },
        },
      );
    const role = { STS_SECRET_ID: undefined, STS_SECRET_KEY: undefined, TENCENTCLOUD_SECRETID: "i", TENCENTCLOUD_SECRETKEY: "k" };
    loadConfig(recording({ CORS_ORIGINS: "https://a.example", COS_ENDPOINT: "http://127.0.0.1:9", STS_TIMEOUT_MS: "500", STS_ENDPOINT: "http://127.0.0.1:9" }));
    loadConfig(recording({ JWT_SECRET: undefined, JWT_JWKS_URL: "https://idp.example/jwks", JWT_AUDIENCE: "a", PREFIX_TEMPLATE: "u/{sub_hash}/" }));
    loadConfig(
      recording({
        JWT_SECRET: undefined,
        JWT_ISSUER: "https://idp.example",
        STS_ROLE_ARN: "qcs::cam::uin/1:roleName/r",
        STS_DURATION_SECONDS: "600",
        ...role,
        TENCENTCLOUD_SESSIONTOKEN: "t",
      }),
    );
    loadConfig(recording(role));
    const wechat = { WECHAT_APPID: "wx1234567890abcdef", WECHAT_APP_SECRET: randomBytes(16).toString("hex"), WECHAT_API_ENDPOINT: "api2.weixin.qq.com" };
    loadConfig(recording({ ...wechat, WECHAT_PREFIX_TEMPLATE: "mini/{openid}/" }));
    expect([...read].filter((name) => !listed.has(name))).toEqual([]);
    expect([...listed].filter((name) => !read.has(name))).toEqual([]);
  });
});

describe("loadConfig: profiles", () => {
  const writeProfiles = (text: string) => {
    const path = join(mkdtempSync(join(tmpdir(), "profiles-")), "profiles.json");
    writeFileSync(path, text);
    return path;
  };
  const avatar = JSON.stringify({ avatar: { actions: ["PutObject"], extensions: ["png"] } });
  afterEach(() => {
    delete (globalThis as { __STS_PROFILES_JSON__?: string }).__STS_PROFILES_JSON__;
  });

  it("uses the built-ins, with the documented policy limit, when nothing is configured", () => {
    const config = load({});
    expect(config.profiles).toBe(builtInProfiles);
    expect(config.profileWarnings).toEqual([]);
    expect(config.maxPolicyLength).toBe(2048);
  });

  it("reads inline STS_PROFILES and a STS_PROFILES_FILE from disk", () => {
    expect(load({ STS_PROFILES: avatar }).profiles.get("avatar")?.extensions).toEqual(["png"]);
    expect(load({ STS_PROFILES_FILE: writeProfiles(avatar) }).profiles.get("avatar")?.extensions).toEqual(["png"]);
    expect(load({ STS_PROFILES_FILE: "examples/profiles.json" }).profileWarnings).toMatchObject([{ profile: "public-read", rule: "shared-area" }]);
  });

  it("prefers the copy the build bundled, so a deployed function reads no file", () => {
    (globalThis as { __STS_PROFILES_JSON__?: string }).__STS_PROFILES_JSON__ = avatar;
    expect(load({ STS_PROFILES_FILE: "/nonexistent/profiles.json" }).profiles.has("avatar")).toBe(true);
    expect(load({}).profiles.has("avatar")).toBe(true);
    expect(failure({ STS_PROFILES: avatar })?.message).toMatch(/STS_PROFILES and STS_PROFILES_FILE are both set/);
  });

  it.each<[string, Env, RegExp]>([
    ["both sources", { STS_PROFILES: avatar, STS_PROFILES_FILE: "x.json" }, /STS_PROFILES and STS_PROFILES_FILE are both set/],
    [
      "inline profiles over the platform's 4 KB cap",
      { STS_PROFILES: JSON.stringify({ a: { actions: ["GetObject"], resources: ["x".repeat(4100)] } }) },
      /STS_PROFILES is \d+ bytes, more than the platform's 4 KB cap .*: move the profiles to a JSON file and set STS_PROFILES_FILE/,
    ],
    ["an unreadable file", { STS_PROFILES_FILE: "/nonexistent/profiles.json" }, /STS_PROFILES_FILE names a file that cannot be read \(ENOENT\)/],
    [
      "a profile over the API's duration limit",
      { STS_PROFILES: JSON.stringify({ a: { actions: ["GetObject"], durationSeconds: 129_601 } }) },
      /profile 'a' breaks rule duration-out-of-range/,
    ],
  ])("refuses %s", (_why, over, message) => {
    const error = failure(over);
    expect(error?.code).toBe("ConfigError");
    expect(error?.message).toMatch(message);
  });

  it("allows AssumeRole's longer lifetime in a profile", () => {
    const config = load({
      STS_ROLE_ARN: "qcs::cam::uin/100000000001:roleName/r",
      STS_PROFILES: JSON.stringify({ a: { actions: ["GetObject"], durationSeconds: 43_200 } }),
    });
    expect(config.profiles.get("a")?.durationSeconds).toBe(43_200);
  });

  it("refuses, naming profile and rule, a profile whose policy cannot fit for the longest prefix", () => {
    const many = { actions: ["GetObject"], resources: Array.from({ length: 12 }, (_, i) => `folder-${i}/`) };
    expect(failure({ STS_PROFILES: JSON.stringify({ many }) })?.message).toMatch(
      /STS_PROFILES: profile 'many' breaks rule policy-too-long \(its policy reaches \d+ characters .* over the limit of 2048\)/,
    );
    expect(load({ STS_PROFILES: JSON.stringify({ many }), STS_MAX_POLICY_LENGTH: "8192" }).maxPolicyLength).toBe(8192);
    // Built-ins can only outgrow it through a long template, and then that is what is named.
    expect(failure({ STS_MAX_POLICY_LENGTH: "512" })?.message).toMatch(/PREFIX_TEMPLATE: profile '(read-write|upload)' breaks rule policy-too-long/);
  });
});

describe("loadConfig: WeChat login", () => {
  const wechat = { WECHAT_APPID: "wx1234567890abcdef", WECHAT_APP_SECRET: randomBytes(16).toString("hex") };
  const avatars = (prefix: string) => JSON.stringify({ avatar: { actions: ["PutObject"], prefix } });

  it("runs on WeChat login alone, its users under wx/{openid}/", () => {
    const config = load({ ...wechat, JWT_SECRET: "" });
    expect(config.jwt).toBeUndefined();
    expect(config.wechat).toMatchObject({ login: { appid: wechat.WECHAT_APPID }, prefixTemplate: { source: "wx/{openid}/" } });
    expect(failure({ JWT_SECRET: "" })?.message).toMatch(/or WECHAT_APPID and WECHAT_APP_SECRET for WeChat login alone/);
  });

  it.each<[string, Env, RegExp]>([
    [
      "a claim WeChat users do not have",
      { WECHAT_PREFIX_TEMPLATE: "wx/{tenant}/{openid}/" },
      /^WECHAT_PREFIX_TEMPLATE has \{tenant\}, which WeChat users do not have/,
    ],
    [
      "no per-user placeholder",
      { WECHAT_PREFIX_TEMPLATE: "wx/" },
      /^WECHAT_PREFIX_TEMPLATE is not usable \(it has no per-user placeholder: include \{sub\} or \{sub_hash\} or \{openid\} or \{unionid\}\)/,
    ],
    [
      "the same area as login-token users",
      { WECHAT_PREFIX_TEMPLATE: "users/{openid}/" },
      /^WECHAT_PREFIX_TEMPLATE breaks rule prefix-overlap .*PREFIX_TEMPLATE 'users\/\{sub\}\/' for login-token users/,
    ],
    [
      "an openid that can name login-token users' area",
      { WECHAT_PREFIX_TEMPLATE: "{openid}/" },
      /prefix-overlap .*segment 1 is '\{openid\}' in one and 'users' in the other/,
    ],
    [
      "a {sub} both sources fill in",
      { STS_PROFILES: avatars("avatars/{sub}/") },
      /^STS_PROFILES: profile 'avatar' breaks rule prefix-overlap .*'avatars\/\{sub\}\/' for .* users can be or hold another user's area under profile 'avatar' prefix 'avatars\/\{sub\}\/' for/,
    ],
  ])("refuses %s", (_why, over, expected) => {
    expect(failure({ ...wechat, ...over })?.message).toMatch(expected);
  });

  it("takes templates that keep the two sources apart", () => {
    expect(load({ ...wechat, STS_PROFILES: avatars("avatars/{sub_hash}/") }).wechat?.prefixTemplate.source).toBe("wx/{openid}/");
    expect(
      load({
        ...wechat,
        WECHAT_PREFIX_TEMPLATE: "mini/{unionid}/",
        STS_PROFILES: JSON.stringify({ pub: { actions: ["GetObject"], prefix: "public/", shared: true } }),
      }),
    ).toBeTruthy();
    // A {sub} template is fine while only one source fills it in.
    expect(load({ ...wechat, JWT_SECRET: "", STS_PROFILES: avatars("avatars/{sub}/") }).jwt).toBeUndefined();
  });
});
