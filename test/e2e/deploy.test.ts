/**
 * `npm run deploy` end to end, on loopback: the real deployer (Tencent's SCF SDK, CAM through
 * CommonClient, cos-nodejs-sdk-v5) against the cloud API emulator, the STS emulator and the COS
 * server. Then what was deployed is RUN: each stored code zip unpacked and loaded the way SCF
 * loads it, in a fresh process with exactly the stored variables (plus the execution role's key
 * SCF injects), and invoked with a Function URL event and a timer event.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type CloudApi, type StoredFunction, startCloudApi, unauthorized } from "../../dev/cloud-api/index.ts";
import { type CosServer, credentialsFrom, startCosServer } from "../../dev/cos-server/index.ts";
import type { StsEmulator } from "../../dev/sts-emulator/index.ts";
import { ROOT } from "../../scripts/bundle.ts";
import { realDeps } from "../../scripts/deploy/cli.ts";
import { DeployError } from "../../scripts/deploy/errors.ts";
import { type DeployOptions, deploy, undeploy } from "../../scripts/deploy/run.ts";
import { invokeBundle } from "../support/bundle.ts";
import { timerEvent } from "../support/check.ts";
import { fakeClock } from "../support/clock.ts";
import { BUCKET, bearer, functionUrlEvent, REGION, startTestEmulator } from "../support/harness.ts";
import { runScript } from "../support/spawn.ts";
import { hsToken, TEST_SECRET } from "../support/tokens.ts";

const TARGET_ROLE = "qcs::cam::uin/100000000001:roleName/cos-sts-broker-uploader";
const FUNCTIONS = ["cos-sts-broker-test-issue-credentials", "cos-sts-broker-test-credential-check"];
const bundleDir = inject("bundleDir");

let sts: StsEmulator;
let cos: CosServer;
let api: CloudApi;
let env: Record<string, string>;

/** SCF's side: the stored zip, unpacked once per code version, run with the stored variables. */
const unpacked = new Map<Uint8Array, string>();
function unpack(code: Uint8Array): string {
  let dir = unpacked.get(code);
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), "deployed-"));
    for (const [path, bytes] of Object.entries(unzipSync(code))) writeFileSync(join(dir, path), bytes);
    unpacked.set(code, dir);
  }
  return dir;
}

async function runDeployed(fn: StoredFunction, event: unknown) {
  const role = sts.addTemporaryKey();
  const injected = { TENCENTCLOUD_SECRETID: role.secretId, TENCENTCLOUD_SECRETKEY: role.secretKey, TENCENTCLOUD_SESSIONTOKEN: role.token };
  return invokeBundle(unpack(fn.code), event, { env: { ...fn.environment, ...injected }, remainingMs: fn.timeout * 1000 });
}

const stored = (name: string) => [...api.functions.values()].find((fn) => fn.name === name)!;

async function run(options: Partial<DeployOptions> = {}, extra: Record<string, string> = {}) {
  const lines: string[] = [];
  const runEnv = { ...env, ...extra };
  const clock = fakeClock();
  const deps = realDeps(runEnv, options.dryRun ?? false, { print: (line) => lines.push(line), clock });
  const outcome = await deploy({ root: ROOT, codeRoot: bundleDir, env: runEnv, dryRun: false, createRoles: true, smoke: true, ...options }, deps).then(
    (value) => ({ value, error: undefined }),
    (error: unknown) => ({ value: undefined, error }),
  );
  return { ...outcome, lines, text: lines.join("\n"), slept: clock.slept };
}

beforeAll(async () => {
  sts = await startTestEmulator({ roles: [TARGET_ROLE] });
  cos = await startCosServer({ region: REGION, buckets: [BUCKET], credentials: credentialsFrom(sts), corsOrigins: ["https://already.example"] });
  api = await startCloudApi({ keys: sts.keys, invoke: async (fn, event) => (await runDeployed(fn, event)).result });
  const key = sts.keys[0]!;
  env = {
    STAGE: "test",
    COS_REGION: REGION,
    COS_BUCKET: BUCKET,
    JWT_SECRET: TEST_SECRET,
    EXECUTION_ROLE: "cos-sts-broker-exec",
    STS_ROLE_ARN: TARGET_ROLE,
    STS_ENDPOINT: sts.url,
    COS_ENDPOINT: cos.url,
    CORS_ORIGINS: "https://app.example",
    TENCENTCLOUD_SECRET_ID: key.secretId,
    TENCENTCLOUD_SECRET_KEY: key.secretKey,
    DEPLOY_API_ENDPOINT: api.url,
  };
});
afterAll(async () => {
  await Promise.all([api.close(), cos.close(), sts.close()]);
});

