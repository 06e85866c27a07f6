/**
 * The server (functions/server) as it runs deployed: a process started by a command (its
 * Dockerfile CMD, an SCF web function's scf_bootstrap), told to listen on any free port, found
 * by its `listening` log line, and stopped with SIGTERM as a platform stops it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { Env } from "../../lib/shared/env.ts";
import { captureLogLines } from "./spawn.ts";

export interface ServerProcess {
  readonly origin: string;
  readonly child: ChildProcess;
  /** Everything it printed so far (its JSON log lines). */
  output(): string;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

export interface ServerCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** The whole environment of the process; PORT and HOST are set to any free loopback port. */
  readonly env: Env;
}

export async function startServerProcess({ command, args, cwd, env }: ServerCommand, timeoutMs = 15_000): Promise<ServerProcess> {
  const given = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const child = spawn(command, args, { cwd, env: { HOME: cwd, ...given, PORT: "0", HOST: "127.0.0.1" }, stdio: ["ignore", "pipe", "pipe"] });
  let printed = "";
  for (const stream of [child.stdout, child.stderr]) {
    captureLogLines(stream);
    stream?.on("data", (chunk: Buffer) => (printed += chunk.toString()));
  }
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within ${timeoutMs} ms:\n${printed}`)), timeoutMs);
    const look = () => {
      const line = /"event":"listening"[^\n]*"port":(\d+)/.exec(printed);
      if (line) {
        clearTimeout(timer);
        resolve(Number(line[1]));
      }
    };
    child.stdout?.on("data", look);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${printed}`));
    });
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    child,
    output: () => printed,
    stop: () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}
