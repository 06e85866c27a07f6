/**
 * The worker side of the suite-wide leak check (test/support/leak-check.ts): appends log
 * output to this run's capture directory, and every secret the tests create or are handed
 * to a ledger there. After all files, the check scans the one for the other.
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";
import type { LogSink } from "../../lib/shared/log.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The directory leak-check.ts made for this run. */
    captureDir: string;
  }
}

/** Where captured output goes; capture-setup.ts takes stdout/stderr/console. */
export type CaptureSource = "logger" | "stdout" | "stderr" | "console" | "child";

function captureDir(): string | undefined {
  try {
    return inject("captureDir");
  } catch {
    return undefined; // not inside a vitest worker (e.g. a script importing test support)
  }
}

export function recordOutput(source: CaptureSource, text: string): void {
  const dir = captureDir();
  if (dir) appendFileSync(join(dir, `${source}-${process.pid}.log`), text.endsWith("\n") ? text : `${text}\n`);
}

export function recordSecret(kind: string, value: string | undefined): void {
  const dir = captureDir();
  if (dir && value) appendFileSync(join(dir, `ledger-${process.pid}.jsonl`), `${JSON.stringify({ kind, value })}\n`);
}

/** Where capture-setup.ts keeps the console's own `warn`, which `notice` prints through. */
export const ORIGINAL_CONSOLE = Symbol.for("cos-sts-broker.capture.console");

/** Prints to the run's report on purpose (a skip notice); captured like all other output. */
export function notice(text: string): void {
  recordOutput("console", text);
  const warn = (globalThis as { [ORIGINAL_CONSOLE]?: Console["warn"] })[ORIGINAL_CONSOLE] ?? console.warn;
  warn(text);
}

/** A log sink for tests that keep lines in memory: the lines are captured as well. */
export function capturingSink(keep: LogSink): LogSink {
  return (line) => {
    recordOutput("logger", line);
    keep(line);
  };
}

/** STS emulator options that report every secret to the ledger. */
export function ledgered<T extends object>(options?: T): T & { onSecret: (kind: string, value: string) => void } {
  return { ...(options as T), onSecret: recordSecret };
}
