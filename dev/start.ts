/**
 * `npm start`: the broker on http://127.0.0.1:9000. With no STS configuration it runs on
 * embedded defaults (dev/embedded.ts: the in-process STS emulator and COS server); with real
 * STS_* or TENCENTCLOUD_* variables (from the shell or a .env file) it talks to real STS.
 */
import { readVar, type Env } from "../lib/config.ts";
import { DEV_JWT_SECRET, loadDotEnv, mintToken } from "./defaults.ts";
import { startEmbeddedCloud } from "./embedded.ts";
import { startLocalServer } from "./local-server.ts";
import type { StsEmulator } from "./sts-emulator/index.ts";

async function main(): Promise<void> {
  loadDotEnv();
  const host = readVar(process.env, "HOST") ?? "127.0.0.1";
  const { env, emulator, close } = await startEmbeddedCloud(process.env, { host });
  const port = Number(readVar(env, "PORT") ?? 9000);
  const server = await startLocalServer({ env, port, host });
  if (!server.app.ok) {
    console.error(`\nThe broker is not configured correctly:\n  ${server.app.error.message}\n`);
    await server.close();
    await close();
    process.exit(1);
  }
  await printWelcome(server.url, env, emulator);
  const stop = () => void Promise.all([server.close(), close()]).then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

async function printWelcome(url: string, env: Env, emulator: StsEmulator | undefined): Promise<void> {
  const lines = [`cos-sts-broker listening on ${url}`];
  if (emulator) {
    lines.push(
      `STS: local emulator at ${emulator.url}. Its credentials are fake and DO NOT work on Tencent Cloud;`,
      "     set STS_* or TENCENTCLOUD_* variables (shell or .env) to talk to real STS.",
    );
  } else {
    lines.push(`STS: ${readVar(env, "STS_ENDPOINT") ?? "sts.tencentcloudapi.com"} (real configuration)`);
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
