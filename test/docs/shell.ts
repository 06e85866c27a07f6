/**
 * Runs a doc's sh block as a reader would: in bash, with npm and curl, from the repository
 * root. What differs, as CONTRIBUTING.md ("Commands in the docs") says: the root is a copy
 * made of symlinks without a developer's .env; npm runs silent (no banner of its own);
 * `npm start` listens on free ports, and curl's documented addresses (:9000, :9001) are
 * rewritten to them, and back in the output; BENCH_QUICK=1 keeps the benchmarks short.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureLogLines, waitForOutput } from "../support/spawn.ts";
import { ROOT } from "./blocks.ts";

/** Where the docs say `npm start` serves the broker and the upload page. */
export const DOCUMENTED = { broker: "http://127.0.0.1:9000", site: "http://127.0.0.1:9001" } as const;

export interface Stack {
  readonly broker: string;
  readonly site: string;
  /** What `npm start` printed before it began serving, addresses as documented. */
  readonly welcome: string;
  stop(): Promise<void>;
}

export interface Ran {
  readonly code: number | null;
  /** stdout and stderr as the terminal shows them, addresses as documented. */
  readonly output: string;
}

const BLOCK_TIMEOUT_MS = 90_000;
/** The last line of `npm start`'s welcome. */
const WELCOME_END = /^Requests are logged below.*\n/m;
/** curl with the documented addresses swapped for the stack's. */
const CURL = `curl() {
  local args=("\${@//"${DOCUMENTED.broker}"/$DOCS_BROKER}")
  command curl --max-time 30 "\${args[@]//"${DOCUMENTED.site}"/$DOCS_SITE}"
}`;

let copy: string | undefined;

/** The repository as symlinks, less .env: doc commands read nothing of the developer's. */
function workDir(): string {
  if (copy) return copy;
  copy = mkdtempSync(join(tmpdir(), "broker-docs-"));
  for (const name of readdirSync(ROOT)) if (name !== ".env") symlinkSync(join(ROOT, name), join(copy, name));
  return copy;
}

export function removeWorkDir(): void {
  if (copy) rmSync(copy, { recursive: true, force: true });
  copy = undefined;
}

function bash(script: string, extraEnv: Record<string, string>): ChildProcess {
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    npm_config_loglevel: "silent",
    npm_config_update_notifier: "false",
    npm_config_fund: "false",
    BENCH_QUICK: "1",
    ...extraEnv,
  };
  // Its own process group, so stopping it stops npm and the node process under it too.
  return spawn("bash", ["-c", script], { cwd: workDir(), env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
}

function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const closed = new Promise<void>((done) => child.once("close", () => done()));
  try {
    process.kill(-child.pid!, "SIGTERM");
  } catch {
    return Promise.resolve(); // already gone
  }
  return closed;
}

/** The stack's addresses written as the docs write them. */
function asDocumented(text: string, stack: Pick<Stack, "broker" | "site">): string {
  const swap = (from: string, to: string) => (value: string) => value.replace(new RegExp(`${from.replace(/[.]/g, "\\.")}(?!\\d)`, "g"), to);
  return swap(stack.site, DOCUMENTED.site)(swap(stack.broker, DOCUMENTED.broker)(text));
}

/** `npm start` (with the block's variables) on free ports, until it has printed its welcome. */
export async function startStack(line: string): Promise<Stack> {
  const child = bash(`exec 2>&1\n${line}`, { PORT: "0" });
  captureLogLines(child.stdout);
  let welcome: string;
  try {
    welcome = await waitForOutput(child, WELCOME_END, 30_000);
  } catch (error) {
    await stopGroup(child);
    throw error;
  }
  const broker = /listening on (http:\S+)/.exec(welcome)?.[1];
  const site = /^Open (http:\/\/[^/\s]+)/m.exec(welcome)?.[1];
  if (!broker || !site) throw new Error(`npm start printed no addresses:\n${welcome}`);
  return { broker, site, welcome: asDocumented(welcome, { broker, site }), stop: () => stopGroup(child) };
}

/** One sh block, as one bash script that stops at the first failing command. */
export async function runBlock(text: string, stack?: Stack): Promise<Ran> {
  const script = ["set -eo pipefail", "exec 2>&1", ...(stack ? [CURL] : []), text].join("\n");
  const child = bash(script, stack ? { DOCS_BROKER: stack.broker, DOCS_SITE: stack.site } : {});
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => void stopGroup(child), BLOCK_TIMEOUT_MS);
  const code = await new Promise<number | null>((done) => child.on("close", done));
  clearTimeout(timer);
  return { code, output: stack ? asDocumented(output, stack) : output };
}
