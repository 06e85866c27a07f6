/**
 * The V8 code cache each deployed function carries (scripts/code-cache.ts, scripts/loader.cjs):
 * V8 accepts it in a fresh process, it holds the first request's code, and a cache V8 rejects,
 * or none, leaves a function that answers as before.
 */
import { copyFileSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { listFunctions, SHIPPED_FILES } from "../../scripts/bundle.ts";
import { writeCodeCache } from "../../scripts/code-cache.ts";
import { runNode } from "../support/bundle.ts";
import { bearer, functionUrlEvent, type Harness, startHarness } from "../support/harness.ts";
import { hsToken } from "../support/tokens.ts";

const bundleDir = inject("bundleDir");
const scratch = mkdtempSync(join(tmpdir(), "broker-code-cache-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Loads index.js in a fresh process, says what became of the cache and, given an event, how main_handler answered it. */
const PROBE = `
const loaded = require(require("node:path").resolve("index.js"));
const codeCache = loaded[Symbol.for("cos-sts-broker.codeCache")];
const event = process.argv[1] ? JSON.parse(process.argv[1]) : undefined;
Promise.resolve(event && loaded.main_handler(event, { request_id: "r", getRemainingTimeInMillis: () => 10000 }))
  .then((response) => process.send({ codeCache, status: response && response.statusCode }, () => process.disconnect()));
`;
const probe = async (dir: string, env = {}, event?: unknown, nodeArgs: string[] = []) =>
  (await runNode(PROBE, [event === undefined ? "" : JSON.stringify(event)], { cwd: dir, env, nodeArgs })).message as { codeCache: string; status?: number };

/** A copy of the built issue-credentials folder, to change. */
function copyOfBroker(name: string): string {
  const dir = join(scratch, name);
  cpSync(join(bundleDir, "issue-credentials"), dir, { recursive: true });
  return dir;
}

describe("the code cache", () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(() => harness.close());

  it("ships beside each bundle, and V8 takes it in a fresh process", async () => {
    for (const name of listFunctions()) {
      const dir = join(bundleDir, name);
      expect(readdirSync(dir).sort(), name).toEqual(["app.cache", "app.js", "index.js", ...(SHIPPED_FILES[name] ?? [])]);
      expect(await probe(dir), name).toEqual({ codeCache: "accepted" });
    }
  });

  it.each(["issue-credentials", "server"])("holds what %s's first request compiles, beyond what loading does", async (name) => {
    const loadedOnly = join(scratch, `loaded-only-${name}`);
    cpSync(join(bundleDir, name), loadedOnly, { recursive: true });
    await writeCodeCache(loadedOnly, undefined);
    const [warmed, loaded] = [statSync(join(bundleDir, name, "app.cache")).size, statSync(join(loadedOnly, "app.cache")).size];
    expect(warmed).toBeGreaterThan(loaded * 1.2);
  });

  it("is ignored when V8 rejects it (another build, other flags, other source), and the function answers as before", async () => {
    const event = functionUrlEvent({ headers: bearer(await hsToken({ sub: "alice" })), body: '{"profile":"upload"}' });
    // Node started with other V8 flags, as a runtime that sizes the heap to the function's memory might.
    expect(await probe(join(bundleDir, "issue-credentials"), harness.env, event, ["--max-old-space-size=100"])).toEqual({ codeCache: "rejected", status: 200 });
    const foreign = copyOfBroker("foreign");
    // A cache V8 made for other source: the check's bundle.
    copyFileSync(join(bundleDir, "credential-check", "app.cache"), join(foreign, "app.cache"));
    expect(await probe(foreign, harness.env, event)).toEqual({ codeCache: "rejected", status: 200 });
    const garbled = copyOfBroker("garbled");
    writeFileSync(join(garbled, "app.cache"), Buffer.alloc(4096, 7));
    expect(await probe(garbled, harness.env, event)).toEqual({ codeCache: "rejected", status: 200 });
    const without = copyOfBroker("without");
    rmSync(join(without, "app.cache"));
    expect(await probe(without, harness.env, event)).toEqual({ codeCache: "absent", status: 200 });
    expect(harness.emulator.stsCallCount()).toBe(4);
  });
});
