/**
 * Runs a built function the way SCF does: a fresh Node process whose working directory is
 * the function's folder, loading index.js and calling main_handler once. The process gets
 * only the environment given: no NODE_PATH, no PATH, HOME in that folder.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Env } from "../../lib/config.ts";

/** The child's side; CommonJS so it needs nothing but the bundle next to it. */
export const DRIVER = `
const { performance } = require("node:perf_hooks");
const loaded = require("./index.js");
const [event, remainingMs, handler] = [JSON.parse(process.argv[1]), Number(process.argv[2]), process.argv[3]];
const deadline = Date.now() + remainingMs;
const context = { request_id: "bundle-req-1", function_name: "under-test", getRemainingTimeInMillis: () => deadline - Date.now() };
Promise.resolve()
  .then(() => loaded[handler](event, context))
  .then((result) => ({ result, readyMs: performance.now() }), (error) => ({ error: String(error) }))
  .then((message) => process.send(message, () => process.disconnect()));
`;

export interface Invocation {
  readonly result?: { statusCode: number; headers: Record<string, string>; body: string };
  readonly error?: string;
  /** ms from the child's process start to the handler's answer */
  readonly readyMs?: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface InvokeOptions {
  /** the whole environment of the process; unset entries are left out */
  readonly env?: Env;
  readonly remainingMs?: number;
  /** export to call; default main_handler */
  readonly handler?: string;
  /** node options, e.g. ["--require", file] */
  readonly nodeArgs?: readonly string[];
}

export function invokeBundle(dir: string, event: unknown, options: InvokeOptions = {}): Promise<Invocation> {
  const args = [...(options.nodeArgs ?? []), "-e", DRIVER, JSON.stringify(event), String(options.remainingMs ?? 10_000), options.handler ?? "main_handler"];
  const env = Object.fromEntries(Object.entries(options.env ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const child = spawn(process.execPath, args, { cwd: dir, env: { HOME: dir, ...env }, stdio: ["ignore", "pipe", "pipe", "ipc"] });
  let stdout = "";
  let stderr = "";
  let message: Omit<Invocation, "stdout" | "stderr"> = {};
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.on("message", (received) => (message = received as typeof message));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", () => resolve({ ...message, stdout, stderr }));
  });
}

/** No node_modules in dir or any folder above it: nothing but the bundle can be required. */
export function nothingToResolveFrom(dir: string): boolean {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, "node_modules"))) return false;
    if (dirname(at) === at) return true;
  }
}

/** `typeof require("./<file>.js")[exportName]` in a fresh process inside dir, as SCF resolves `file.export`. */
export function exportType(dir: string, handler: string): Promise<string> {
  const [file, name] = [handler.slice(0, handler.lastIndexOf(".")), handler.slice(handler.lastIndexOf(".") + 1)];
  const source = `process.stdout.write(typeof require(${JSON.stringify(`./${file}.js`)})[${JSON.stringify(name)}])`;
  const child = spawn(process.execPath, ["-e", source], { cwd: dir, env: { HOME: dir }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", () => resolve(output));
  });
}
