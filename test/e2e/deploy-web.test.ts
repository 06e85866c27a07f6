/**
 * `npm run deploy` with the broker as an SCF web function (docs/deploy.md, As a web function):
 * serverless.yml edited as the docs say, deployed by the real deployer to the cloud API
 * emulator, and then RUN as SCF runs a web function: the stored zip unpacked with its file modes,
 * its scf_bootstrap executed (the one change: this machine's node in place of the runtime's
 * /var/lang/node20/bin/node) with exactly the stored variables plus the execution role's key,
 * and the Function URL's requests passed to it over HTTP.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type CloudApi, type StoredFunction, startCloudApi } from "../../dev/cloud-api/index.ts";
import { zipEntries } from "../../dev/cloud-api/zip.ts";
import { type CosServer, credentialsFrom, startCosServer } from "../../dev/cos-server/index.ts";
import type { StsEmulator } from "../../dev/sts-emulator/index.ts";
import { ROOT } from "../../scripts/bundle.ts";
import { realDeps } from "../../scripts/deploy/cli.ts";
import { type DeployOptions, deploy, undeploy } from "../../scripts/deploy/run.ts";
import { YML_FILE } from "../../scripts/deploy/yml.ts";
import { fakeClock } from "../support/clock.ts";
import { webVariant } from "../support/deploy.ts";
import { BUCKET, REGION, startTestEmulator } from "../support/harness.ts";
import { type ServerProcess, startServerProcess } from "../support/server.ts";
import { hsToken, TEST_SECRET } from "../support/tokens.ts";

const TARGET_ROLE = "qcs::cam::uin/100000000001:roleName/cos-sts-broker-uploader";
const BROKER = "cos-sts-broker-web-issue-credentials";
const RUNTIME_NODE = "/var/lang/node20/bin/node";
const bundleDir = inject("bundleDir");

let sts: StsEmulator;
let cos: CosServer;
let api: CloudApi;
let env: Record<string, string>;
/** serverless.yml with the web edit, in a folder of its own. */
const root = mkdtempSync(join(tmpdir(), "deploy-web-"));
/** One instance per deployed code, as SCF keeps a warm one. */
const instances = new Map<Uint8Array, Promise<ServerProcess>>();

/** SCF's side: unpack the zip as stored (modes included) and run its scf_bootstrap. */
function startInstance(fn: StoredFunction): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), "web-instance-"));
  for (const [name, { data, mode }] of zipEntries(fn.code)) {
    writeFileSync(join(dir, name), data);
    if (mode !== undefined) chmodSync(join(dir, name), mode);
  }
  const bootstrap = readFileSync(join(dir, "scf_bootstrap"), "utf8");
  expect(bootstrap).toContain(RUNTIME_NODE);
  writeFileSync(join(dir, "scf_bootstrap.here"), bootstrap.replaceAll(RUNTIME_NODE, process.execPath), { mode: 0o755 });
  const role = sts.addTemporaryKey();
  const injected = { TENCENTCLOUD_SECRETID: role.secretId, TENCENTCLOUD_SECRETKEY: role.secretKey, TENCENTCLOUD_SESSIONTOKEN: role.token };
  return startServerProcess({ command: join(dir, "scf_bootstrap.here"), args: [], cwd: dir, env: { PATH: process.env.PATH, ...fn.environment, ...injected } });
}

function serve(fn: StoredFunction): Promise<string> {
  const instance = instances.get(fn.code) ?? startInstance(fn);
  instances.set(fn.code, instance);
  return instance.then((running) => running.origin);
}

async function run(options: Partial<DeployOptions> = {}) {
  const lines: string[] = [];
  const deps = realDeps(env, false, { print: (line) => lines.push(line), clock: fakeClock() });
  const value = await deploy({ root, codeRoot: bundleDir, env, dryRun: false, createRoles: true, smoke: true, ...options }, deps);
  return { value, text: lines.join("\n") };
}

const stored = () => [...api.functions.values()].find((fn) => fn.name === BROKER)!;

