/**
 * Size budgets for the deployed bundles: every byte is parsed at each cold start, and a bundle
 * that grows unseen usually means a dependency upgrade pulled in more than it used to.
 * test/build/bundle-size.test.ts fails over budget; `npm run size` prints each bundle beside
 * its budget and fails the same way (.ci/run runs it).
 */
import type { Metafile } from "esbuild";

/**
 * Kilobytes (1024 bytes) per function, some 10-15% above the size when last set. To raise
 * one, deliberately: run `npm run size` to see which packages grew, make sure the growth is
 * wanted rather than a dependency that could be left out, then raise the number here and say why
 * in the commit message.
 */
export const BUDGETS_KB: Readonly<Record<string, number>> = {
  // 96.7 KB when set, the STS SDK (120.2 KB with it) replaced by lib/sts/tc3.ts
  "issue-credentials": 108,
  // 100.5 KB when set: the broker, node:http's adapter (SCF web functions, containers)
  server: 112,
  // 79.7 KB when set: the broker and the Fetch API's adapter, an ES module (no code cache)
  fetch: 92,
  // 921.8 KB when set (the COS SDK for the probe)
  "credential-check": 1024,
};

export interface BundleSize {
  readonly name: string;
  readonly bytes: number;
  /** The packages (or top folders) that contribute most, largest first. */
  readonly largest: readonly (readonly [string, number])[];
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

/** Each bundle's size from esbuild's metafile, whose outputs end in `<name>/app.js` (or `<name>/index.mjs`, an ES module). */
export function bundleSizes(metafile: Metafile, names: readonly string[]): BundleSize[] {
  return names.map((name) => {
    const output = Object.entries(metafile.outputs).find(([file]) => file.endsWith(`${name}/app.js`) || file.endsWith(`${name}/index.mjs`))?.[1];
    if (!output) throw new Error(`no bundle for ${name} in this build`);
    const byPackage = new Map<string, number>();
    for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
      const owner = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? file.split("/")[0]!;
      byPackage.set(owner, (byPackage.get(owner) ?? 0) + bytesInOutput);
    }
    return { name, bytes: output.bytes, largest: [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 5) };
  });
}

/** One line per bundle: its size beside its budget. */
export function formatSizes(sizes: readonly BundleSize[], budgets = BUDGETS_KB): string {
  const width = Math.max(...sizes.map(({ name }) => name.length));
  return sizes
    .map(({ name, bytes }) => {
      const budget = budgets[name];
      const verdict = budget === undefined ? "no budget" : bytes > budget * 1024 ? "OVER" : "ok";
      return `${name.padEnd(width)}  ${kb(bytes).padStart(9)} of ${(budget === undefined ? "-" : `${budget} KB`).padStart(7)}  ${verdict}`;
    })
    .join("\n");
}

/** What fails the check: a bundle over its budget or without one, and a budget for no bundle. */
export function budgetProblems(sizes: readonly BundleSize[], budgets = BUDGETS_KB): string[] {
  const over = sizes.flatMap(({ name, bytes, largest }) => {
    const budget = budgets[name];
    if (budget === undefined) return [`${name} has no budget in scripts/budgets.ts: add one some 10-15% above ${kb(bytes)}`];
    if (bytes <= budget * 1024) return [];
    const parts = largest.map(([owner, size]) => `${owner} ${kb(size)}`).join(", ");
    return [`${name} is ${kb(bytes)}, over its ${budget} KB budget (scripts/budgets.ts). Largest: ${parts}`];
  });
  const stale = Object.keys(budgets)
    .filter((name) => !sizes.some((size) => size.name === name))
    .map((name) => `scripts/budgets.ts has a budget for ${name}, which is not a function`);
  return [...over, ...stale];
}
