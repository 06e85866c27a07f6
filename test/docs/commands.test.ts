/**
 * Docs that cannot drift: every sh block in the project's markdown runs, against the stack
 * `npm start` serves, and prints what the output block after it shows. Blocks marked
 * `sh cloud` (they need a Tencent Cloud account), `sh docker` (a Docker daemon) or `sh serve`
 * (a server that runs until stopped) are not run; only the npm scripts and built files they name
 * are checked to exist (test/build/dockerfile.test.ts and fetch-bundle.test.ts run what they run). The convention
 * is in CONTRIBUTING.md, "Commands in the docs".
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { ESM_BUNDLES, listFunctions } from "../../scripts/bundle.ts";
import { type CommandBlock, commandLines, readDocs } from "./blocks.ts";
import { outputMismatch } from "./expect.ts";
import { DOCUMENTED, removeWorkDir, runBlock, type Stack, startStack } from "./shell.ts";

const BLOCK_TIMEOUT_MS = 120_000;
const SCRIPTS = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> }).scripts;
const { blocks, errors } = readDocs();
/** Why a block is not run here; the tests that run what it runs instead are named in it. */
const NOT_RUN = { cloud: "needs the cloud", docker: "needs Docker", serve: "runs until stopped" } as const;
/** The entry files `npm run build` writes (scripts/bundle.ts), as the docs may name them. */
const BUILT = [...listFunctions().map((name) => `dist/${name}/index.js`), ...ESM_BUNDLES.map((name) => `dist/${name}/index.mjs`)];

/** One `npm start` per distinct start line, shared by every block that runs on it. */
const stacks = new Map<string, Promise<Stack>>();
function stackFor(line: string): Promise<Stack> {
  let stack = stacks.get(line);
  if (!stack) {
    stack = startStack(line);
    stacks.set(line, stack);
  }
  return stack;
}

afterAll(async () => {
  await Promise.all([...stacks.values()].map(async (stack) => (await stack.catch(() => undefined))?.stop()));
  removeWorkDir();
});

const title = (block: CommandBlock) => `${block.fence.file}:${block.fence.line} ${commandLines(block.fence.text)[0] ?? ""}`.slice(0, 140);
const needsStack = (text: string) => text.includes(DOCUMENTED.broker) || text.includes(DOCUMENTED.site);

function expectOutput(block: CommandBlock & { kind: "run" | "start" }, code: number | null, output: string): void {
  expect(code, output).toBe(block.output?.exit ?? 0);
  if (block.output) expect(outputMismatch(block.output.format, block.output.fence.text, output)).toBeUndefined();
}

describe("the docs' code blocks", () => {
  it("follow the convention", () => {
    expect(errors).toEqual([]);
  });

  it("are found in the README and docs/, most of them run here", () => {
    const files = new Set(blocks.map((block) => block.fence.file));
    for (const file of ["README.md", "docs/profiles.md", "docs/scheduled-check.md", "docs/deploy.md"]) expect(files).toContain(file);
    expect(blocks.filter((block) => block.kind === "run").length).toBeGreaterThan(10);
  });
});

describe.concurrent("every command the docs show", () => {
  for (const block of blocks) {
    // Not run here (they need a Tencent Cloud account), but every npm script they name must exist.
    if (block.kind === "cloud" || block.kind === "docker" || block.kind === "serve") {
      it(`names only real npm scripts and built files (${NOT_RUN[block.kind]}, not run): ${title(block)}`, () => {
        for (const [, script] of block.fence.text.matchAll(/\bnpm run(?: -s)? ([\w:.-]+)/g)) expect(SCRIPTS, script).toHaveProperty([script!]);
        for (const [file] of block.fence.text.matchAll(/\bdist\/[\w./-]+/g)) expect(BUILT, file).toContain(file);
      });
    }
    if (block.kind === "start") {
      it(
        title(block),
        async () => {
          const stack = await stackFor(block.start);
          expectOutput(block, 0, stack.welcome);
        },
        BLOCK_TIMEOUT_MS,
      );
    }
    if (block.kind === "run") {
      it(
        title(block),
        async () => {
          const stack = needsStack(block.fence.text) ? await stackFor(block.start ?? "npm start") : undefined;
          const ran = await runBlock(block.fence.text, stack);
          expectOutput(block, ran.code, ran.output);
        },
        BLOCK_TIMEOUT_MS,
      );
    }
  }
});
