/**
 * Vitest global setup: builds the deployable bundles once per run, into a temporary folder
 * outside the repository (so nothing can resolve from its node_modules), for the bundle,
 * package and serverless.yml tests.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Metafile } from "esbuild";
import type { TestProject } from "vitest/node";
import { bundleFunctions } from "../../scripts/bundle.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Output of the slim build: <bundleDir>/<function>/index.js, laid out like dist/. */
    bundleDir: string;
    /** esbuild's account of that build: which inputs went into which bundle. */
    bundleMeta: Metafile;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = await mkdtemp(join(tmpdir(), "broker-build-"));
  const bundleDir = join(root, "dist");
  project.provide("bundleMeta", await bundleFunctions({ outDir: bundleDir }));
  project.provide("bundleDir", bundleDir);
  return () => rm(root, { recursive: true, force: true });
}
