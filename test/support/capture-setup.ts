/**
 * vitest setupFiles: tees everything a test worker writes to stdout, stderr or the console
 * into this run's capture directory, for the leak check (test/support/leak-check.ts).
 * Output still reaches the terminal as before.
 */
import { format } from "node:util";
import { type CaptureSource, recordOutput } from "./capture.ts";

const TEED = Symbol.for("cos-sts-broker.capture.teed");
const state = globalThis as { [TEED]?: boolean };

if (!state[TEED]) {
  state[TEED] = true;
  for (const [stream, source] of [
    [process.stdout, "stdout"],
    [process.stderr, "stderr"],
  ] as const) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      recordOutput(source, typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
  for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      recordOutput("console" satisfies CaptureSource, format(...args));
      original(...args);
    };
  }
}
