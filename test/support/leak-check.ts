/**
 * vitest globalSetup: the suite-wide rule that no log output ever holds a JWT, a temporary
 * secret key, a session token or a configured secret.
 *
 * What is scanned, precisely (everything that lands in the capture directory):
 * - every line the broker's loggers write during the tests: harness and test sinks
 *   (capturingSink) and the default stdout logger (main_handler, the local server);
 * - everything test workers write to stdout, stderr or the console (capture-setup.ts keeps
 *   it off the terminal, which shows only the report);
 * - the structured log lines (JSON objects) of child processes the tests spawn: the CLIs
 *   (spawn.ts) and the built bundles (bundle.ts).
 *   The rest of a CLI's output is its user interface on the developer's terminal, read by
 *   the test as data: `npm start` prints a dev token by design so the developer can copy
 *   it, and `npm run token` prints nothing else. Those are not log lines.
 * It is scanned for every value in the ledger (secrets the STS emulator is configured with
 * or hands out, configured JWT secrets, every JWT the tests mint) and for anything shaped
 * like a JWT. Reporter output of the main vitest process (test names, failure diffs) is not
 * a log and is not scanned.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { describeFindings, scanCapture } from "./leak-scan.ts";

/** Throws, naming file, line and kind but never the secret, if the capture in `dir` holds one. */
export function checkCapture(dir: string): void {
  const findings = scanCapture(dir);
  if (findings.length === 0) return;
  throw new Error(`Secrets found in the test run's log output (capture kept in ${dir}):\n${describeFindings(findings)}`);
}

/** One line for the CI log, so a run shows the check happened and over how much. */
function summary(dir: string): string {
  const files = readdirSync(dir);
  const lines = (name: string) => readFileSync(join(dir, name), "utf8").split("\n").filter(Boolean).length;
  const count = (test: (name: string) => boolean) => files.filter(test).reduce((total, name) => total + lines(name), 0);
  return `leak check: ${count((name) => name.endsWith(".log"))} captured log lines scanned for ${count((name) => name.startsWith("ledger-"))} recorded secrets and JWT shapes; none found`;
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), "broker-log-capture-"));
  project.provide("captureDir", dir);
  return () => {
    try {
      checkCapture(dir);
      console.log(summary(dir));
    } catch (error) {
      // vitest 4 reports a teardown error ("error during close") but still exits 0.
      process.exitCode = 1;
      throw error;
    }
    rmSync(dir, { recursive: true, force: true });
  };
}
