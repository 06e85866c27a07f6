/**
 * The WeChat login emulator answers jscode2session as WeChat does, and `npm run wxcode` mints
 * codes it takes. Hand-made requests, so every way a client can get it wrong is tried.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEV_WECHAT_APP_SECRET, DEV_WECHAT_APPID } from "../../dev/defaults.ts";
import { FAULTS, startWechatEmulator, type WechatEmulator } from "../../dev/wechat-emulator/index.ts";
import { recordSecret } from "../support/capture.ts";
import { fakeClock } from "../support/clock.ts";
import { runScript } from "../support/spawn.ts";

const APP = { appid: "wx1234567890abcdef", secret: "0123456789abcdef0123456789abcdef" };
const clock = fakeClock();
let emulator: WechatEmulator;

beforeAll(async () => {
  emulator = await startWechatEmulator({ apps: [APP], clock, onSecret: recordSecret });
});
afterAll(() => emulator?.close());
beforeEach(() => emulator.clearFaults());

interface Answer {
  readonly status: number;
  readonly type: string | null;
  readonly body: Record<string, any>;
  readonly text: string;
}

async function exchange(code: string, overrides: Record<string, string> = {}): Promise<Answer> {
  const params = new URLSearchParams({ appid: APP.appid, secret: APP.secret, js_code: code, grant_type: "authorization_code", ...overrides });
  const response = await fetch(`${emulator.url}/sns/jscode2session?${params}`);
  const text = await response.text();
  let body: Record<string, any> = {};
  try {
    body = JSON.parse(text) as Record<string, any>;
  } catch {
    // malformed on purpose
  }
  return { status: response.status, type: response.headers.get("content-type"), body, text };
}

describe("jscode2session", () => {
  it("hands out the code's user and a session_key, as JSON sent as text/plain", async () => {
    const answer = await exchange(emulator.mint("o_alice"));
    expect(answer).toMatchObject({ status: 200, type: "text/plain" });
    expect(answer.body).toEqual({ openid: "o_alice", session_key: expect.stringMatching(/^[A-Za-z0-9+/]{22}==$/) });
    expect((await exchange(emulator.mint("o_bob", { unionid: "u_bob" }))).body).toMatchObject({ openid: "o_bob", unionid: "u_bob" });
  });

  it("takes a code once", async () => {
    const code = emulator.mint("o_alice");
    expect((await exchange(code)).body.openid).toBe("o_alice");
    expect((await exchange(code)).body).toEqual({ errcode: 40163, errmsg: expect.stringMatching(/^code been used, rid: /) });
  });

  it("takes a code for five minutes", async () => {
    const code = emulator.mint("o_alice");
    clock.advance(300_000);
    expect((await exchange(code)).body.errcode).toBe(40029);
  });

  it("checks appid, secret and grant_type, and refuses codes it did not mint", async () => {
    const code = emulator.mint("o_alice");
    expect((await exchange(code, { appid: "wx0000000000000001" })).body.errcode).toBe(40013);
    expect((await exchange(code, { secret: "f".repeat(32) })).body.errcode).toBe(40125);
    expect((await exchange(code, { grant_type: "client_credential" })).body.errcode).toBe(40002);
    expect((await exchange("")).body.errcode).toBe(41008);
    expect((await exchange(`${code.slice(0, -2)}AA`)).body.errcode).toBe(40029);
    const otherApp = await startWechatEmulator({ apps: [{ appid: APP.appid, secret: "f".repeat(32) }] });
    const foreign = otherApp.mint("o_alice");
    await otherApp.close();
    expect((await exchange(foreign)).body.errcode).toBe(40029);
    // None of these used up the code.
    expect((await exchange(code)).body.openid).toBe("o_alice");
  });

  it("holds each user to 100 exchanges a minute", async () => {
    clock.advance(60_000 - (clock.now() % 60_000));
    for (let i = 0; i < 100; i++) expect((await exchange(emulator.mint("o_busy"))).body.openid).toBe("o_busy");
    expect((await exchange(emulator.mint("o_busy"))).body.errcode).toBe(45011);
    expect((await exchange(emulator.mint("o_other"))).body.openid).toBe("o_other");
    clock.advance(60_000);
    expect((await exchange(emulator.mint("o_busy"))).body.openid).toBe("o_busy");
  });

  it("fails on demand, for the next exchanges or for one code, without using the code up", async () => {
    const code = emulator.mint("o_alice");
    emulator.inject("busy", { times: 1 });
    expect((await exchange(code)).body).toMatchObject({ errcode: -1 });
    expect((await exchange(code)).body.openid).toBe("o_alice");

    const answers: Record<string, Answer> = {};
    for (const fault of FAULTS.filter((name) => name !== "hang")) answers[fault] = await exchange(emulator.mint("o_alice", { fault }));
    expect(answers["rate-limited"]?.body.errcode).toBe(45011);
    expect(answers.blocked?.body.errcode).toBe(40226);
    expect(answers.malformed).toMatchObject({ status: 200, body: {} });
    expect(answers["server-error"]).toMatchObject({ status: 502, type: "text/html" });
    expect(emulator.calls.at(-1)).toEqual({ appid: APP.appid, openid: "o_alice", errcode: "server-error" });
  });

  it("can hang until the client gives up", async () => {
    const hung = fetch(
      `${emulator.url}/sns/jscode2session?appid=${APP.appid}&secret=${APP.secret}&grant_type=authorization_code&js_code=${emulator.mint("o_alice", { fault: "hang" })}`,
      {
        signal: AbortSignal.timeout(200),
      },
    );
    await expect(hung).rejects.toThrow(/aborted/i);
  });
});

describe("GET /dev/code", () => {
  it("mints what wx.login would give a chosen user", async () => {
    const { code } = (await (await fetch(`${emulator.url}/dev/code?openid=o_dana`)).json()) as { code: string };
    expect((await exchange(code)).body.openid).toBe("o_dana");
    expect((await fetch(`${emulator.url}/dev/code?openid=${encodeURIComponent("../x")}`)).status).toBe(400);
    expect((await fetch(`${emulator.url}/dev/code?openid=o_dana&fail=explode`)).status).toBe(400);
  });
});

describe("npm run wxcode", () => {
  it("mints a code for the dev mini-program that npm start's emulator takes once", async () => {
    const dev = await startWechatEmulator({ apps: [{ appid: DEV_WECHAT_APPID, secret: DEV_WECHAT_APP_SECRET }] });
    try {
      const minted = await runScript("dev/wxcode.ts", ["--openid", "o_alice", "--unionid", "u_alice"]);
      expect(minted).toMatchObject({ code: 0, stderr: "" });
      const params = new URLSearchParams({
        appid: DEV_WECHAT_APPID,
        secret: DEV_WECHAT_APP_SECRET,
        js_code: minted.stdout.trim(),
        grant_type: "authorization_code",
      });
      const first = await (await fetch(`${dev.url}/sns/jscode2session?${params}`)).json();
      expect(first).toMatchObject({ openid: "o_alice", unionid: "u_alice" });
      expect(((await (await fetch(`${dev.url}/sns/jscode2session?${params}`)).json()) as { errcode: number }).errcode).toBe(40163);
    } finally {
      await dev.close();
    }
  });

  it("prints usage without --openid, and refuses a real app secret", async () => {
    expect(await runScript("dev/wxcode.ts", [])).toMatchObject({ code: 2, stderr: expect.stringContaining("usage: npm run wxcode -- --openid") });
    expect(await runScript("dev/wxcode.ts", ["--openid", "o_a", "--fail", "explode"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--fail must be one of"),
    });
    const real = await runScript("dev/wxcode.ts", ["--openid", "o_a"], { WECHAT_APP_SECRET: "f".repeat(32) });
    expect(real).toMatchObject({ code: 2, stderr: expect.stringContaining("codes come from wx.login") });
  });
});
