/**
 * `npm start [-- --json]`: the broker on http://127.0.0.1:9000 and an upload page on :9001.
 * With no STS configuration it runs on embedded defaults against the in-process STS emulator
 * and loopback COS server; with a real STS key (from the shell or a .env file) it talks to
 * real STS and the page to the real bucket (dev/mode.ts decides, and it says which and why).
 * Each request prints one readable line; --json prints the JSON lines the deployed function writes.
 */
import { parseArgs } from "node:util";
import { ConfigProblems, type Env, readVar } from "../lib/shared/env.ts";
import { createLogger } from "../lib/shared/log.ts";
import { DEV_JWT_SECRET, loadDotEnv, mintToken } from "./defaults.ts";
import { IncompleteConfiguration } from "./embedded.ts";
import { PortInUse } from "./listen.ts";
import { readableSink } from "./log-lines.ts";
import { type DevStack, startDevStack } from "./stack.ts";

const USAGE = `usage: npm start [-- --json]
  Starts the broker (PORT, default 9000) and the upload page (SITE_PORT, default PORT+1), on
  the local STS emulator and COS server unless STS_SECRET_ID/STS_SECRET_KEY are set (shell or .env).
  --json   print the JSON log lines the deployed function writes, instead of one readable line per request`;
/** Which variable moves each server (docs/local-development.md). */
const PORT_VARIABLE: Readonly<Record<string, string>> = { broker: "PORT", "upload page": "SITE_PORT (default PORT+1)" };

class UsageError extends Error {}

async function main(): Promise<void> {
  const json = readOptions();
  loadDotEnv();
  const env: Env = { ...process.env };
  const port = Number(readVar(env, "PORT") ?? 9000);
  // PORT=0 (any free port) applies to the page too.
  const sitePort = Number(readVar(env, "SITE_PORT") ?? (port === 0 ? 0 : port + 1));
  const print = (line: string) => console.log(line);
  const logger = json ? createLogger() : createLogger(readableSink(print));
  // Ports next to the broker's, so a mini-program's config.js can keep pointing at them (free ones when taken).
  const next = (offset: number) => (port === 0 ? 0 : port + offset);
  const stack = await startDevStack(env, { port, sitePort, cosPort: next(2), wechat: { port: next(3) }, host: readVar(env, "HOST") ?? "127.0.0.1", logger });
  if (!stack.broker.app.ok) {
    const { error } = stack.broker.app;
    const problems = error instanceof ConfigProblems ? error.problems : [error.message];
    console.error(`\nThe broker is not configured correctly:\n${problems.map((problem) => `  - ${problem}`).join("\n")}\n`);
    await stack.close();
    process.exit(1);
  }
  await printWelcome(stack, json);
  const stop = () => void stack.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

function readOptions(): boolean {
  try {
    const { values } = parseArgs({ options: { json: { type: "boolean", default: false }, help: { type: "boolean", short: "h" } } });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    return values.json;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function printWelcome(stack: DevStack, json: boolean): Promise<void> {
  const { broker, emulator, cos, wechat, env, mode } = stack;
  const url = broker.url;
  const lines = [`cos-sts-broker listening on ${url}`];
  if (emulator && cos) {
    lines.push(
      `Mode: local emulators, because ${mode.reason}.`,
      `STS: local emulator at ${emulator.url}. Its credentials are fake and DO NOT work on Tencent Cloud.`,
      `COS: local server at ${cos.url} for bucket ${env.COS_BUCKET} (${env.COS_REGION}); objects live in memory.`,
      "To use Tencent Cloud, set STS_SECRET_ID, STS_SECRET_KEY, COS_BUCKET, COS_REGION and JWT_SECRET (shell or .env).",
    );
  } else {
    lines.push(
      `Mode: Tencent Cloud, because ${mode.reason}.`,
      `STS: ${readVar(env, "STS_ENDPOINT") ?? "sts.tencentcloudapi.com"} (${readVar(env, "STS_ROLE_ARN") ? "AssumeRole" : "GetFederationToken"})`,
      `COS: bucket ${env.COS_BUCKET} (${env.COS_REGION})`,
    );
  }
  if (wechat) {
    lines.push(
      `WeChat: local login emulator at ${wechat.url} for the dev mini-program ${env.WECHAT_APPID}.`,
      "A user's login code: npm run wxcode -- --openid o_alice, sent as 'Authorization: WeChat <code>' (docs/mini-programs.md).",
    );
  }
  lines.push("", `Open ${stack.site.url} to sign in and upload from a browser.`);
  if (wechat && cos) {
    const domain = `{Bucket}.cos.{Region}.localhost:${cos.port}`;
    lines.push(`Mini-program: examples/mini-program/config.js takes brokerUrl ${url}/, cos Domain ${domain} (http:) and devLogin ${wechat.url}.`);
  }
  if (readVar(env, "JWT_SECRET") === DEV_JWT_SECRET) {
    const token = await mintToken({ sub: "alice" });
    lines.push(
      "",
      "Dev token for sub=alice (1 hour; more with `npm run token -- --sub bob`):",
      token,
      "",
      "Try it:",
      `curl -s -X POST ${url}/ -H "Authorization: Bearer ${token}" -H "Content-Type: application/json" -d '{"profile":"upload"}'`,
    );
  } else {
    lines.push("Mint a login token signed with your JWT_SECRET: npm run token -- --sub alice");
  }
  lines.push("", json ? "Requests are logged below as JSON lines." : "Requests are logged below, one line each (npm start -- --json for JSON lines).");
  console.log(lines.join("\n"));
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`${error.message}\n${USAGE}`);
    process.exit(2);
  }
  if (error instanceof PortInUse) {
    const variable = PORT_VARIABLE[error.server];
    console.error(`${error.message}: stop the process that holds it${variable ? `, or set ${variable} to a free port` : ""}`);
  } else if (error instanceof IncompleteConfiguration) {
    console.error(`\nThe configuration is incomplete:\n  ${error.message}\n`);
  } else {
    console.error(error instanceof Error ? error.message : error);
  }
  process.exit(1);
});
