/**
 * vitest setupFiles: whatever a test worker writes to stdout, stderr or the console goes to
 * this run's capture directory, for the leak check (test/support/leak-check.ts), and not to
 * the terminal: the broker's log lines are the code's output, not the run's report. A test
 * that means to print calls `notice` (capture.ts). SHOW_TEST_OUTPUT=1 lets everything
 * through as well, for debugging.
 */
import { format } from "node:util";
import { type CaptureSource, ORIGINAL_CONSOLE, recordOutput } from "./capture.ts";

const TEED = Symbol.for("cos-sts-broker.capture.teed");
const state = globalThis as { [TEED]?: boolean; [ORIGINAL_CONSOLE]?: Console["warn"] };
const show = process.env.SHOW_TEST_OUTPUT === "1";

if (!state[TEED]) {
  state[TEED] = true;
  state[ORIGINAL_CONSOLE] = console.warn.bind(console);
  for (const [stream, source] of [
    [process.stdout, "stdout"],
    [process.stderr, "stderr"],
  ] as const) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      recordOutput(source, typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      if (show) return write(chunk, ...rest);
      const done = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
      if (done) process.nextTick(done);
      return true;
    }) as typeof stream.write;
  }
  for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      recordOutput("console" satisfies CaptureSource, format(...args));
      if (show) original(...args);
    };
  }
}
