/** WeChat login against the loopback WeChat emulator: every answer WeChat gives, as the broker's. */
import { once } from "node:events";
import { type AddressInfo, createServer } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { WechatEmulator } from "../../../dev/wechat-emulator/index.ts";
import { createWechatLogin, type WechatConfig, type WechatLogin } from "../../../lib/identity/wechat.ts";
import type { BrokerError } from "../../../lib/shared/errors.ts";
import type { FetchLike } from "../../../lib/shared/fetch.ts";
import { skippingClock } from "../../support/clock.ts";
import { startTestWechat, WECHAT_APPID } from "../../support/wechat.ts";

let emulator: WechatEmulator;
let config: WechatConfig;
let login: WechatLogin;
const sessionKeys: string[] = [];

beforeAll(async () => {
  const started = await startTestWechat({ onSessionKey: (key) => sessionKeys.push(key) });
  emulator = started.emulator;
  config = { appid: WECHAT_APPID, secret: started.env.WECHAT_APP_SECRET!, endpoint: new URL(emulator.url), timeoutMs: 3000, maxAttempts: 3 };
  login = createWechatLogin(config, { clock: skippingClock() });
});
afterAll(() => emulator?.close());
beforeEach(() => emulator.clearFaults());

/** A loopback address nothing listens on. */
async function closedPort(): Promise<string> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return `http://127.0.0.1:${port}`;
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable("it signed in"),
    (error: BrokerError) => error,
  );
const exchanges = () => emulator.calls.length;

describe("WeChat login", () => {
  it("turns a code into the user: sub is the openid, iss names the mini-program, unionid when WeChat sends one", async () => {
    expect(await login(emulator.mint("o_alice"))).toEqual({ iss: `wechat:${WECHAT_APPID}`, sub: "o_alice", openid: "o_alice" });
    const bob = await login(emulator.mint("o_bob", { unionid: "u_bob" }));
    expect(bob).toEqual({ iss: `wechat:${WECHAT_APPID}`, sub: "o_bob", openid: "o_bob", unionid: "u_bob" });
    expect(JSON.stringify(bob)).not.toContain(sessionKeys.at(-1));
  });

  it("refuses a malformed code without asking WeChat", async () => {
    const before = exchanges();
    for (const code of ["", "a b", "x".repeat(257), "code?&secret=1"]) {
      expect(await failure(login(code))).toMatchObject({ code: "InvalidToken", message: expect.stringContaining("malformed") });
    }
    expect(exchanges()).toBe(before);
  });

  it("answers a used, expired or unknown code with InvalidToken, once", async () => {
    const code = emulator.mint("o_alice");
    await login(code);
    const before = exchanges();
    expect(await failure(login(code))).toMatchObject({ code: "InvalidToken", detail: expect.stringMatching(/^errcode=40163 rid=/) });
    expect(await failure(login("0".repeat(32)))).toMatchObject({ code: "InvalidToken", detail: expect.stringMatching(/^errcode=40029/) });
    expect(exchanges()).toBe(before + 2);
  });

  it("tries again while WeChat is busy, and answers 503 when it stays busy", async () => {
    emulator.inject("busy", { times: 1 });
    expect((await login(emulator.mint("o_alice"))).openid).toBe("o_alice");
    emulator.inject("busy");
    const before = exchanges();
    expect(await failure(login(emulator.mint("o_alice")))).toMatchObject({
      code: "UpstreamThrottled",
      retryAfter: 1,
      detail: expect.stringMatching(/attempts=3$/),
    });
    expect(exchanges()).toBe(before + 3);
  });

  it("answers WeChat's quota with 429 and a minute's Retry-After, and a blocked user with IdentityNotAllowed, without retrying", async () => {
    const before = exchanges();
    expect(await failure(login(emulator.mint("o_alice", { fault: "rate-limited" })))).toMatchObject({ code: "TooManyRequests", retryAfter: 60 });
    expect(await failure(login(emulator.mint("o_mallory", { fault: "blocked" })))).toMatchObject({
      code: "IdentityNotAllowed",
      detail: expect.stringMatching(/^errcode=40226/),
    });
    expect(exchanges()).toBe(before + 2);
  });

  it("tries a 5xx or a body that is not JSON again, then answers 502", async () => {
    for (const fault of ["server-error", "malformed"] as const) {
      const before = exchanges();
      expect(await failure(login(emulator.mint("o_alice", { fault })))).toMatchObject({ code: "UpstreamError", detail: expect.stringMatching(/attempts=3/) });
      expect(exchanges()).toBe(before + 3);
    }
  });

  it("gives up on a hung WeChat within the time it was given, with 504", async () => {
    const error = await failure(login(emulator.mint("o_alice", { fault: "hang" }), 400));
    expect(error).toMatchObject({ code: "UpstreamTimeout" });
  });

  it("answers a retry's 'code been used' with the failure of the try that used the code", async () => {
    let calls = 0;
    // The first exchange reaches WeChat (using the code up), but its answer is lost to a gateway's 502.
    const lossy: FetchLike = async (input, init) => {
      const response = await fetch(input, init);
      calls += 1;
      return calls === 1 ? new Response("<html>502</html>", { status: 502 }) : response;
    };
    const error = await failure(createWechatLogin(config, { fetch: lossy, clock: skippingClock() })(emulator.mint("o_alice")));
    expect(error).toMatchObject({ code: "UpstreamError", message: "WeChat's login service failed (HTTP 502)" });
    expect(calls).toBe(2);
  });

  it("answers a wrong app secret with ConfigError, and unreachable WeChat with 502, never showing the secret or the code", async () => {
    const code = emulator.mint("o_alice");
    const wrong = await failure(createWechatLogin({ ...config, secret: "f".repeat(32) })(code));
    expect(wrong).toMatchObject({ code: "ConfigError", message: expect.stringContaining("WECHAT_APP_SECRET") });
    const closed = await failure(createWechatLogin({ ...config, endpoint: new URL(await closedPort()) }, { clock: skippingClock() })(code));
    expect(closed).toMatchObject({ code: "UpstreamError", detail: expect.stringContaining("ECONNREFUSED") });
    for (const error of [wrong, closed]) {
      const shown = `${error.message} ${error.detail}`;
      expect(shown).not.toContain(config.secret);
      expect(shown).not.toContain(code);
    }
  });
});
