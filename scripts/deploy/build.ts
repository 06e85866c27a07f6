/**
 * `npm run build`, also the deploy's first step: dist/<function>/ (index.js, app.js and its
 * code cache) for every function, and dist/serverless.yml listing only the variables set now (yml.ts says why).
 */
import { rm } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Env } from "../../lib/shared/env.ts";
import { bundleFunctions, DIST_DIR, ROOT } from "../bundle.ts";
import { writeResolvedYml } from "./yml.ts";

export async function buildDist(env: Env, print: (line: string) => void): Promise<void> {
  const outDir = join(ROOT, DIST_DIR);
  await rm(outDir, { recursive: true, force: true });
  const metafile = await bundleFunctions({ outDir, profilesFile: env.STS_PROFILES_FILE || undefined });
  for (const [file, { bytes }] of Object.entries(metafile.outputs)) print(`${relative(ROOT, join(ROOT, file))}  ${(bytes / 1024).toFixed(1)} KB`);
  const unset = writeResolvedYml(ROOT, outDir, env);
  print(`${DIST_DIR}/serverless.yml  for \`scf deploy\`, with the variables set now`);
  if (unset.length > 0) print(`  still unset, needed to deploy: ${unset.join(", ")}`);
}
