import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES, loadConfig, PLATFORM_VARIABLES, type Env } from "../lib/config.ts";

const base: Env = {
  COS_BUCKET: "examplebucket-1250000000",
  COS_REGION: "ap-guangzhou",
  JWT_SECRET: "x".repeat(32),
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
      sts: { mode: "GetFederationToken", endpoint: { host: "sts.tencentcloudapi.com", protocol: "https://" }, timeoutMs: 3000 },
      jwt: { source: "secret" },
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
    ["secret and JWKS together", { JWT_JWKS_URL: "https://id.example.com/jwks" }, /both set/],
    ["http JWKS off loopback", { JWT_SECRET: undefined, JWT_JWKS_URL: "http://id.example.com/jwks" }, /JWT_JWKS_URL must use https/],
    ["bad issuer URL", { JWT_SECRET: undefined, JWT_ISSUER: "not a url" }, /JWT_ISSUER is not a URL/],
    ["duration too short", { STS_DURATION_SECONDS: "60" }, /STS_DURATION_SECONDS .*120/],
    ["duration over federation max", { STS_DURATION_SECONDS: "7201" }, /GetFederationToken allows at most 7200/],
    ["duration not a number", { STS_DURATION_SECONDS: "15m" }, /STS_DURATION_SECONDS/],
    ["bad role ARN", { STS_ROLE_ARN: "arn:aws:iam::1:role/x" }, /STS_ROLE_ARN is not a role ARN/],
    ["half a key", { STS_SECRET_KEY: undefined }, /STS_SECRET_KEY is missing/],
    ["no key at all", { STS_SECRET_ID: undefined, STS_SECRET_KEY: undefined }, /execution role/],
    ["federation with a temporary key", { STS_SECRET_ID: undefined, STS_SECRET_KEY: undefined, TENCENTCLOUD_SECRETID: "i", TENCENTCLOUD_SECRETKEY: "k", TENCENTCLOUD_SESSIONTOKEN: "t" }, /permanent keys/],
    ["plain http STS off loopback", { STS_ENDPOINT: "http://sts.example.com" }, /STS_ENDPOINT must use https/],
    ["STS endpoint with a path", { STS_ENDPOINT: "https://sts.tencentcloudapi.com/x" }, /must not have a path/],
    ["CORS wildcard", { CORS_ORIGINS: "*" }, /CORS_ORIGINS must not be \*/],
    ["CORS origin with path", { CORS_ORIGINS: "https://app.example.com/" }, /not an origin/],
    ["bad prefix template", { PREFIX_TEMPLATE: "shared/" }, /PREFIX_TEMPLATE .*per-user/],
    ["bad COS endpoint", { COS_ENDPOINT: "ftp://x" }, /COS_ENDPOINT/],
    ["bad STS timeout", { STS_TIMEOUT_MS: "0" }, /STS_TIMEOUT_MS/],
  ])("refuses %s with a ConfigError naming the variable and the fix", (_why, over, message) => {
    const error = failure(over);
    expect(error?.code).toBe("ConfigError");
    expect(error?.message).toMatch(message);
    expect(error?.message).toMatch(/: \S/);
  });

  it("never echoes a secret value", () => {
    const error = failure({ JWT_SECRET: "tiny-secret-value" });
    expect(error?.message).not.toContain("tiny-secret-value");
  });

  it("parses CORS origins and audiences as lists", () => {
    const config = load({ CORS_ORIGINS: "https://a.example, http://localhost:5173", JWT_AUDIENCE: "app, admin" });
    expect(config.corsOrigins).toEqual(["https://a.example", "http://localhost:5173"]);
    expect(config.jwt.audience).toEqual(["app", "admin"]);
  });

  it("reads no variable outside CONFIG_VARIABLES and PLATFORM_VARIABLES, on every path", () => {
    const listed = new Set<string>([...CONFIG_VARIABLES, ...PLATFORM_VARIABLES]);
    const read = new Set<string>();
    const recording = (over: Env): Env =>
      new Proxy({ ...base, ...over }, { get: (target, name) => (read.add(String(name)), target[String(name)]) });
    const role = { STS_SECRET_ID: undefined, STS_SECRET_KEY: undefined, TENCENTCLOUD_SECRETID: "i", TENCENTCLOUD_SECRETKEY: "k" };
    loadConfig(recording({ CORS_ORIGINS: "https://a.example", COS_ENDPOINT: "http://127.0.0.1:9", STS_TIMEOUT_MS: "500", STS_ENDPOINT: "http://127.0.0.1:9" }));
    loadConfig(recording({ JWT_SECRET: undefined, JWT_JWKS_URL: "https://idp.example/jwks", JWT_AUDIENCE: "a", PREFIX_TEMPLATE: "u/{sub_hash}/" }));
    loadConfig(recording({ JWT_SECRET: undefined, JWT_ISSUER: "https://idp.example", STS_ROLE_ARN: "qcs::cam::uin/1:roleName/r", STS_DURATION_SECONDS: "600", ...role, TENCENTCLOUD_SESSIONTOKEN: "t" }));
    loadConfig(recording(role));
    expect([...read].filter((name) => !listed.has(name))).toEqual([]);
    expect([...listed].filter((name) => !read.has(name))).toEqual([]);
  });
});
