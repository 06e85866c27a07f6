/**
 * Which parts of node-fetch, form-data, json-bigint and https-proxy-agent the real STS SDK
 * touches, recorded rather than listed: lib/sts/client.ts is built twice, once with the
 * originals and once with the shims (each wrapped by test/support/recorder.ts), and both run
 * every call the broker makes against the loopback STS emulator. Whatever the SDK (or
 * lib/sts/client.ts, which reads the errors the SDK passes on) touched on an original, it
 * must find on the shim, with values of the same types.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, type Plugin } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StsEmulator, startStsEmulator } from "../../dev/sts-emulator/index.ts";
import { encodePolicy } from "../../lib/grant/policy.ts";
import type { Env } from "../../lib/shared/env.ts";
import type { createStsClient } from "../../lib/sts/client.ts";
import type { StsConfig } from "../../lib/sts/settings.ts";
import { OPTIONAL_MODULES, ROOT } from "../../scripts/bundle.ts";
import { SDK_PACKAGES, SHIMMED, SHIMS, shimFor } from "../../scripts/shims/index.ts";
import { ledgered } from "../support/capture.ts";
import { type ConnectProxy, startConnectProxy } from "../support/proxy.ts";
import type { Surface } from "../support/recorder.ts";

type Variant = "originals" | "shims";
interface Built {
  readonly createStsClient: typeof createStsClient;
  readonly surface: Surface;
}

const RECORDER = join(ROOT, "test/support/recorder.ts");
/** Shims of the SDK's own files hand over the SDK's code (or refuse); the ones for other packages are recorded. */
const RECORDED = SHIMS.filter((shim) => !shim.replaces.startsWith(".") && !SDK_PACKAGES.has(shim.replaces));

