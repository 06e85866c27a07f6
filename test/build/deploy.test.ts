/**
 * The deployer's parts that decide on their own: reading serverless.yml, merging a CORS rule,
 * masking what --dry-run prints, explaining API errors, judging the smoke request.
 * test/e2e/deploy.test.ts runs the whole of it against the emulators.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { describe, expect, it } from "vitest";
import { ENV_VARIABLES } from "../../functions/credential-check/index.ts";
import { ROOT } from "../../scripts/bundle.ts";
import { explain, masked } from "../../scripts/deploy/api.ts";
import { desiredRule, mergeRule } from "../../scripts/deploy/cors.ts";
import { DeployError } from "../../scripts/deploy/errors.ts";
import { smokeTest } from "../../scripts/deploy/smoke.ts";
import { loadSpec } from "../../scripts/deploy/spec.ts";
import { readYml, unsetSettings, YML_FILE, type Yml } from "../../scripts/deploy/yml.ts";
import { fakeClock } from "../support/clock.ts";

/** `${env:NAME}`, the yml's own syntax. */
const ref = (name: string) => `\${env:${name}}`;
const yml = (inputs: Partial<Yml["inputs"]> = {}, fn: Record<string, unknown> = {}): Yml => ({
  app: "app",
  stage: ref("STAGE"),
  component: "multi-scf",
  name: "svc",
  inputs: {
    src: { src: "./dist" },
    region: ref("COS_REGION"),
    runtime: "Nodejs20.19",
    memorySize: 256,
    functions: {
      one: {
        src: "./one",
        handler: "index.main_handler",
        role: ref("EXECUTION_ROLE"),
        environments: [
          { key: "A", value: ref("A") },
          { key: "B", value: ref("B") },
        ],
        ...fn,
      },
    },
    triggers: [],
    ...inputs,
  },
});
const ENV = { STAGE: "dev", COS_REGION: "ap-guangzhou", EXECUTION_ROLE: "exec", A: "a" };

describe("loadSpec", () => {
  it("fills the yml from the environment, keeps only the variables that are set, and applies the shared inputs", () => {
    const spec = loadSpec(yml(), { ...ENV, B: " " }, "/repo");
    expect(spec).toMatchObject({ stage: "dev", region: "ap-guangzhou" });
    expect(spec.functions[0]).toMatchObject({
      name: "svc-dev-app-one",
      memorySize: 256,
      role: "exec",
      environment: { A: "a" },
      codeDir: "/repo/dist/one",
      apiType: "Event",
    });
  });

  it("names every unset setting at once", () => {
    expect(() => loadSpec(yml(), { A: "a" }, "/repo")).toThrow(
      new DeployError("serverless.yml needs STAGE, COS_REGION, EXECUTION_ROLE: set them in the shell or in .env (docs/deploy.md)"),
    );
  });

  it("refuses function and trigger kinds it cannot deploy, and a timer without seven fields", () => {
    expect(() => loadSpec(yml({}, { type: "job" }), ENV, "/")).toThrow(/type job; npm run deploy deploys event, web functions/);
    expect(() => loadSpec(yml({}, { handler: undefined }), ENV, "/")).toThrow(/function one has no handler/);
    expect(() => loadSpec(yml({ triggers: [{ type: "apigw", function: "one" }] }), ENV, "/")).toThrow(/trigger type apigw is not deployed/);
    expect(() => loadSpec(yml({ triggers: [{ type: "timer", function: "one", parameters: { cronExpression: "*/5 * * * *" } }] }), ENV, "/")).toThrow(/7-field/);
    expect(() => loadSpec(yml({ triggers: [{ type: "http", function: "two" }] }), ENV, "/")).toThrow(/names function two/);
  });
});

describe("loadSpec, a web function", () => {
  it("starts from scf_bootstrap with no handler, and several requests per instance only when the yml enables it", () => {
    const enabled = { type: "web", instanceConcurrencyConfig: { enable: true, maxConcurrency: 8 } };
    expect(loadSpec(yml({}, enabled), ENV, "/repo").functions[0]).toMatchObject({
      kind: "web",
      apiType: "HTTP",
      entryFile: "scf_bootstrap",
      concurrency: { dynamic: false, max: 8 },
    });
    expect(loadSpec(yml({}, enabled), ENV, "/repo").functions[0]).not.toHaveProperty("handler");
    expect(loadSpec(yml({}, { type: "web" }), ENV, "/repo").functions[0]).not.toHaveProperty("concurrency");
    // The component's default for an enabled one without a number.
    expect(loadSpec(yml({}, { type: "web", instanceConcurrencyConfig: { enable: true } }), ENV, "/").functions[0]?.concurrency?.max).toBe(2);
    // An event function ignores it, as the component does.
    expect(loadSpec(yml({}, { instanceConcurrencyConfig: enabled.instanceConcurrencyConfig }), ENV, "/").functions[0]).toMatchObject({
      kind: "event",
      entryFile: "index.js",
    });
    expect(() => loadSpec(yml({}, { type: "web", instanceConcurrencyConfig: { enable: true, maxConcurrency: 101 } }), ENV, "/")).toThrow(/from 1 to 100/);
  });
});

