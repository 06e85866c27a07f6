/**
 * The Fetch handler as built (dist/fetch/index.mjs), in real runtimes: Node 20 (its global fetch
 * for STS) and Deno, whose binary comes from the npm registry (the `deno` package). Deno serves
 * the module's `export default { fetch }` itself (`deno serve`), with no permission but the
 * environment and the loopback network, and no remote modules: nothing reaches the internet.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runNode } from "../support/bundle.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { captureLogLines } from "../support/spawn.ts";
import { hsToken } from "../support/tokens.ts";

const bundleDir = inject("bundleDir");
const meta = inject("bundleMeta");
const moduleFile = join(bundleDir, "fetch", "index.mjs");

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({ env: { CORS_ORIGINS: "https://app.example" } });
});
afterAll(() => harness.close());

describe("the Fetch handler's bundle", () => {
  it("is an ES module that imports only what Deno, Bun and Node all provide, and no HTTP client of Node's", () => {
    const output = Object.entries(meta.outputs).find(([file]) => file.endsWith("fetch/index.mjs"))?.[1];
    expect(output?.exports.sort()).toEqual(["ENV_VARIABLES", "createFetchHandler", "default"]);
    const imported = [...new Set(output!.imports.map((entry) => entry.path))].sort();
    expect(imported.every((path) => path.startsWith("node:"))).toBe(true);
    expect(imported.filter((path) => ["node:http", "node:https", "node:http2", "node:tls"].includes(path))).toEqual([]);
  });

  it("issues credentials in a fresh Node process, configured by process.env, STS over the global fetch", async () => {
    const source = `
      import(process.argv[1]).then(async ({ default: handler }) => {
        const request = new Request("http://broker.example/", { method: "POST", headers: { authorization: "Bearer " + process.argv[2] }, body: '{"profile":"upload"}' });
        const response = await handler.fetch(request);
        process.send({ status: response.status, body: await response.text() }, () => process.disconnect());
      });`;
    const { message } = await runNode(source, [pathToFileURL(moduleFile).href, await hsToken({ sub: "alice" })], { cwd: tmpdir(), env: harness.env });
    const { status, body } = message as { status: number; body: string };
    expect(status, body).toBe(200);
    const issued = JSON.parse(body) as { prefix: string; credentials: { tmpSecretId: string } };
    expect(issued.prefix).toBe("users/alice/");
    expect(harness.emulator.issued.get(issued.credentials.tmpSecretId)).toMatchObject({ action: "GetFederationToken" });
  });
});

describe("the Fetch handler under Deno (deno serve)", () => {
  let deno: ChildProcess;
  let origin: string;
  let printed = "";
  beforeAll(async () => {
    // The package's own resolver finds the binary its platform package brought (no download).
    const binary = (createRequire(import.meta.url)("deno/install_api.cjs") as { runInstall(): string }).runInstall();
    const permissions = ["--allow-env", "--allow-net=127.0.0.1", "--no-remote", "--no-npm", "--no-config"];
    deno = spawn(binary, ["serve", ...permissions, "--host", "127.0.0.1", "--port", "0", moduleFile], {
      env: { ...harness.env, DENO_DIR: mkdtempSync(join(tmpdir(), "deno-dir-")), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", HOME: tmpdir() },
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const stream of [deno.stdout, deno.stderr]) {
      captureLogLines(stream);
      stream?.on("data", (chunk: Buffer) => (printed += chunk.toString()));
    }
    origin = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`deno serve did not start:\n${printed}`)), 15_000);
      const look = () => {
        const listening = /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(printed)?.[1];
        if (listening) {
          clearTimeout(timer);
          resolve(listening);
        }
      };
      deno.stdout?.on("data", look);
      deno.stderr?.on("data", look);
      deno.on("exit", (code) => reject(new Error(`deno exited with ${code}:\n${printed}`)));
    });
  });
  afterAll(() => {
    deno?.kill("SIGTERM");
  });

  it("issues credentials over HTTP, fenced to the user, and logs the client's address from Deno's connection info", async () => {
    const response = await fetch(origin, { method: "POST", headers: { authorization: `Bearer ${await hsToken({ sub: "bob" })}` }, body: '{"key":"a.png"}' });
    const body = (await response.json()) as { key: string; credentials: { tmpSecretId: string } };
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.key).toBe("users/bob/a.png");
    expect(harness.emulator.issued.get(body.credentials.tmpSecretId)).toBeDefined();
    const line = printed.split("\n").find((entry) => entry.includes('"outcome":"issued"'));
    expect(JSON.parse(line!)).toMatchObject({ status: 200, sourceIp: "127.0.0.1", key: "users/bob/a.png" });
  });

  it("answers refusals, preflight and oversized bodies as the contract says", async () => {
    const unsigned = await fetch(origin, { method: "POST" });
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers.get("www-authenticate")).toBe("Bearer");
    const preflight = await fetch(origin, { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example");
    const huge = await fetch(origin, { method: "POST", headers: { authorization: `Bearer ${await hsToken()}` }, body: "x".repeat(100_000) });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: { code: string } }).error.code).toBe("PayloadTooLarge");
  });
});
