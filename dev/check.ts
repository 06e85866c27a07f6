/**
 * `npm run check [-- --json]`: the scheduled credential check, run here, with a readable
 * report. With no STS configured it runs against the same embedded defaults as `npm start`
 * (the STS emulator and the loopback COS server); with real configuration (the shell or a
 * .env file) it checks the real cloud, and alerts ALERT_WEBHOOK_URL like the timer function.
 * Exits 1 when a check failed.
 */
import { parseArgs } from "node:util";
import { type CheckReport, runCredentialCheck } from "../lib/check/run.ts";
import { createLogger } from "../lib/shared/log.ts";
import { loadDotEnv } from "./defaults.ts";
import { type EmbeddedCloud, IncompleteConfiguration, startEmbeddedCloud } from "./embedded.ts";

const USAGE = `usage: npm run check [-- --json]
  Runs the scheduled credential check once: against the local STS emulator and COS server, or
  against Tencent Cloud when STS_SECRET_ID/STS_SECRET_KEY are set (shell or .env). Exit 1 when a check fails.
  --json   print the log line the timer function writes, instead of the report`;
const MARK = { pass: "PASS", fail: "FAIL", skipped: "SKIP", "not-run": "----" } as const;

async function main(): Promise<void> {
  const { values } = readOptions();
  if (values.help) {
    console.log(USAGE);
    return;
  }
  loadDotEnv();
  const cloud = await startEmbeddedCloud(process.env);
  try {
    const lines: string[] = [];
    const report = await runCredentialCheck({ env: cloud.env, logger: createLogger((line) => lines.push(line)), trigger: "npm run check" });
    console.log(values.json ? lines.join("\n") : describe(report, cloud));
    process.exitCode = report.ok ? 0 : 1;
  } finally {
    await cloud.close();
  }
}

class UsageError extends Error {}

function readOptions() {
  try {
    return parseArgs({ options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function describe(report: CheckReport, cloud: EmbeddedCloud): string {
  const target = cloud.emulator
    ? `the local STS emulator and COS server (fake credentials; set STS_SECRET_ID and STS_SECRET_KEY to check the real cloud)`
    : `${cloud.env.STS_ENDPOINT || "sts.tencentcloudapi.com"} and ${cloud.env.COS_ENDPOINT || "the bucket's public COS domain"}`;
  const width = Math.max(...report.results.map((result) => result.name.length));
  const rows = report.results.map((result) => {
    const took = `${Math.round(result.durationMs)} ms`.padStart(8);
    return `  ${MARK[result.status]}  ${result.name.padEnd(width)} ${took}  ${result.detail.split("; ").join(`\n${" ".repeat(width + 19)}`)}`;
  });
  const verdict = report.ok ? `All checks passed in ${Math.round(report.durationMs)} ms.` : `The check FAILED (${Math.round(report.durationMs)} ms).`;
  const alert = report.alert
    ? [`Alert to ALERT_WEBHOOK_URL: ${report.alert.sent ? "sent" : `not sent (${report.alert.detail})`} after ${report.alert.attempts} attempt(s).`]
    : [];
  const why = `(${cloud.mode.kind === "emulator" ? "local emulators" : "Tencent Cloud"}, because ${cloud.mode.reason})`;
  return [`Credential check against ${target}`, why, "", ...rows, "", verdict, ...alert].join("\n");
}

main().catch((error: unknown) => {
  if (error instanceof IncompleteConfiguration) {
    console.error(`The configuration is incomplete: ${error.message}`);
    process.exit(1);
  }
  console.error(error instanceof UsageError ? `${error.message}\n${USAGE}` : error instanceof Error ? error.message : String(error));
  process.exit(2);
});
