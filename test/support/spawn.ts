/**
 * Runs the project's own CLIs (`npm start`, `npm run token`, ...) as a newcomer would, in a
 * clean environment. Their structured log lines go to the leak check (leak-check.ts says why
 * the rest of their output does not).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { recordOutput } from "./capture.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const TSX = join(ROOT, "node_modules/tsx/dist/cli.mjs");
/** npm start's readable log line opens with the time of day (dev/log-lines.ts). */
const READABLE_LOG_LINE = /^\d\d:\d\d:\d\d {2}/;

/** A working directory with no .env, and an environment with nothing of the developer's. */
function cleanEnv(extra: Record<string, string> = {}): { cwd: string; env: Record<string, string> } {
  return { cwd: mkdtempSync(join(tmpdir(), "broker-cli-")), env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...extra } };
}

export function spawnScript(script: string, args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
  const { cwd, env } = cleanEnv(extraEnv);
  const child = spawn(process.execPath, [TSX, join(ROOT, script), ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  for (const stream of [child.stdout, child.stderr]) captureLogLines(stream);
  return child;
}

/** Sends the broker's log lines among a child's output to the leak check; the rest is the child's interface. */
export function captureLogLines(stream: Readable | null): void {
  let pending = "";
  stream?.on("data", (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) if (isLogLine(line)) recordOutput("child", line);
  });
}

/** The broker's log lines: single-line JSON objects (lib/shared/log.ts), or npm start's readable form of them (dev/log-lines.ts). */
function isLogLine(line: string): boolean {
  if (READABLE_LOG_LINE.test(line)) return true;
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

export async function runScript(
  script: string,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnScript(script, args, extraEnv);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on("close", done));
  return { code, stdout, stderr };
}

/** Resolves with everything printed once `pattern` shows up on stdout. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; got:\n${output}`)), timeoutMs);
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (pattern.test(output)) {
        clearTimeout(timer);
        resolvePromise(output);
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${pattern}:\n${output}`));
    });
  });
}
