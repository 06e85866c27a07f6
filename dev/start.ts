/**
 * `npm start`: the broker on http://127.0.0.1:9000 and an upload page on :9001. With no STS
 * configuration it runs on embedded defaults against the in-process STS emulator and
 * loopback COS server; with real STS_* or TENCENTCLOUD_* variables (from the shell or a .env
 * file) it talks to real STS and the page to the real bucket.
 */
import { type Env, readVar } from "../lib/shared/env.ts";
import { DEV_JWT_SECRET, loadDotEnv, mintToken } from "./defaults.ts";
import { type DevStack, startDevStack } from "./stack.ts";

async function main(): Promise<void> {
  loadDotEnv();
  const env: Env = { ...process.env };
  const port = Number(readVar(env, "PORT") ?? 9000);
  // PORT=0 (any free port) applies to the page too.
  const sitePort = Number(readVar(env, "SITE_PORT") ?? (port === 0 ? 0 : port + 1));
  // Fixed ports next to the broker's, so a mini-program's config.js can keep pointing at them.
  const next = (offset: number) => (port === 0 ? 0 : port + offset);
  const stack = await startDevStack(env, { port, sitePort, cosPort: next(2), wechat: { port: next(3) }, host: readVar(env, "HOST") ?? "127.0.0.1" });
  if (!stack.broker.app.ok) {
    console.error(`\nThe broker is not configured correctly:\n  ${stack.broker.app.error.message}\n`);
    await stack.close();
    process.exit(1);
  }
  await printWelcome(stack);
  const stop = () => void stack.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

async function printWelcome(stack: DevStack): Promise<void> {
  const { broker, emulator, cos, wechat, env } = stack;
  const url = broker.url;
  const lines = [`cos-sts-broker listening on ${url}`];
  if (emulator && cos) {
    lines.push(
      `STS: local emulator at ${emulator.url}. Its credentials are fake and DO NOT work on Tencent Cloud;`,
      "     set STS_* or TENCENTCLOUD_* variables (shell or .env) to talk to real STS.",
      `COS: local server at ${cos.url} for bucket ${env.COS_BUCKET} (${env.COS_REGION}); objects live in memory.`,
    );
  } else {
    lines.push(`STS: ${readVar(env, "STS_ENDPOINT") ?? "sts.tencentcloudapi.com"} (real configuration)`);
  }
  if (wechat) {
    lines.push(
      `WeChat: local login emulator at ${wechat.url} for the dev mini-program ${env.WECHAT_APPID}; a user's login code:`,
      "     npm run wxcode -- --openid o_alice, sent as 'Authorization: WeChat <code>' (docs/mini-programs.md).",
    );
  }
  lines.push("", `Open ${stack.site.url} to sign in and upload from a browser.`);
  if (wechat && cos) {
    lines.push(
      `Mini-program (examples/mini-program/config.js): brokerUrl ${url}/, cos { Domain: "{Bucket}.cos.{Region}.localhost:${cos.port}", Protocol: "http:" },`,
      `     devLogin ${wechat.url}`,
    );
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
  console.log(lines.join("\n"));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