describe("npm run deploy", () => {
  it("refuses a configuration the broker would refuse, before calling anything", async () => {
    const { error } = await run({}, { COS_BUCKET: "no-appid" });
    expect(error).toBeInstanceOf(DeployError);
    expect((error as Error).message).toMatch(/would refuse this configuration: COS_BUCKET/);
    expect(api.calls).toHaveLength(0);
  });

  it("without --create-roles, says exactly which roles are missing and deploys nothing", async () => {
    const { error } = await run({ createRoles: false });
    expect((error as Error).message).toContain(
      "cos-sts-broker-exec (the functions' execution role), cos-sts-broker-uploader (the COS role the broker assumes)",
    );
    expect((error as Error).message).toContain("--create-roles");
    expect(api.calls.map((call) => call.action)).toEqual(["GetRole", "GetRole"]);
  });

  it("creates the roles, both functions, the Function URL and the timer, merges the CORS rule, and the smoke request gets a 401", async () => {
    const { error, value, text } = await run();
    expect(error).toBeUndefined();
    expect(value?.functionUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{16}$/);
    expect(text).toContain(`Function URL: ${value?.functionUrl}`);
    expect(text).toMatch(/smoke: .* answered 401 InvalidToken/);

    expect([...api.roles.keys()].sort()).toEqual(["cos-sts-broker-exec", "cos-sts-broker-uploader"]);
    const policyOf = (role: string) => JSON.parse([...api.roles.get(role)!.policies].map((id) => api.policies.get(id)!.document)[0]!);
    expect(policyOf("cos-sts-broker-exec").statement).toEqual([{ effect: "allow", action: ["name/sts:AssumeRole"], resource: [TARGET_ROLE] }]);
    const cosStatements = policyOf("cos-sts-broker-uploader").statement as { action: string[]; resource: string[] }[];
    expect(cosStatements.find((s) => s.resource[0] === `qcs::cos:${REGION}:uid/1250000000:${BUCKET}/users/*`)?.action).toContain("name/cos:PutObject");
    expect(JSON.parse(api.roles.get("cos-sts-broker-exec")!.trust).statement[0].principal).toEqual({ service: ["scf.qcloud.com"] });

    for (const name of FUNCTIONS) {
      const fn = stored(name);
      expect(fn).toMatchObject({ runtime: "Nodejs20.19", handler: "index.main_handler", role: "cos-sts-broker-exec", status: "Active", type: "Event" });
      expect(Object.keys(unzipSync(fn.code)).sort()).toEqual(["app.cache", "app.js", "index.js"]);
      for (const value of Object.values(fn.environment)) expect(value === "" || value === "undefined").toBe(false);
    }
    const broker = stored(FUNCTIONS[0]!);
    expect(broker.environment).toEqual({
      COS_BUCKET: BUCKET,
      COS_REGION: REGION,
      JWT_SECRET: TEST_SECRET,
      STS_ROLE_ARN: TARGET_ROLE,
      STS_ENDPOINT: sts.url,
      CORS_ORIGINS: "https://app.example",
      COS_ENDPOINT: cos.url,
    });
    expect(broker.triggers).toEqual([expect.objectContaining({ type: "http", name: "url", qualifier: "$DEFAULT", enable: 1 })]);
    expect(JSON.parse(broker.triggers[0]!.desc)).toMatchObject({ AuthType: "NONE", NetConfig: { EnableExtranet: true, EnableIntranet: false } });
    expect(stored(FUNCTIONS[1]!).triggers).toEqual([
      expect.objectContaining({ type: "timer", name: "every-5-minutes", desc: JSON.stringify({ cron: "0 */5 * * * * *" }), enable: 1 }),
    ]);
    expect(cos.cors.rules(BUCKET).map((rule) => [rule.id, rule.origins])).toEqual([
      ["initial", ["https://already.example"]],
      ["cos-sts-broker-test", ["https://app.example"]],
    ]);
  });

  it("deployed what runs: the broker from its zip issues credentials through the COS role, and the check passes on its timer", async () => {
    const broker = stored(FUNCTIONS[0]!);
    const refused = await runDeployed(broker, functionUrlEvent({ body: "{}" }));
    expect(refused.result?.statusCode, refused.stderr).toBe(401);

    const issued = await runDeployed(broker, functionUrlEvent({ headers: bearer(await hsToken({ sub: "alice" })), body: "{}" }));
    expect(issued.result?.statusCode, issued.stderr).toBe(200);
    const body = JSON.parse(issued.result!.body);
    expect(body).toMatchObject({ bucket: BUCKET, prefix: "users/alice/" });
    expect(sts.issued.get(body.credentials.tmpSecretId)).toMatchObject({ action: "AssumeRole", roleArn: TARGET_ROLE });

    const check = await runDeployed(stored(FUNCTIONS[1]!), timerEvent());
    expect(check.error, check.stdout).toBeUndefined();
    expect(check.result).toMatchObject({ ok: true });
  });

  it("a second run updates only what changed and says so", async () => {
    const before = api.calls.length;
    const { error, text } = await run({}, { RATE_LIMIT_BURST: "30" });
    expect(error).toBeUndefined();
    for (const name of FUNCTIONS) expect(text).toContain(`function ${name}: variables +RATE_LIMIT_BURST`);
    expect(text).toMatch(/role cos-sts-broker-exec .*: unchanged/);
    expect(text).toContain("http trigger url on cos-sts-broker-test-issue-credentials: unchanged");
    expect(text).toContain("bucket CORS: rule cos-sts-broker-test unchanged");
    const actions = api.calls.slice(before).map((call) => call.action);
    expect(actions).not.toContain("UpdateFunctionCode");
    expect(actions.filter((action) => action === "UpdateFunctionConfiguration")).toHaveLength(2);
    expect(stored(FUNCTIONS[0]!).environment.RATE_LIMIT_BURST).toBe("30");
  });

  it("--dry-run prints every action with its parameters, secrets masked, and calls nothing", async () => {
    const before = api.calls.length;
    const corsCalls = cos.calls.length;
    const { error, text } = await run({ dryRun: true });
    expect(error).toBeUndefined();
    expect(api.calls.length).toBe(before);
    expect(cos.calls.length).toBe(corsCalls);
    for (const action of ["cam:CreateRole", "scf:CreateFunction", "scf:CreateTrigger", "cos:PutBucketCORS"]) expect(text).toContain(action);
    expect(text).toContain('"Key":"JWT_SECRET","Value":"***"');
    expect(text).toMatch(/"ZipFile":"<zip [\d.]+ KB, sha256 [0-9a-f]{12}>"/);
    expect(text).not.toContain(TEST_SECRET);
  });

  it("names the CAM permission the deploying identity lacks", async () => {
    api.inject(unauthorized("scf:UpdateFunctionConfiguration"), { actions: ["UpdateFunctionConfiguration"], times: 1 });
    const { error } = await run({}, { RATE_LIMIT_BURST: "31" });
    expect(error).toBeInstanceOf(DeployError);
    const message = (error as Error).message;
    expect(message).toContain("scf:UpdateFunctionConfiguration failed: AuthFailure.UnauthorizedOperation");
    expect(message).toContain("lacks the CAM permission name/scf:UpdateFunctionConfiguration, and name/cam:PassRole on role cos-sts-broker-exec");
  });

  it("retries a throttled API and carries on", async () => {
    api.inject({ kind: "throttle" }, { actions: ["GetFunction"], times: 2 });
    const before = api.calls.length;
    const { error, slept } = await run({}, { RATE_LIMIT_BURST: "31" });
    expect(error).toBeUndefined();
    expect(api.calls.slice(before).filter((call) => call.error === "RequestLimitExceeded")).toHaveLength(2);
    // Backing off 1 s, then 2 s; then one poll while the update settles.
    expect(slept).toEqual([1000, 2000, 1000, 1000]);
    expect(stored(FUNCTIONS[0]!).environment.RATE_LIMIT_BURST).toBe("31");
  });

  it("npm run undeploy removes what it made (triggers, functions, its CORS rule, with --roles its roles) and keeps what it did not", async () => {
    stored(FUNCTIONS[1]!).description = "made by hand";
    const lines: string[] = [];
    await undeploy({ root: ROOT, env, dryRun: false, roles: true }, realDeps(env, false, { print: (line) => lines.push(line), clock: fakeClock() }));
    expect([...api.functions.values()].map((fn) => [fn.name, fn.triggers.length])).toEqual([[FUNCTIONS[1], 1]]);
    expect(api.roles.size).toBe(0);
    expect(api.policies.size).toBe(0);
    expect(cos.cors.rules(BUCKET).map((rule) => rule.id)).toEqual(["initial"]);
    const text = lines.join("\n");
    expect(text).toContain(`http trigger url on ${FUNCTIONS[0]}: deleted`);
    expect(text).toContain(`function ${FUNCTIONS[0]}: deleted`);
    expect(text).toContain(`function ${FUNCTIONS[1]}: kept, with its triggers: not made by npm run deploy`);
  });
});

describe("the npm scripts", () => {
  it("npm run deploy without the deploying identity's key names the variables, calls nothing, and exits 1", async () => {
    const { code, stderr } = await runScript("scripts/deploy.ts", [], {
      STAGE: "dev",
      COS_REGION: REGION,
      EXECUTION_ROLE: "exec",
      DEPLOY_API_ENDPOINT: api.url,
    });
    expect(code).toBe(1);
    expect(stderr).toContain("TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY are needed");
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("npm run undeploy -- --dry-run prints the deletions and calls nothing", async () => {
    const before = api.calls.length;
    const { code, stdout } = await runScript("scripts/undeploy.ts", ["--dry-run", "--roles"], { ...env, STAGE: "dev" });
    expect(code).toBe(0);
    expect(stdout).toContain('scf:DeleteFunction {"FunctionName":"cos-sts-broker-dev-issue-credentials","Namespace":"default"}');
    expect(stdout).toContain('cam:DeleteRole {"RoleName":"cos-sts-broker-exec"}');
    expect(api.calls.length).toBe(before);
  });
});
