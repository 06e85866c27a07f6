/**
 * The docs' code blocks, read the way CONTRIBUTING.md ("Commands in the docs") says they are
 * written: every fence names its language; commands go in `sh` blocks, which the docs test
 * runs unless marked `cloud` (needs a Tencent Cloud account), `docker` (needs a Docker daemon),
 * `serve` (starts a server of the build's that runs until stopped) or `setup` (the set-up
 * commands the test stands on); an `output` block right after a command
 * block is what it prints.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import MarkdownIt from "markdown-it";

export const ROOT = resolve(import.meta.dirname, "../..");

/** What a block that is not run here opens with, so a reader sees what it needs before copying it. */
const NEEDS = { cloud: "# needs the cloud", docker: "# needs Docker", serve: "# runs until stopped" } as const;
type Needs = keyof typeof NEEDS;
const isNeeds = (kind: string | undefined): kind is Needs => kind !== undefined && kind in NEEDS;

/** The only commands a `setup` block may hold: `npm start` is the stack the docs test runs on, `npm test` is the test, CI installs. */
const SETUP_COMMANDS = new Set(["npm install && npm start", "npm install", "npm ci", "npm start", "npm test"]);

/** A block that starts like a command a reader would paste. */
const COMMAND = /^(\$ )?(npm|npx|node|curl|scf|bash|sh|export)\s/;

/** `npm start`, alone, with variables before it: the stack the blocks after it in the same file run against. */
const START = /^((?:[A-Z][A-Z0-9_]*=\S+\s+)*)npm start$/;

export interface Fence {
  /** Repository path of the markdown file. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly attributes: readonly string[];
  readonly text: string;
}

interface ExpectedOutput {
  readonly fence: Fence;
  readonly format: "json" | "text";
  readonly exit: number;
}

export type CommandBlock =
  | { readonly kind: "run"; readonly fence: Fence; readonly output?: ExpectedOutput; readonly start?: string }
  | { readonly kind: "start"; readonly fence: Fence; readonly output?: ExpectedOutput; readonly start: string }
  | { readonly kind: Needs | "setup"; readonly fence: Fence };

export interface ReadDocs {
  readonly blocks: readonly CommandBlock[];
  /** Blocks that break the convention, each named by file and line. */
  readonly errors: readonly string[];
}

const markdown = new MarkdownIt();

/** The project's own files, relative to the root: no dependencies, build output or VCS data. */
export function projectFiles(keep: (path: string) => boolean, dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if ([".git", "node_modules", "dist", "test-artifacts", "coverage"].includes(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return projectFiles(keep, path);
    const file = relative(ROOT, path).split("\\").join("/");
    return keep(file) ? [file] : [];
  });
}

/** Every markdown file of the project: the README, CONTRIBUTING, docs/ and the examples' READMEs. */
export const markdownFiles = (): string[] => projectFiles((file) => file.endsWith(".md"));

export function fencesOf(file: string, text: string): Fence[] {
  return markdown
    .parse(text, {})
    .filter((token) => token.type === "fence")
    .map((token) => {
      const [lang = "", ...attributes] = token.info.trim().split(/\s+/);
      return { file, line: (token.map?.[0] ?? 0) + 1, lang, attributes, text: token.content };
    });
}

