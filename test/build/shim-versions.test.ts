/**
 * The shims stand on internals of the STS SDK's packages and of the modules they replace or
 * load. The installed versions must be the ones scripts/shims/index.ts records as checked;
 * when one moves, the failure names the shims and the SDK files to re-read first. The table's
 * own claims (which SDK files use what) are checked against the bundle here too.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { ROOT } from "../../scripts/bundle.ts";
import { SDK_PACKAGES, SHIMS, type Shim, VERIFIED_VERSIONS } from "../../scripts/shims/index.ts";

const meta = inject("bundleMeta");
const rootRequire = createRequire(join(ROOT, "package.json"));

/** One reason a shim depends on an installed package: an SDK file that uses it, or the shim itself. */
interface Dependency {
  readonly name: string;
  readonly version: string;
  readonly shim: Shim;
}

/** The package a file belongs to: the nearest package.json above it that has a name. */
function packageOf(file: string): { name: string; version: string } {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (!existsSync(manifest)) continue;
    const { name, version } = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; version: string };
    if (name) return { name, version };
  }
  throw new Error(`no package.json with a name above ${file}`);
}

/**
 * Every installed package a shim depends on: the SDK packages holding the files it serves,
 * what those files would load in its place, and what the shim itself loads (per esbuild).
 */
function dependencies(): Dependency[] {
  return SHIMS.flatMap((shim) => {
    const fromSdk = shim.usedBy.flatMap((file) => {
      const path = rootRequire.resolve(file);
      return [packageOf(path), packageOf(createRequire(path).resolve(shim.replaces))];
    });
    const loaded = (meta.inputs[`scripts/shims/${shim.file}`]?.imports ?? [])
      .filter((imported) => !imported.external && !isBuiltin(imported.path))
      .map((imported) => packageOf(join(ROOT, imported.path)));
    return [...fromSdk, ...loaded].map((found) => ({ ...found, shim }));
  });
}

/** What to do about each installed version that is not the verified one, and each verified entry nothing depends on. */
function drift(found: readonly Dependency[], verified: Readonly<Record<string, string>>): string[] {
  const names = [...new Set(found.map((dependency) => dependency.name))];
  const moved = names.flatMap((name) => {
    const mine = found.filter((dependency) => dependency.name === name);
    const installed = [...new Set(mine.map((dependency) => dependency.version))].filter((version) => version !== verified[name]);
    if (installed.length === 0) return [];
    const shims = [...new Set(mine.map((dependency) => dependency.shim))];
    return [
      [
        `${name} is ${installed.join(" and ")} here, but the shims were checked against ${verified[name] ?? "no version"}.`,
        "Re-read each shim against the SDK files it serves, then run test/build/shim-surface.test.ts:",
        ...shims.map((shim) => `  scripts/shims/${shim.file} (for ${shim.replaces}) against ${shim.usedBy.join(", ")}`),
        `Only then set VERIFIED_VERSIONS["${name}"] to "${installed[0]}" in scripts/shims/index.ts.`,
      ].join("\n"),
    ];
  });
  const stale = Object.keys(verified)
    .filter((name) => !names.includes(name))
    .map((name) => `VERIFIED_VERSIONS in scripts/shims/index.ts lists ${name}, which no shim depends on any more: remove it.`);
  return [...moved, ...stale];
}

describe("the versions the shims were checked against", () => {
  it("are the installed ones: the SDK's packages, what each shim replaces and what it loads", () => {
    const problems = drift(dependencies(), VERIFIED_VERSIONS);
    expect(problems, problems.join("\n\n")).toEqual([]);
  });

  it("on a mismatch, name each shim and SDK file to re-read and where the record is", () => {
    const [message, ...rest] = drift(dependencies(), { ...VERIFIED_VERSIONS, "node-fetch": "2.6.0" });
    expect(rest).toEqual([]);
    expect(message).toContain("node-fetch is 2.7.0 here, but the shims were checked against 2.6.0.");
    expect(message).toContain(
      "scripts/shims/node-fetch.ts (for node-fetch) against tencentcloud-sdk-nodejs-common/tencentcloud/common/http/fetch.js, " +
        "tencentcloud-sdk-nodejs-common/tencentcloud/common/http/http_connection.js, tencentcloud-sdk-nodejs-common/tencentcloud/common/abstract_client.js",
    );
    expect(message).toContain('set VERIFIED_VERSIONS["node-fetch"] to "2.7.0" in scripts/shims/index.ts');
    // The SDK's common package is under every shim.
    const [common] = drift(dependencies(), { ...VERIFIED_VERSIONS, "tencentcloud-sdk-nodejs-common": "4.1.0" });
    for (const shim of SHIMS) expect(common).toContain(`scripts/shims/${shim.file} (for ${shim.replaces})`);
  });

  it("cover every package a shim depends on, and nothing more", () => {
    const { "json-bigint": _, ...without } = VERIFIED_VERSIONS;
    expect(drift(dependencies(), without)).toEqual([expect.stringContaining("json-bigint is 1.0.0 here, but the shims were checked against no version.")]);
    expect(drift(dependencies(), { ...VERIFIED_VERSIONS, "left-pad": "1.3.0" })).toEqual([expect.stringContaining("lists left-pad, which no shim depends on")]);
  });
});

describe("the shim table", () => {
  it("names every SDK file in the bundles that requires a module a shim replaces, so each gets the shim", () => {
    for (const [file, input] of Object.entries(meta.inputs)) {
      const within = file.slice(file.lastIndexOf("node_modules/") + "node_modules/".length);
      if (!file.includes("node_modules/") || !SDK_PACKAGES.has(within.slice(0, within.indexOf("/")))) continue;
      for (const imported of input.imports) {
        const shim = SHIMS.find((candidate) => candidate.replaces === imported.original);
        if (shim)
          expect(`${within} requires ${imported.original} as ${imported.path}`).toBe(`${within} requires ${imported.original} as scripts/shims/${shim.file}`);
      }
    }
  });
});
