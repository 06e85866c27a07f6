/**
 * `npm run build`: dist/<function>/index.js for every function, ready for `npm run package`.
 * STS_PROFILES_FILE, if set, is compiled into the bundles (see scripts/bundle.ts).
 */
import { rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { bundleFunctions, DIST_DIR, ROOT } from "./bundle.ts";
import { exitOnHelp } from "./help.ts";

exitOnHelp("usage: npm run build\n  Bundles every function into dist/<function>/index.js; STS_PROFILES_FILE, if set, is compiled in.");

const outDir = join(ROOT, DIST_DIR);
await rm(outDir, { recursive: true, force: true });
const metafile = await bundleFunctions({ outDir, profilesFile: process.env.STS_PROFILES_FILE || undefined });
for (const [file, { bytes }] of Object.entries(metafile.outputs)) {
  console.log(`${relative(ROOT, join(ROOT, file))}  ${(bytes / 1024).toFixed(1)} KB`);
}
