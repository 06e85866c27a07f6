/**
 * WeChat login's settings, read from the environment (docs/contract.md, Configuration): on
 * when WECHAT_APPID and WECHAT_APP_SECRET are both set. The app secret is checked like
 * JWT_SECRET: its shape, and never one this repository publishes outside the emulators.
 */
import { configError, type Env, isLoopbackHost, parseEndpoint, readVar } from "../shared/env.ts";
import { isPublishedSecret, type JwtRules } from "./settings.ts";
import type { WechatConfig } from "./wechat.ts";

export const WECHAT_VARIABLES = ["WECHAT_APPID", "WECHAT_APP_SECRET", "WECHAT_API_ENDPOINT"] as const;
/** readVar limited to the list above, so this module cannot read a variable it does not name. */
const read: (env: Env, name: (typeof WECHAT_VARIABLES)[number]) => string | undefined = readVar;

/** Where jscode2session lives (https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html). */
const WECHAT_API_HOST = "api.weixin.qq.com";
const APPID = /^wx[0-9a-f]{16}$/;
/** The AppSecret the mini-program admin console shows: 32 letters and digits. */
const APP_SECRET = /^[0-9A-Za-z]{32}$/;
const TIMEOUT_MS = 3000;
const MAX_ATTEMPTS = 3;

export function parseWechat(env: Env, rules: JwtRules): WechatConfig | undefined {
  const appid = read(env, "WECHAT_APPID");
  const secret = read(env, "WECHAT_APP_SECRET");
  if (!appid && !secret) return undefined;
  if (!appid || !secret) {
    throw configError(appid ? "WECHAT_APP_SECRET" : "WECHAT_APPID", "is missing", "set WECHAT_APPID and WECHAT_APP_SECRET together to turn on WeChat login");
  }
  const where = "copy it from the mini-program admin console, Development > Development Management > Development Settings";
  if (!APPID.test(appid)) throw configError("WECHAT_APPID", "is not a mini-program AppID ('wx' and 16 hex digits)", where);
  if (!APP_SECRET.test(secret)) throw configError("WECHAT_APP_SECRET", "is not an AppSecret (32 letters and digits)", where);
  const endpoint = parseEndpoint("WECHAT_API_ENDPOINT", read(env, "WECHAT_API_ENDPOINT") ?? WECHAT_API_HOST, WECHAT_API_HOST);
  // Anyone can mint codes the emulator takes for a published secret: only beside both emulators.
  if (isPublishedSecret(secret) && !(rules.localSts && isLoopbackHost(endpoint.host))) {
    throw configError(
      "WECHAT_APP_SECRET",
      "is a secret published in this repository, and WeChat or STS is not a local emulator",
      `use your mini-program's own AppSecret: ${where}`,
    );
  }
  return { appid, secret, endpoint: new URL(`${endpoint.protocol}${endpoint.host}`), timeoutMs: TIMEOUT_MS, maxAttempts: MAX_ATTEMPTS };
}
