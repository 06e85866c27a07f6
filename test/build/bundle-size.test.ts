/** The bundle-size budgets (scripts/budgets.ts), on the bundles this run built. */
import { describe, expect, inject, it } from "vitest";
import { budgetProblems, bundleSizes, formatSizes } from "../../scripts/budgets.ts";
import { listBundles } from "../../scripts/bundle.ts";

const sizes = bundleSizes(inject("bundleMeta"), listBundles());

describe("the bundle-size budgets", () => {
  it("hold for every function, and name no other", () => {
    const problems = budgetProblems(sizes);
    expect(problems, `${formatSizes(sizes)}\n${problems.join("\n")}`).toEqual([]);
  });

  it("fail a bundle over its budget, naming what it carries most, and one without a budget", () => {
    const broker = sizes.filter(({ name }) => name === "issue-credentials");
    expect(budgetProblems(broker, { "issue-credentials": 50 })).toEqual([
      expect.stringMatching(/^issue-credentials is \d+\.\d KB, over its 50 KB budget \(scripts\/budgets\.ts\)\. Largest: lib \d+\.\d KB, jose /),
    ]);
    expect(budgetProblems(broker, {})).toEqual([expect.stringMatching(/^issue-credentials has no budget in scripts\/budgets\.ts/)]);
    expect(formatSizes(broker, { "issue-credentials": 50 })).toMatch(/^issue-credentials +\d+\.\d KB of +50 KB {2}OVER$/);
  });
});
