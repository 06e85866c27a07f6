/**
 * A quiet install: package.json's allowScripts (npm 11) covers every dependency's install
 * script, and the reasons given for each decision (CONTRIBUTING.md, Install scripts) still hold.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const manifest = (path: string) => JSON.parse(readFileSync(join(ROOT, path, "package.json"), "utf8"));

describe("install scripts", () => {
  it("are all reviewed: npm lists none that allowScripts leaves uncovered", async () => {
    const { stdout } = await promisify(execFile)("npm", ["install-scripts", "ls", "--offline"], { cwd: ROOT });
    expect(stdout.trim()).toBe("No packages with unreviewed install scripts.");
  });

  it("allow esbuild's only, and deny the COS browser SDKs' and Deno's by name", () => {
    expect(manifest(".").allowScripts).toEqual({ esbuild: true, "cos-js-sdk-v5": false, "cos-wx-sdk-v5": false, deno: false });
  });

  it("deno: its postinstall only links the binary its platform package brought, which its own resolver finds without it", () => {
    const dir = join("node_modules", "deno");
    expect(manifest(dir).scripts).toEqual({ postinstall: "node ./install.cjs" });
    const installer = readFileSync(join(ROOT, dir, "install_api.cjs"), "utf8");
    expect(installer).not.toMatch(/https?\.request|fetch\(|download/i);
    expect(readFileSync(join(ROOT, dir, "bin.cjs"), "utf8")).toContain('require("./install_api.cjs").runInstall()');
  });

  it.each(["cos-js-sdk-v5", "cos-wx-sdk-v5"])("%s: its postinstall would only apply patches the package does not ship", (name) => {
    const dir = join("node_modules", name);
    const { scripts } = manifest(dir);
    expect(Object.keys(scripts).filter((script) => /^(pre|post)?install$/.test(script))).toEqual(["postinstall"]);
    expect(scripts.postinstall).toBe("node scripts/patch-check.js");
    // It runs `npx patch-package` (fetching it if absent) only when a patches/ folder exists.
    expect(readFileSync(join(ROOT, dir, "scripts/patch-check.js"), "utf8")).toContain("fs.existsSync(patchesDir)");
    expect(existsSync(join(ROOT, dir, "patches"))).toBe(false);
  });
});