beforeAll(async () => {
  writeFileSync(join(root, YML_FILE), webVariant(readFileSync(join(ROOT, YML_FILE), "utf8")));
  sts = await startTestEmulator({ roles: [TARGET_ROLE] });
  cos = await startCosServer({ region: REGION, buckets: [BUCKET], credentials: credentialsFrom(sts) });
  api = await startCloudApi({ keys: sts.keys, serve });
  const key = sts.keys[0]!;
  env = {
    STAGE: "web",
    COS_REGION: REGION,
    COS_BUCKET: BUCKET,
    JWT_SECRET: TEST_SECRET,
    EXECUTION_ROLE: "cos-sts-broker-exec",
    STS_ROLE_ARN: TARGET_ROLE,
    STS_ENDPOINT: sts.url,
    COS_ENDPOINT: cos.url,
    TENCENTCLOUD_SECRET_ID: key.secretId,
    TENCENTCLOUD_SECRET_KEY: key.secretKey,
    DEPLOY_API_ENDPOINT: api.url,
  };
});
afterAll(async () => {
  for (const instance of instances.values()) await (await instance).stop();
  await Promise.all([api.close(), cos.close(), sts.close()]);
});

describe("npm run deploy, the broker as a web function", () => {
  it("creates an HTTP function with no handler, its code with an executable scf_bootstrap, several requests per instance, and the smoke request gets a 401 from it", async () => {
    const { value, text } = await run();
    expect(text).toMatch(/smoke: .* answered 401 InvalidToken/);
    expect(value.functionUrl).toBeDefined();
    const fn = stored();
    expect(fn).toMatchObject({ type: "HTTP", runtime: "Nodejs20.19", status: "Active", concurrency: { DynamicEnabled: "FALSE", MaxConcurrency: 10 } });
    expect(fn.handler).toBeUndefined();
    const files = zipEntries(fn.code);
    expect([...files.keys()].sort()).toEqual(["app.cache", "app.js", "index.js", "scf_bootstrap"]);
    expect(files.get("scf_bootstrap")?.mode).toBe(0o755);
    const created = api.calls.find((call) => call.action === "CreateFunction" && call.params.FunctionName === BROKER)!;
    expect(created.params).toMatchObject({ Type: "HTTP", InstanceConcurrencyConfig: { DynamicEnabled: "FALSE", MaxConcurrency: 10 } });
    expect(created.params).not.toHaveProperty("Handler");
  });

  it("deployed what runs: through its Function URL, the server from the zip issues credentials through the COS role, and logs SCF's request id", async () => {
    const url = (await run()).value.functionUrl!;
    const response = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${await hsToken({ sub: "alice" })}` }, body: "{}" });
    const body = (await response.json()) as Record<string, any>;
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ bucket: BUCKET, prefix: "users/alice/" });
    expect(sts.issued.get(body.credentials.tmpSecretId)).toMatchObject({ action: "AssumeRole", roleArn: TARGET_ROLE });
    const instance = await instances.get(stored().code)!;
    const line = instance
      .output()
      .split("\n")
      .find((entry) => entry.includes('"outcome":"issued"'));
    // The X-Scf-Request-Id the platform's proxy set, which scf_bootstrap tells the server to take.
    expect(JSON.parse(line!).requestId).toBe(api.webRequestIds.at(-1));
    expect(api.calls.filter((call) => call.action === "UpdateFunctionCode")).toEqual([]);
  });

  it("stops on SIGTERM with exit code 0, as SCF or a container platform stops it", async () => {
    const instance = await instances.get(stored().code)!;
    instances.clear();
    expect(await instance.stop()).toBe(0);
    expect(instance.output()).toMatch(/"event":"stopped".*"cut":0/);
  });

  it("npm run undeploy removes it", async () => {
    const lines: string[] = [];
    await undeploy({ root, env, dryRun: false, roles: false }, realDeps(env, false, { print: (line) => lines.push(line), clock: fakeClock() }));
    expect(lines.join("\n")).toContain(`function ${BROKER}: deleted`);
  });
});
