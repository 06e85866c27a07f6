/**
 * `npm run package` output, alone: each zip unpacked into a fresh folder outside the
 * repository and run in a process that can require nothing but the zip's own files.
 */

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { unzipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { zipEntries } from "../../dev/cloud-api/zip.ts";
import { listFunctions } from "../../scripts/bundle.ts";
import { packageFunctions } from "../../scripts/zip.ts";
import { invokeBundle, nothingToResolveFrom } from "../support/bundle.ts";
import { BUCKET, bearer, functionUrlEvent, type Harness, parse, startHarness } from "../support/harness.ts";
import { hsToken } from "../support/tokens.ts";

const bundleDir = inject("bundleDir");

function unpack(zipPath: string): string {
  const dir = mkdtempSync(join(tmpdir(), "broker-package-"));
  for (const [path, bytes] of Object.entries(unzipSync(readFileSync(zipPath)))) writeFileSync(join(dir, path), bytes);
  return dir;
}

describe("npm run package", () => {
  let zips: string[];
  let h: Harness;
  beforeAll(async () => {
    zips = packageFunctions(bundleDir);
    h = await startHarness();
  });
  afterAll(() => h.close());

  it("zips every function with index.js at the root, beside its bundle and code cache (and the web function's executable scf_bootstrap), the same bytes every time", () => {
    expect(zips.map((zip) => zip.slice(bundleDir.length + 1))).toEqual(listFunctions().map((name) => `${name}.zip`));
    for (const [name, zip] of listFunctions().map((name, i) => [name, zips[i]!] as const)) {
      const entries = zipEntries(readFileSync(zip));
      expect([...entries.keys()].sort(), name).toEqual(["app.cache", "app.js", "index.js", ...(name === "server" ? ["scf_bootstrap"] : [])]);
      expect(entries.get("index.js")?.mode, name).toBe(0o644);
      if (name === "server") expect(entries.get("scf_bootstrap")?.mode).toBe(0o755);
    }
    const first = readFileSync(zips[0]!);
    packageFunctions(bundleDir);
    expect(readFileSync(zips[0]!).equals(first)).toBe(true);
  });

  it("refuses to package what was not built, naming the fix", () => {
    expect(() => packageFunctions(dirname(bundleDir), ["issue-credentials"])).toThrow(/npm run build/);
  });

  it("issues credentials from a Function URL event in a process that sees only the unzipped package", async () => {
    const dir = unpack(zips[listFunctions().indexOf("issue-credentials")]!);
    expect(nothingToResolveFrom(dir)).toBe(true);
    const event = functionUrlEvent({ headers: bearer(await hsToken({ sub: "alice" })), body: JSON.stringify({ profile: "upload" }) });
    const run = await invokeBundle(dir, event, { env: h.env });
    expect(run.result?.statusCode, run.stderr).toBe(200);
    const body = parse(run.result!);
    expect(body).toMatchObject({ bucket: BUCKET, prefix: "users/alice/", profile: "upload" });
    expect(h.emulator.issued.get(body.credentials.tmpSecretId)?.token).toBe(body.credentials.sessionToken);
    expect(h.emulator.stsCallCount("GetFederationToken")).toBe(1);
    // One structured log line for the request, from the bundle's own logger.
    expect(run.stdout).toMatch(/"event":"request".*"outcome":"issued"/);
  });
});