/** The production wiring (shimFor), with each recorded module, original or shim, wrapped by the recorder. */
function wiring(variant: Variant): Plugin {
  return {
    name: `recorded-${variant}`,
    setup(build) {
      build.onResolve({ filter: SHIMMED }, async (args) => {
        const shim = args.pluginData === "original" ? undefined : shimFor(args.path, args.importer);
        if (!shim) return undefined;
        if (!RECORDED.some((candidate) => candidate.replaces === args.path)) return variant === "shims" ? { path: shim } : undefined;
        const { kind, resolveDir, importer } = args;
        const target = variant === "shims" ? shim : (await build.resolve(args.path, { kind, resolveDir, importer, pluginData: "original" })).path;
        return { path: target, namespace: "recorded", pluginData: args.path };
      });
      build.onLoad({ filter: /.*/, namespace: "recorded" }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(RECORDER)}).record(${JSON.stringify(args.pluginData)}, require(${JSON.stringify(args.path)}));`,
        resolveDir: ROOT,
        loader: "js",
      }));
    },
  };
}

async function buildRecorded(variant: Variant, dir: string): Promise<Built> {
  const outfile = join(dir, `${variant}.cjs`);
  await build({
    stdin: {
      contents: `export { createStsClient } from ${JSON.stringify(join(ROOT, "lib/sts/client.ts"))}; export { surface } from ${JSON.stringify(RECORDER)};`,
      resolveDir: ROOT,
      loader: "ts",
    },
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    external: OPTIONAL_MODULES,
    logLevel: "warning",
    plugins: [wiring(variant)],
  });
  return createRequire(import.meta.url)(outfile) as Built;
}

/** One way the broker calls STS, and what the broker makes of the answer. */
interface Scenario {
  readonly name: string;
  readonly mode?: StsConfig["mode"];
  /** "role": the execution role's temporary key and session token, from the environment. */
  readonly key?: "permanent" | "role" | "wrong";
  readonly fault?: Parameters<StsEmulator["inject"]>[0];
  readonly viaProxy?: boolean;
  /** The STS deadline: short where the scenario is about it, roomy elsewhere so a busy machine does not fail it. */
  readonly timeoutMs?: number;
  /** "issued", or the BrokerError code. */
  readonly outcome: string;
}

const SCENARIOS: readonly Scenario[] = [
  { name: "GetFederationToken with a permanent key", outcome: "issued" },
  { name: "AssumeRole with the execution role's key and session token", mode: "AssumeRole", key: "role", outcome: "issued" },
  { name: "AssumeRole with a permanent key", mode: "AssumeRole", outcome: "issued" },
  { name: "GetFederationToken with a session token, which STS refuses", key: "role", outcome: "ConfigError" },
  { name: "an error answer: a wrong secret", key: "wrong", outcome: "ConfigError" },
  { name: "an error answer: throttled", fault: { kind: "throttle" }, outcome: "UpstreamThrottled" },
  { name: "a gateway's HTML 502", fault: { kind: "http", status: 502 }, outcome: "UpstreamError" },
  { name: "a 200 whose body is not JSON", fault: { kind: "malformed" }, outcome: "UpstreamError" },
  { name: "no answer by the deadline (the abort signal)", fault: { kind: "hang" }, timeoutMs: 300, outcome: "UpstreamTimeout" },
  { name: "a connection reset", fault: { kind: "reset" }, outcome: "UpstreamError" },
  { name: "through the http_proxy the SDK reads", viaProxy: true, outcome: "issued" },
];

let emulator: StsEmulator;
let proxy: ConnectProxy;
const outcomes: Record<Variant, string[]> = { originals: [], shims: [] };
const surfaces = {} as Record<Variant, Surface>;

const POLICY = {
  version: "2.0" as const,
  statement: [
    { effect: "allow" as const, action: ["name/cos:GetObject"], resource: ["qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/users/a/*"] },
  ],
};
const REQUEST = { encodedPolicy: encodePolicy(POLICY), subjectHash: "AbC-_0123456789abcdefghijklmnopqrstuvwxyzAB", durationSeconds: 900 };

async function run(built: Built, scenario: Scenario): Promise<string> {
  const role = emulator.addTemporaryKey();
  const permanent = emulator.keys[0]!;
  const env: Env = { TENCENTCLOUD_SECRETID: role.secretId, TENCENTCLOUD_SECRETKEY: role.secretKey, TENCENTCLOUD_SESSIONTOKEN: role.token };
  const secretKey = scenario.key === "wrong" ? `${permanent.secretKey}x` : permanent.secretKey;
  const config: StsConfig = {
    mode: scenario.mode ?? "GetFederationToken",
    roleArn: "qcs::cam::uin/100000000001:roleName/broker",
    endpoint: { host: new URL(emulator.url).host, protocol: "http://" },
    region: "ap-guangzhou",
    credentials: scenario.key === "role" ? { kind: "execution-role" } : { kind: "explicit", secretId: permanent.secretId, secretKey },
    timeoutMs: scenario.timeoutMs ?? 10_000,
    maxAttempts: 1,
  };
  if (scenario.fault) emulator.inject(scenario.fault);
  // The SDK reads http_proxy at each call (common/http/fetch.js).
  if (scenario.viaProxy) process.env.http_proxy = proxy.url;
  try {
    return await built
      .createStsClient(config, env)
      .requestCredentials(REQUEST)
      .then(
        () => "issued",
        (error: { code: string }) => error.code,
      );
  } finally {
    delete process.env.http_proxy;
    emulator.reset();
  }
}

/** What the SDK touched on an original but not, or not alike, on its shim; `ignores` in the table excuse options. */
function lacking(originals: Surface, shims: Surface): string[] {
  return [...originals].flatMap(([path, types]) => {
    if (ignoredOption(path)) return [];
    const [expected, seen] = [kinds(types), kinds(shims.get(path))];
    return seen === expected ? [] : [`${path}: the SDK got ${expected} from the original, ${seen} from the shim`];
  });
}

const kinds = (types: Set<string> | undefined) => (types ? [...types].sort().join("|") : "nothing");

function ignoredOption(path: string): boolean {
  const option = /\(arg\d+\)\.([^.]+)$/.exec(path)?.[1];
  const shim = RECORDED.find((candidate) => path.startsWith(candidate.replaces) || path.startsWith(`new ${candidate.replaces}`));
  return option !== undefined && shim?.ignores?.[option] !== undefined;
}

const dir = mkdtempSync(join(tmpdir(), "broker-shim-surface-"));
beforeAll(async () => {
  const saved = process.env.http_proxy;
  delete process.env.http_proxy;
  [emulator, proxy] = await Promise.all([startStsEmulator(ledgered()), startConnectProxy()]);
  try {
    for (const variant of ["originals", "shims"] as const) {
      const built = await buildRecorded(variant, dir);
      for (const scenario of SCENARIOS) outcomes[variant].push(await run(built, scenario));
      surfaces[variant] = built.surface;
    }
  } finally {
    if (saved !== undefined) process.env.http_proxy = saved;
  }
});
afterAll(async () => {
  await Promise.all([emulator?.close(), proxy?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("the SDK on the shims, recorded against the originals", () => {
  it("runs every call the broker makes to the same outcome", () => {
    const expected = SCENARIOS.map((scenario) => `${scenario.name}: ${scenario.outcome}`);
    expect(SCENARIOS.map((scenario, index) => `${scenario.name}: ${outcomes.originals[index]}`)).toEqual(expected);
    expect(SCENARIOS.map((scenario, index) => `${scenario.name}: ${outcomes.shims[index]}`)).toEqual(expected);
    expect(proxy.tunnels).toHaveLength(2);
  });

  it("finds on each shim every part of the original the SDK touched", () => {
    const missing = lacking(surfaces.originals, surfaces.shims);
    expect(missing, missing.join("\n")).toEqual([]);
  });

  it("recorded through the interop: node-fetch's call, options and answer, json-bigint's serializer, the proxy agent", () => {
    expect([...surfaces.originals.keys()]).toEqual(
      expect.arrayContaining([
        "node-fetch()",
        "node-fetch(arg1).timeout",
        "node-fetch(arg1).signal",
        "node-fetch().status",
        "json-bigint().stringify()",
        "new https-proxy-agent()",
      ]),
    );
  });

  it("would notice a part the shim lacks, and excuses only the options the table says the shim ignores", () => {
    const withoutStatus = new Map([...surfaces.shims].filter(([path]) => path !== "node-fetch().status"));
    expect(lacking(surfaces.originals, withoutStatus)).toEqual([
      expect.stringMatching(/^node-fetch\(\)\.status: the SDK got number from the original, nothing/),
    ]);
    const excused = RECORDED.flatMap((shim) => Object.keys(shim.ignores ?? {}).map((option) => ({ shim: shim.replaces, option })));
    for (const { shim, option } of excused) {
      // Each excuse is for an option the SDK really sets and the original really reads.
      expect(
        [...surfaces.originals.keys()].filter((path) => path.startsWith(shim) && path.endsWith(`).${option}`)),
        option,
      ).not.toEqual([]);
    }
  });
});
