/** WeChat login's settings: on with an appid and a secret, each checked, the dev secret only beside the emulators. */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEV_WECHAT_APP_SECRET, DEV_WECHAT_APPID } from "../../../dev/defaults.ts";
import { parseWechat } from "../../../lib/identity/wechat-settings.ts";
import type { Env } from "../../../lib/shared/env.ts";

// Made now: a secret written in this repository would be refused (docs/contract.md, Configuration).
const APP = { WECHAT_APPID: "wx1234567890abcdef", WECHAT_APP_SECRET: randomBytes(16).toString("hex") };
const parse = (env: Env, localSts = false) => parseWechat(env, { localSts });
const message = (env: Env, localSts = false) => {
  try {
    parse(env, localSts);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
};

describe("parseWechat", () => {
  it("is off without WECHAT_APPID and WECHAT_APP_SECRET, and on with both, against api.weixin.qq.com", () => {
    expect(parse({})).toBeUndefined();
    expect(parse({ WECHAT_APPID: " ", WECHAT_APP_SECRET: "" })).toBeUndefined();
    expect(parse(APP)).toEqual({
      ...{ appid: APP.WECHAT_APPID, secret: APP.WECHAT_APP_SECRET },
      endpoint: new URL("https://api.weixin.qq.com"),
      timeoutMs: 3000,
      maxAttempts: 3,
    });
  });

  it.each<[string, Env, RegExp]>([
    ["an appid alone", { WECHAT_APPID: APP.WECHAT_APPID }, /^WECHAT_APP_SECRET is missing: set WECHAT_APPID and WECHAT_APP_SECRET together/],
    ["a secret alone", { WECHAT_APP_SECRET: APP.WECHAT_APP_SECRET }, /^WECHAT_APPID is missing/],
    [
      "an appid of another shape",
      { ...APP, WECHAT_APPID: "1234567890" },
      /^WECHAT_APPID is not a mini-program AppID \('wx' and 16 hex digits\): copy it from the mini-program admin console/,
    ],
    ["a secret of another length", { ...APP, WECHAT_APP_SECRET: "short" }, /^WECHAT_APP_SECRET is not an AppSecret \(32 letters and digits\)/],
    ["an http endpoint off loopback", { ...APP, WECHAT_API_ENDPOINT: "http://api.weixin.qq.com" }, /^WECHAT_API_ENDPOINT must use https/],
    ["an endpoint with a path", { ...APP, WECHAT_API_ENDPOINT: "https://api.weixin.qq.com/sns" }, /^WECHAT_API_ENDPOINT must not have a path/],
  ])("refuses %s, naming the variable", (_why, env, expected) => {
    expect(message(env)).toMatch(expected);
  });

  it("takes another host, or a loopback emulator over http", () => {
    expect(parse({ ...APP, WECHAT_API_ENDPOINT: "api2.weixin.qq.com" })?.endpoint.href).toBe("https://api2.weixin.qq.com/");
    expect(parse({ ...APP, WECHAT_API_ENDPOINT: "http://127.0.0.1:9003" })?.endpoint.href).toBe("http://127.0.0.1:9003/");
  });

  it("refuses the published dev secret unless WeChat and STS are both loopback emulators, never showing it", () => {
    const dev = { WECHAT_APPID: DEV_WECHAT_APPID, WECHAT_APP_SECRET: DEV_WECHAT_APP_SECRET };
    const emulated = { ...dev, WECHAT_API_ENDPOINT: "http://127.0.0.1:9003" };
    expect(message(dev, true)).toMatch(/^WECHAT_APP_SECRET is a secret published in this repository, and WeChat or STS is not a local emulator/);
    expect(message(emulated, false)).toMatch(/^WECHAT_APP_SECRET is a secret published/);
    expect(message(emulated, false)).not.toContain(DEV_WECHAT_APP_SECRET);
    expect(parse(emulated, true)?.appid).toBe(DEV_WECHAT_APPID);
  });
});
