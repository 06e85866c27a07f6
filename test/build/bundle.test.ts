/**
 * The deployable bundles, run the way SCF runs them (a fresh process that sees only the
 * bundle) against the loopback STS emulator: what they carry, deadline, proxy, build-time
 * profiles.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, inject, it } from "vitest";
import { bundleFunctions, listFunctions, OPTIONAL_MODULES } from "../../scripts/bundle.ts";
import { invokeBundle } from "../support/bundle.ts";
import { bearer, functionUrlEvent, type Harness, parse, startHarness } from "../support/harness.ts";
import { type ConnectProxy, startConnectProxy } from "../support/proxy.ts";
import { hsToken } from "../support/tokens.ts";

const bundleDir = inject("bundleDir");
const meta = inject("bundleMeta");
const scratch = mkdtempSync(join(tmpdir(), "broker-bundle-test-"));
const logLines = (stdout: string) =>
  stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
const outputOf = (name: string) => Object.entries(meta.outputs).find(([file]) => file.endsWith(`${name}/app.js`))?.[1];

describe("the deployable bundles", () => {
  let harness: Harness | undefined;
  let proxy: ConnectProxy | undefined;
  afterEach(async () => {
    await Promise.all([harness?.close(), proxy?.close()]);
    harness = proxy = undefined;
  });

  it("are built for every folder under functions/ with an index.ts, and require only Node's own modules", () => {
    const allowed = (path: string) => isBuiltin(path) || OPTIONAL_MODULES.includes(path);
    expect(listFunctions()).toContain("issue-credentials");
    for (const name of listFunctions()) {
      const output = outputOf(name);
      expect(output, name).toBeDefined();
      expect(output!.imports.filter((imported) => !allowed(imported.path))).toEqual([]);
    }
  });

  it("carry nothing of the deployer: no scripts/deploy, no SCF SDK", () => {
    for (const name of listFunctions()) {
      const inputs = Object.keys(outputOf(name)!.inputs);
      expect(
        inputs.filter((file) => file.startsWith("scripts/deploy") || file.includes("tencentcloud-sdk-nodejs-scf/")),
        name,
      ).toEqual([]);
    }
  });

  it("carry only the packages the broker needs: the STS SDK is a test's reference, never shipped", () => {
    const inputs = Object.keys(outputOf("issue-credentials")!.inputs);
    const packages = new Set(inputs.flatMap((file) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? []));
    // jose checks tokens; https-proxy-agent (with agent-base, debug, ms) is loaded only when http_proxy is set.
    expect([...packages].sort()).toEqual(["agent-base", "debug", "https-proxy-agent", "jose", "ms"]);
  });

  it("answer 504 UpstreamTimeout at the STS deadline when STS hangs", async () => {
    // One attempt, so the time measured is one STS deadline (retries are lib/sts/client.ts's, tested there).
    harness = await startHarness({ env: { STS_TIMEOUT_MS: "300", STS_MAX_ATTEMPTS: "1" } });
    harness.emulator.inject({ kind: "hang" });
    const run = await invokeBundle(join(bundleDir, "issue-credentials"), functionUrlEvent({ headers: bearer(await hsToken()) }), { env: harness.env });
    expect(run.result?.statusCode, run.stderr).toBe(504);
    expect(parse(run.result!).error.code).toBe("UpstreamTimeout");
    expect(harness.emulator.calls).toHaveLength(1);
    // The deadline is 300 ms; the log line says when the answer went out.
    const latency = logLines(run.stdout).find((line) => line.event === "request")?.latencyMs as number;
    expect(latency).toBeGreaterThanOrEqual(300);
    expect(latency).toBeLessThan(2000);
  });

  it("reach STS over TLS through http_proxy (lower case, as the STS SDK reads it), one CONNECT tunnel per call", async () => {
    harness = await startHarness({ emulator: { tls: true } });
    proxy = await startConnectProxy();
    const ca = join(scratch, "sts-ca.pem");
    writeFileSync(ca, harness.emulator.caCert!);
    const env = { ...harness.env, http_proxy: proxy.url, NODE_EXTRA_CA_CERTS: ca };
    const run = await invokeBundle(join(bundleDir, "issue-credentials"), functionUrlEvent({ headers: bearer(await hsToken()) }), { env });
    expect(run.result?.statusCode, run.stderr).toBe(200);
    expect(parse(run.result!).credentials.tmpSecretId).toMatch(/^AKID/);
    expect(proxy.tunnels).toEqual([`127.0.0.1:${harness.emulator.port}`]);
    expect(harness.emulator.stsCallCount("GetFederationToken")).toBe(1);
  });

  it("trust no certificate they were not given: the same call without the CA is a 502", async () => {
    harness = await startHarness({ emulator: { tls: true } });
    const run = await invokeBundle(join(bundleDir, "issue-credentials"), functionUrlEvent({ headers: bearer(await hsToken()) }), { env: harness.env });
    expect(run.result?.statusCode, run.stderr).toBe(502);
    expect(harness.emulator.stsCallCount()).toBe(0);
  });

  it("carry STS_PROFILES_FILE compiled in: its profiles work with no file and no variable at run time", async () => {
    harness = await startHarness();
    const profiles = join(scratch, "profiles.json");
    writeFileSync(profiles, JSON.stringify({ reader: { actions: ["GetObject", "HeadObject"] } }));
    const [withFile, without] = [join(scratch, "with-file"), join(scratch, "without")];
    await bundleFunctions({ outDir: withFile, profilesFile: profiles });
    await bundleFunctions({ outDir: without });
    rmSync(profiles);
    const event = functionUrlEvent({ headers: bearer(await hsToken()), body: JSON.stringify({ profile: "reader" }) });
    const issued = await invokeBundle(join(withFile, "issue-credentials"), event, { env: harness.env });
    expect(issued.result?.statusCode, issued.stderr).toBe(200);
    expect(parse(issued.result!).allowActions).toEqual(["name/cos:GetObject", "name/cos:HeadObject"]);
    // Built without the file, the bundle has the built-in profiles only.
    const refused = await invokeBundle(join(without, "issue-credentials"), event, { env: harness.env });
    expect(parse(refused.result!).error.code).toBe("ScopeNotAllowed");
  });

  it("refuse to build with a profiles file that is not JSON, naming it", async () => {
    const broken = join(scratch, "broken.json");
    writeFileSync(broken, "{ avatar: ");
    await expect(bundleFunctions({ outDir: join(scratch, "broken"), profilesFile: broken })).rejects.toThrow(
      /STS_PROFILES_FILE .*broken\.json is not valid JSON/,
    );
  });
});