/** The lines a shell would run: comments and blank lines dropped, continuations joined. */
export function commandLines(text: string): string[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.replace(/(^|\s)#.*$/, "").trim())
    .filter(Boolean);
}

export function readDocs(files: readonly string[] = markdownFiles()): ReadDocs {
  const blocks: CommandBlock[] = [];
  const errors: string[] = [];
  for (const file of files) {
    const read = classify(fencesOf(file, readFileSync(join(ROOT, file), "utf8")));
    blocks.push(...read.blocks);
    errors.push(...read.errors);
  }
  return { blocks, errors };
}

/** One file's fences -> its command blocks, each with the output block after it and the stack it runs on. */
export function classify(fences: readonly Fence[]): ReadDocs {
  const blocks: CommandBlock[] = [];
  const errors: string[] = [];
  let start: string | undefined;
  fences.forEach((fence, index) => {
    const where = `${fence.file}:${fence.line}`;
    const previous = fences[index - 1];
    if (!fence.lang) errors.push(`${where}: name the block's language (\`\`\`sh for commands, \`\`\`text, \`\`\`json, ...)`);
    if (["bash", "shell", "console", "zsh", "shell-session"].includes(fence.lang)) errors.push(`${where}: write commands in \`\`\`sh blocks`);
    if (fence.attributes.includes("output")) {
      const problem = outputProblem(fence, previous);
      if (problem) errors.push(`${where}: ${problem}`);
      return;
    }
    if (fence.lang !== "sh") {
      if (COMMAND.test(fence.text)) errors.push(`${where}: a command in a ${fence.lang || "plain"} block; commands go in sh blocks, so they run`);
      if (fence.attributes.length > 0)
        errors.push(
          `${where}: unknown attribute '${fence.attributes.join(" ")}' (only sh blocks take cloud, docker, serve or setup, only outputs take output)`,
        );
      return;
    }
    const next = fences[index + 1];
    const output = next?.attributes.includes("output") ? expectedOutput(next) : undefined;
    const block = commandBlock(fence, output, start, errors);
    if (block?.kind === "start") start = block.start;
    if (block) blocks.push(block);
  });
  return { blocks, errors };
}

function commandBlock(fence: Fence, output: ExpectedOutput | undefined, start: string | undefined, errors: string[]): CommandBlock | undefined {
  const where = `${fence.file}:${fence.line}`;
  const [kind, ...rest] = fence.attributes;
  const marked = (Object.keys(NEEDS) as Needs[]).find((need) => fence.text.startsWith(NEEDS[need]));
  if (rest.length > 0 || (kind !== undefined && !isNeeds(kind) && kind !== "setup")) {
    errors.push(`${where}: unknown attribute '${fence.attributes.join(" ")}' (sh blocks take cloud, docker, serve or setup)`);
    return undefined;
  }
  if ((isNeeds(kind) ? kind : undefined) !== marked) {
    const need = isNeeds(kind) ? kind : (marked ?? "cloud");
    errors.push(`${where}: a sh ${need} block, and only one, opens with '${NEEDS[need]}: ...' so a reader sees what it needs`);
    return undefined;
  }
  if ((isNeeds(kind) || kind === "setup") && output) errors.push(`${where}: a ${kind} block is not run, so it shows no output block`);
  if (kind === "docker") {
    const other = commandLines(fence.text).find((line) => !line.startsWith("docker "));
    if (other) errors.push(`${where}: a docker block holds docker commands only; run '${other}' in a plain sh block`);
  }
  if (isNeeds(kind)) return { kind, fence };
  const lines = commandLines(fence.text);
  if (kind === "setup") {
    const unknown = lines.filter((line) => !SETUP_COMMANDS.has(line));
    if (unknown.length > 0) errors.push(`${where}: a setup block holds only ${[...SETUP_COMMANDS].join(", ")}; run '${unknown[0]}' in a plain sh block`);
    return { kind, fence };
  }
  if (lines.length === 0) errors.push(`${where}: a sh block with no command`);
  const startLine = lines.length === 1 && START.test(lines[0]!) ? lines[0] : undefined;
  if (startLine) return { kind: "start", fence, output, start: startLine };
  if (lines.some((line) => /\bnpm start\b/.test(line))) errors.push(`${where}: npm start goes alone in its block (with variables before it, if any)`);
  return { kind: "run", fence, output, start };
}

function outputProblem(fence: Fence, previous: Fence | undefined): string | undefined {
  const unknown = fence.attributes.filter((attribute) => attribute !== "output" && !/^exit=\d+$/.test(attribute));
  if (unknown.length > 0) return `unknown attribute '${unknown.join(" ")}' on an output block (output, exit=N)`;
  if (previous?.lang !== "sh" || previous.attributes.length > 0) return "an output block follows the sh block whose output it shows";
  return undefined;
}

function expectedOutput(fence: Fence): ExpectedOutput {
  const exit = fence.attributes.find((attribute) => attribute.startsWith("exit="));
  return { fence, format: fence.lang === "json" ? "json" : "text", exit: exit ? Number(exit.slice(5)) : 0 };
}
