/**
 * `npm run size`: builds every function into a temporary folder (dist/ is left alone), prints
 * each bundle's size beside its budget (scripts/budgets.ts), and fails if one is over.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { budgetProblems, bundleSizes, formatSizes } from "./budgets.ts";
import { bundleFunctions, listBundles } from "./bundle.ts";
import { exitOnHelp } from "./help.ts";

exitOnHelp("usage: npm run size\n  Builds every function and prints its size beside its budget (scripts/budgets.ts); exit 1 over budget.");

const outDir = await mkdtemp(join(tmpdir(), "broker-size-"));
try {
  const sizes = bundleSizes(await bundleFunctions({ outDir }), listBundles());
  console.log(formatSizes(sizes));
  const problems = budgetProblems(sizes);
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) process.exitCode = 1;
} finally {
  await rm(outDir, { recursive: true, force: true });
}
