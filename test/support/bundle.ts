/**
 * Runs a built function the way SCF does: a fresh Node process whose working directory is
 * the function's folder, loading index.js and calling main_handler once. The process gets
 * only the environment given: no NODE_PATH, no PATH, HOME in that folder.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Env } from "../../lib/shared/env.ts";
import { captureLogLines } from "./spawn.ts";

/** The child's side; CommonJS so it needs nothing but the module it loads. */
const DRIVER = `
const { performance } = require("node:perf_hooks");
const [event, remainingMs, handler, file] = [JSON.parse(process.argv[1]), Number(process.argv[2]), process.argv[3], process.argv[4]];
const loaded = require(file);
const loadedMs = performance.now();
const deadline = Date.now() + remainingMs;
const context = { request_id: "bundle-req-1", function_name: "under-test", getRemainingTimeInMillis: () => deadline - Date.now() };
Promise.resolve()
  .then(() => loaded[handler](event, context))
  .then((result) => ({ result, loadedMs, readyMs: performance.now() }), (error) => ({ error: String(error) }))
  .then((message) => process.send(message, () => process.disconnect()));
`;

export interface Invocation {
  readonly result?: { statusCode: number; headers: Record<string, string>; body: string };
  readonly error?: string;
  /** ms from the child's process start until the module was loaded, and until the handler answered */
  readonly loadedMs?: number;
  readonly readyMs?: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface NodeRunOptions {
  readonly cwd: string;
  /** the whole environment of the process; unset entries are left out */
  readonly env?: Env;
  /** node options before the script, e.g. ["--expose-gc"] */
  readonly nodeArgs?: readonly string[];
  /** send the child's stdout to /dev/null instead of collecting it (its log lines, in a benchmark) */
  readonly discardStdout?: boolean;
}

export interface InvokeOptions extends Partial<NodeRunOptions> {
  readonly remainingMs?: number;
  /** export to call; default main_handler */
  readonly handler?: string;
  /** module to load instead of <dir>/index.js */
  readonly module?: string;
}

export async function invokeBundle(dir: string, event: unknown, options: InvokeOptions = {}): Promise<Invocation> {
  const args = [JSON.stringify(event), String(options.remainingMs ?? 10_000), options.handler ?? "main_handler", options.module ?? "./index.js"];
  const { message, stdout, stderr } = await runNode(DRIVER, args, { cwd: dir, ...options });
  return { ...(message as Omit<Invocation, "stdout" | "stderr">), stdout, stderr };
}

/** Runs `source` (CommonJS) in a fresh process and resolves with what it sent over IPC, once it exits. */
export function runNode(source: string, args: readonly string[], options: NodeRunOptions): Promise<{ message: unknown; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(options.env ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), "-e", source, ...args], {
    cwd: options.cwd,
    env: { HOME: options.cwd, ...env },
    stdio: ["ignore", options.discardStdout ? "ignore" : "pipe", "pipe", "ipc"],
  });
  let stdout = "";
  let stderr = "";
  let message: unknown = {};
  for (const stream of [child.stdout, child.stderr]) captureLogLines(stream);
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.on("message", (received) => (message = received));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", () => resolve({ message, stdout, stderr }));
  });
}

/** `typeof require("./<file>.js")[exportName]` in a fresh process inside dir, as SCF resolves `file.export`. */
export async function exportType(dir: string, handler: string): Promise<unknown> {
  const [file, name] = [handler.slice(0, handler.lastIndexOf(".")), handler.slice(handler.lastIndexOf(".") + 1)];
  const source = `process.send(typeof require(process.argv[1])[process.argv[2]], () => process.disconnect())`;
  return (await runNode(source, [`./${file}.js`, name], { cwd: dir })).message;
}

/** No node_modules in dir or any folder above it: nothing but the bundle can be required. */
export function nothingToResolveFrom(dir: string): boolean {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, "node_modules"))) return false;
    if (dirname(at) === at) return true;
  }
}
