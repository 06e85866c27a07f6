/**
 * The deployable bundles: every folder under functions/ with an index.ts becomes
 * dist/<name>/app.js, one minified CommonJS file with nothing left to install, beside
 * index.js, which runs it with the V8 code cache app.cache (scripts/code-cache.ts;
 * docs/deploy.md, What is in the bundle). The Fetch handler is the exception: an ES module,
 * dist/fetch/index.mjs, for Fetch-API runtimes (docs/adapters.md). `npm run build`, the tests
 * and the benchmark all build through here.
 */

import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { build, type Metafile } from "esbuild";
import { MODULE_WRAPPER_PARAMS, WARM_UPS, writeCodeCache } from "./code-cache.ts";

export const ROOT = resolve(import.meta.dirname, "..");
/** Where `npm run build` writes, relative to ROOT; serverless.yml uploads this folder. */
export const DIST_DIR = "dist";
/** Node.js 20.19 is listed for SCF (cloud.tencent.com/document/product/583/11060); serverless.yml names the same runtime. */
export const SCF_RUNTIME = "Nodejs20.19";
const NODE_TARGET = "node20.19";

/**
 * Left out on purpose: `debug` (under https-proxy-agent) requires it inside a try/catch for
 * terminal colours (debug/src/node.js), so its absence at run time changes nothing.
 */
export const OPTIONAL_MODULES = ["supports-color"];

/**
 * Files a function ships beside its bundle, copied from its folder with their mode: the web
 * function's start command (functions/server/scf_bootstrap, executable).
 */
export const SHIPPED_FILES: Readonly<Record<string, readonly string[]>> = { server: ["scf_bootstrap"] };

/**
 * Adapters built as an ES module, `<name>/index.mjs`, for runtimes that load one (Deno, Bun,
 * edge workers): not SCF functions, so never zipped, deployed or given a code cache.
 */
export const ESM_BUNDLES: readonly string[] = ["fetch"];

/** The single list of functions: every folder under functions/ with an index.ts, but the ES modules. */
export function listFunctions(root = ROOT): string[] {
  const dir = join(root, "functions");
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, "index.ts")) && !ESM_BUNDLES.includes(entry.name))
    .map((entry) => entry.name)
    .sort();
}

/** Everything `npm run build` writes to dist/: the functions and the ES modules. */
export const listBundles = (): string[] => [...listFunctions(), ...ESM_BUNDLES].sort();

export interface BundleOptions {
  readonly outDir: string;
  /** Entry file per bundle name; default: functions/<name>/index.ts for every function. */
  readonly entries?: Readonly<Record<string, string>>;
  /** STS_PROFILES_FILE at build time: its text is compiled in as __STS_PROFILES_JSON__. */
  readonly profilesFile?: string;
}

/**
 * Builds `<outDir>/<name>/{index.js,app.js,app.cache}` for each entry (by default every
 * function, and then the ES modules too) and returns esbuild's metafile (inputs and sizes).
 */
export async function bundleFunctions(options: BundleOptions): Promise<Metafile> {
  const entries = options.entries ?? Object.fromEntries(listFunctions().map((name) => [name, join(ROOT, "functions", name, "index.ts")]));
  const modules = options.entries ? undefined : await bundleModules(options);
  const result = await build({
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, file]) => [`${name}/app`, file])),
    outdir: options.outDir,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: NODE_TARGET,
    minify: true,
    external: OPTIONAL_MODULES,
    // app.js is the body of the function Node wraps a CommonJS module in: the loader compiles it as it is.
    banner: { js: `(function (${MODULE_WRAPPER_PARAMS}) {` },
    footer: { js: "})" },
    metafile: true,
    logLevel: "warning",
    define: { __STS_PROFILES_JSON__: profilesDefine(options.profilesFile) },
  });
  // This repository is "type": "module"; the bundles are CommonJS wherever they are loaded from.
  writeFileSync(join(options.outDir, "package.json"), '{ "type": "commonjs" }\n');
  for (const name of Object.keys(entries)) {
    for (const file of SHIPPED_FILES[name] ?? []) copyFileSync(join(ROOT, "functions", name, file), join(options.outDir, name, file));
  }
  for (const name of Object.keys(entries)) await writeCodeCache(join(options.outDir, name), WARM_UPS[name]);
  return { inputs: { ...result.metafile.inputs, ...modules?.inputs }, outputs: { ...result.metafile.outputs, ...modules?.outputs } };
}

/** `<outDir>/<name>/index.mjs`: node: built-ins stay imports, which Deno, Bun and Node provide. */
async function bundleModules(options: BundleOptions): Promise<Metafile> {
  const result = await build({
    entryPoints: Object.fromEntries(ESM_BUNDLES.map((name) => [`${name}/index`, join(ROOT, "functions", name, "index.ts")])),
    outdir: options.outDir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: NODE_TARGET,
    minify: true,
    metafile: true,
    logLevel: "warning",
    define: { __STS_PROFILES_JSON__: profilesDefine(options.profilesFile) },
  });
  return result.metafile;
}

/**
 * The profiles file is compiled in, so the function never reads from disk (lib/broker/config.ts
 * prefers `__STS_PROFILES_JSON__` when it is a string). Without STS_PROFILES_FILE it is undefined.
 */
function profilesDefine(file: string | undefined): string {
  if (!file) return "undefined";
  const text = readFileSync(resolve(file), "utf8");
  try {
    JSON.parse(text);
  } catch (error) {
    throw new Error(`STS_PROFILES_FILE ${file} is not valid JSON (${(error as Error).message}); fix it before building`);
  }
  return JSON.stringify(text);
}