describe("mergeRule", () => {
  const other = { ID: "other", AllowedOrigins: ["https://x.example"], AllowedMethods: ["GET"] };
  const ours = desiredRule("svc-dev", ["https://app.example"]);

  it("adds its rule, replaces only its own, keeps the rest, and changes nothing when the rule is already there", () => {
    expect(mergeRule([other], ours)).toEqual([other, ours]);
    const stale = { ...ours, AllowedOrigins: ["https://old.example"] };
    expect(mergeRule([stale, other], ours)).toEqual([ours, other]);
    expect(mergeRule([other, { ...ours, MaxAgeSeconds: "600", AllowedMethods: [...ours.AllowedMethods].reverse() }], ours)).toBeUndefined();
  });
});

describe("what the deployer shows", () => {
  it("masks secret variables and shows a code zip as its size and hash", () => {
    const shown = masked(
      {
        Environment: {
          Variables: [
            { Key: "JWT_SECRET", Value: "s3cret" },
            { Key: "COS_REGION", Value: "ap-guangzhou" },
          ],
        },
        ZipFile: "UEsFBg==",
      },
      new Set(["JWT_SECRET"]),
    );
    expect(shown).toEqual({
      Environment: {
        Variables: [
          { Key: "JWT_SECRET", Value: "***" },
          { Key: "COS_REGION", Value: "ap-guangzhou" },
        ],
      },
      ZipFile: expect.stringMatching(/^<zip 0\.0 KB, sha256 [0-9a-f]{12}>$/),
    });
  });

  it("explains an API error with its code, the action and what to do", () => {
    const denied = explain("cam", "CreateRole", {}, { code: "UnauthorizedOperation", message: "no", requestId: "r-1" });
    expect(denied.message).toBe(
      'cam:CreateRole failed: UnauthorizedOperation: no (request r-1)\n  The deploying identity lacks the CAM permission name/cam:CreateRole: grant it (docs/deploy.md, "What the deploying identity needs") and run again.',
    );
    expect(explain("scf", "GetFunction", {}, { code: "RequestLimitExceeded", message: "slow down" }, 5).message).toContain("Still throttled after 5 attempts");
    expect(explain("scf", "GetFunction", {}, { code: "AuthFailure.SecretIdNotFound", message: "x" }).message).toContain("TENCENTCLOUD_SECRET_ID is not a key");
  });
});

describe("smokeTest", () => {
  async function answering(status: number, body: string) {
    const server = createServer((_, res) => res.writeHead(status, { "content-type": "application/json" }).end(body));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const options = { fetch, attempts: 2, retryMs: 3000, clock: fakeClock() };
    try {
      return await smokeTest(url, options).catch((error: Error) => error);
    } finally {
      server.close();
    }
  }
  const error = (code: string, message: string) => JSON.stringify({ error: { code, message } });

  it("passes on the broker's 401 for a request without a token", async () => {
    expect(await answering(401, error("InvalidToken", "no token"))).toMatch(
      /answered 401 InvalidToken without a token: the function runs and its configuration loads/,
    );
  });

  it("fails with the broker's own message on a 500 ConfigError, and on anything else", async () => {
    const config = await answering(500, error("ConfigError", "COS_BUCKET is required: set it"));
    expect(config).toBeInstanceOf(DeployError);
    expect((config as Error).message).toContain("The deployed broker refuses its configuration: COS_BUCKET is required: set it");
    expect(((await answering(200, "{}")) as Error).message).toMatch(/answered 200 .*not 401 InvalidToken/);
  });

  it("retries a URL that does not answer yet, then gives up with a clear message", async () => {
    const clock = fakeClock();
    const result = await smokeTest("http://127.0.0.1:9/", { fetch, attempts: 3, retryMs: 3000, clock }).catch((caught: Error) => caught);
    expect((result as Error).message).toMatch(/could not be reached/);
    expect(clock.slept).toEqual([3000, 3000]);
  });
});

describe(".env.example", () => {
  it("names only the deployer's key, the settings serverless.yml needs and variables the functions read", () => {
    const example = parseEnv(readFileSync(join(ROOT, ".env.example"), "utf8"));
    const settings = unsetSettings(readYml(join(ROOT, YML_FILE)), {});
    const known = new Set(["TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", ...settings, ...ENV_VARIABLES]);
    expect(Object.keys(example).filter((name) => !known.has(name))).toEqual([]);
    expect(settings.filter((name) => !(name in example))).toEqual([]);
  });
});
