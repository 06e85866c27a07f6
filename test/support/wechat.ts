/**
 * The WeChat login emulator for tests: a made-up mini-program whose secret, and every
 * session_key handed out, go to the leak ledger; and the broker variables that point at it.
 */
import { randomBytes } from "node:crypto";
import { startWechatEmulator, type WechatEmulator, type WechatEmulatorOptions } from "../../dev/wechat-emulator/index.ts";
import type { Env } from "../../lib/shared/env.ts";
import { recordSecret } from "./capture.ts";

export const WECHAT_APPID = "wx1234567890abcdef";

export interface TestWechat {
  readonly emulator: WechatEmulator;
  /** WECHAT_APPID, WECHAT_APP_SECRET and WECHAT_API_ENDPOINT for the broker */
  readonly env: Env;
}

export interface TestWechatOptions extends Omit<WechatEmulatorOptions, "apps" | "onSecret"> {
  /** told each session_key handed out, besides the ledger */
  readonly onSessionKey?: (key: string) => void;
}

export async function startTestWechat({ onSessionKey, ...options }: TestWechatOptions = {}): Promise<TestWechat> {
  const secret = randomBytes(16).toString("hex");
  recordSecret("wechat-app-secret", secret);
  const onSecret = (kind: string, value: string) => {
    recordSecret(kind, value);
    onSessionKey?.(value);
  };
  const emulator = await startWechatEmulator({ ...options, apps: [{ appid: WECHAT_APPID, secret }], onSecret });
  return { emulator, env: { WECHAT_APPID, WECHAT_APP_SECRET: secret, WECHAT_API_ENDPOINT: emulator.url } };
}
