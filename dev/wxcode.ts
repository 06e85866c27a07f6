/**
 * `npm run wxcode -- --openid o_alice [--unionid U] [--fail busy]`: a login code like the one
 * wx.login gives that user, for the WeChat emulator `npm start` runs (docs/mini-programs.md).
 * It is minted with WECHAT_APPID and WECHAT_APP_SECRET (or the dev app `npm start` uses), so
 * any emulator serving that app takes it: once, within five minutes.
 */
import { parseArgs } from "node:util";
import { readVar } from "../lib/shared/env.ts";
import { DEV_WECHAT_APP_SECRET, DEV_WECHAT_APPID, loadDotEnv } from "./defaults.ts";
import { FAULTS, type Fault, mintCode } from "./wechat-emulator/codes.ts";

const USAGE = `usage: npm run wxcode -- --openid <openid> [--unionid <unionid>] [--fail ${FAULTS.join("|")}]`;

function main(): void {
  loadDotEnv();
  const { values } = parseArgs({
    options: {
      openid: { type: "string" },
      unionid: { type: "string" },
      fail: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return void console.log(USAGE);
  if (!values.openid) throw new Error(USAGE);
  if (values.fail !== undefined && !(FAULTS as readonly string[]).includes(values.fail))
    throw new Error(`--fail must be one of ${FAULTS.join(", ")}\n${USAGE}`);
  // npm start runs the emulator only when no app secret is configured (docs/mini-programs.md).
  if (readVar(process.env, "WECHAT_APP_SECRET") && !readVar(process.env, "WECHAT_API_ENDPOINT")) {
    throw new Error("WECHAT_APP_SECRET is set for the real WeChat API: its codes come from wx.login in your mini-program, not from here");
  }
  const app = { appid: readVar(process.env, "WECHAT_APPID") ?? DEV_WECHAT_APPID, secret: readVar(process.env, "WECHAT_APP_SECRET") ?? DEV_WECHAT_APP_SECRET };
  console.log(mintCode(app, { openid: values.openid, unionid: values.unionid, fault: values.fail as Fault | undefined }, Date.now()));
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(2);
}
