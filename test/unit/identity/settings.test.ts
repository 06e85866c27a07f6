import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEV_JWT_SECRET } from "../../../dev/defaults.ts";
import { parseJwt } from "../../../lib/identity/settings.ts";
import type { Env } from "../../../lib/shared/env.ts";
import { projectFiles, ROOT } from "../../docs/blocks.ts";
import { codeOf } from "../../support/outcome.ts";
import { TEST_SECRET } from "../../support/tokens.ts";

const secret = randomBytes(32).toString("base64");
const parse = (env: Env, localSts = false) => parseJwt(env, { localSts });
const message = (run: () => unknown) => {
  try {
    run();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
};

describe("parseJwt: the key sources", () => {
  it("reads a secret alone, with the documented defaults", () => {
    expect(parse({ JWT_SECRET: secret })).toEqual({
      issuers: undefined,
      audience: undefined,
      requiredClaims: new Map(),
      maxLifetimeSeconds: 86_400,
      clockToleranceSeconds: 30,
      secret: new TextEncoder().encode(secret),
      keySet: undefined,
    });
  });

  it("takes a secret and a JWKS together, each for its own algorithm family", () => {
    const config = parse({ JWT_SECRET: secret, JWT_JWKS_URL: "https://id.example/jwks.json" });
    expect(config.secret).toBeDefined();
    expect(config.keySet).toEqual({ source: "jwks", url: new URL("https://id.example/jwks.json") });
  });

  it("discovers keys from the first issuer of a list, and only when no secret or JWKS is set", () => {
    const issuers = "https://accounts.google.com, accounts.google.com";
    expect(parse({ JWT_ISSUER: issuers })).toMatchObject({
      issuers: ["https://accounts.google.com", "accounts.google.com"],
      keySet: { source: "discovery", issuer: "https://accounts.google.com" },
    });
    expect(parse({ JWT_ISSUER: issuers, JWT_SECRET: secret }).keySet).toBeUndefined();
    expect(parse({ JWT_ISSUER: issuers, JWT_JWKS_URL: "https://id.example/keys" }).keySet).toMatchObject({ source: "jwks" });
  });

  it.each<[string, Env, RegExp]>([
    ["no source", {}, /JWT_SECRET is not set, nor JWT_JWKS_URL, nor JWT_ISSUER/],
    ["a discovery issuer that is no URL", { JWT_ISSUER: "accounts.google.com,https://accounts.google.com" }, /JWT_ISSUER is not a URL/],
    ["a control character in an issuer", { JWT_SECRET: secret, JWT_ISSUER: "a\u0000b" }, /JWT_ISSUER holds a control character/],
    ["a short secret", { JWT_SECRET: "short" }, /JWT_SECRET is shorter than 32 bytes/],
  ])("refuses %s", (_why, env, pattern) => {
    expect(message(() => parse(env))).toMatch(pattern);
    expect(codeOf(() => parse(env))).toBe("ConfigError");
  });
});

describe("parseJwt: claim rules", () => {
  it("reads JWT_REQUIRED_CLAIMS as claim=value pairs, values as written", () => {
    const config = parse({ JWT_SECRET: secret, JWT_REQUIRED_CLAIMS: " token_use=id, azp=https://app.example.com ,is_anonymous=false,cognito:groups=a=b" });
    expect(config.requiredClaims).toEqual(
      new Map([
        ["token_use", "id"],
        ["azp", "https://app.example.com"],
        ["is_anonymous", "false"],
        ["cognito:groups", "a=b"],
      ]),
    );
  });

  it("reads the lifetime and the tolerance", () => {
    expect(parse({ JWT_SECRET: secret, JWT_MAX_TOKEN_LIFETIME_SECONDS: "1209600", JWT_CLOCK_TOLERANCE_SECONDS: "0" })).toMatchObject({
      maxLifetimeSeconds: 1_209_600,
      clockToleranceSeconds: 0,
    });
  });

  it.each<[string, Env, RegExp]>([
    ["a pair without =", { JWT_REQUIRED_CLAIMS: "token_use" }, /JWT_REQUIRED_CLAIMS has 'token_use', which is not claim=value: write a comma list/],
    ["an empty value", { JWT_REQUIRED_CLAIMS: "azp=" }, /not claim=value/],
    ["an empty name", { JWT_REQUIRED_CLAIMS: "=x" }, /not claim=value/],
    ["a claim twice", { JWT_REQUIRED_CLAIMS: "azp=a,azp=b" }, /JWT_REQUIRED_CLAIMS names 'azp' twice/],
    ["a lifetime under a minute", { JWT_MAX_TOKEN_LIFETIME_SECONDS: "30" }, /JWT_MAX_TOKEN_LIFETIME_SECONDS must be a whole number from 60/],
    ["a lifetime in milliseconds", { JWT_MAX_TOKEN_LIFETIME_SECONDS: "86400000" }, /JWT_MAX_TOKEN_LIFETIME_SECONDS/],
    ["a tolerance of ten minutes", { JWT_CLOCK_TOLERANCE_SECONDS: "600" }, /JWT_CLOCK_TOLERANCE_SECONDS must be a whole number from 0 to 300/],
  ])("refuses %s", (_why, env, pattern) => {
    expect(message(() => parse({ JWT_SECRET: secret, ...env }))).toMatch(pattern);
  });
});

/**
 * Every JWT secret written in this repository, found the way a reader finds them: a constant
 * named *SECRET, or a JWT_SECRET value in code, docs or an example (`"x".repeat(32)` too).
 */
function publishedSecrets(): Map<string, string> {
  const found = new Map<string, string>();
  const files = projectFiles((file) => /\.(ts|js|mjs|cjs|md|json|ya?ml|html|env|example)$/.test(file) && file !== "package-lock.json");
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), "utf8");
    for (const [, , value] of text.matchAll(/\b(?:[A-Z][A-Z0-9_]*_)?SECRET\s*[:=]\s*(["'`])([^"'`\n]{32,})\1/g)) found.set(value!, file);
    for (const [, value] of text.matchAll(/\bJWT_SECRET=([^\s"'`$<]{32,})/g)) found.set(value!, file);
    for (const [, char, count] of text.matchAll(/\bJWT_SECRET\s*[:=]\s*"(.)"\.repeat\((\d+)\)/g)) found.set(char!.repeat(Number(count)), file);
  }
  return found;
}

describe("secrets published in this repository", () => {
  const published = publishedSecrets();

  it("are found: the dev secret, the tests' and the benchmark's among them", () => {
    expect([...published.keys()]).toEqual(expect.arrayContaining([DEV_JWT_SECRET, TEST_SECRET]));
    expect(published.size).toBeGreaterThan(3);
  });

  it("are refused whenever STS is not the local emulator, and accepted beside it", () => {
    for (const [value, file] of published) {
      const env = { JWT_SECRET: value };
      expect(message(() => parse(env)) ?? "accepted", `${file}: a secret published there must be in lib/identity/settings.ts`).toMatch(
        /^JWT_SECRET is a secret published in this repository .*: use a random secret of your own/,
      );
      expect(
        message(() => parse(env, true)),
        file,
      ).toBeUndefined();
    }
  });

  it("never shows the secret in the message", () => {
    expect(message(() => parse({ JWT_SECRET: DEV_JWT_SECRET }))).not.toContain(DEV_JWT_SECRET);
  });
});

describe("parseJwt: several problems", () => {
  it("are reported at once", () => {
    const env = { JWT_SECRET: "short", JWT_REQUIRED_CLAIMS: "azp", JWT_CLOCK_TOLERANCE_SECONDS: "600" };
    const problems = (() => {
      try {
        parse(env);
        return [];
      } catch (error) {
        return (error as { problems?: readonly string[] }).problems ?? [];
      }
    })();
    expect(problems).toEqual([
      expect.stringMatching(/^JWT_REQUIRED_CLAIMS has 'azp'/),
      expect.stringMatching(/^JWT_CLOCK_TOLERANCE_SECONDS must be/),
      expect.stringMatching(/^JWT_SECRET is shorter than 32 bytes/),
    ]);
  });
});
