/**
 * WeChat login end to end: SCF Function URL event -> main handler -> the WeChat emulator's
 * jscode2session -> STS emulator. Every answer WeChat gives becomes the documented status;
 * session_key and the code never reach a response or a log; rate limits, credential reuse and
 * prefixes keep WeChat users apart from each other and from login-token users.
 */
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { subjectHash } from "../../lib/grant/prefix.ts";
import { recordSecret } from "../support/capture.ts";
import { bearer, context, functionUrlEvent, type Harness, parse, startHarness } from "../support/harness.ts";
import { hsToken } from "../support/tokens.ts";
import { startTestWechat, type TestWechat, WECHAT_APPID } from "../support/wechat.ts";

const sessionKeys: string[] = [];
let wechat: TestWechat;
let h: Harness;

beforeAll(async () => {
  wechat = await startTestWechat({ onSessionKey: (key) => sessionKeys.push(key) });
  h = await startHarness({ env: { ...wechat.env, RATE_LIMIT_BURST: "3", RATE_LIMIT_PER_MINUTE: "1" } });
});
afterAll(async () => {
  await Promise.all([h?.close(), wechat?.emulator.close()]);
});
afterEach(() => wechat.emulator.clearFaults());

/** A code for `openid`; the leak check fails the run if one ever reaches a log. */
function code(openid: string, options: Parameters<TestWechat["emulator"]["mint"]>[1] = {}): string {
  const minted = wechat.emulator.mint(openid, options);
  recordSecret("wechat-code", minted);
  return minted;
}

const signIn = (loginCode: string, remainingMs = 10_000, body = '{"profile":"upload"}') =>
  h.handler(functionUrlEvent({ headers: { authorization: `WeChat ${loginCode}` }, body }), context(remainingMs));
const lastLine = () => JSON.parse(h.logLines.at(-1)!) as Record<string, unknown>;

describe("Authorization: WeChat <code>", () => {
  it("issues credentials in wx/<openid>/, with nothing of WeChat's session in the answer or the log", async () => {
    const response = await signIn(code("o_alice", { unionid: "u_alice" }));
    expect(response.statusCode).toBe(200);
    expect(parse(response)).toMatchObject({ prefix: "wx/o_alice/", profile: "upload", bucket: "examplebucket-1250000000" });
    expect(lastLine()).toMatchObject({ outcome: "issued", subject: subjectHash({ iss: `wechat:${WECHAT_APPID}`, sub: "o_alice" }), prefix: "wx/o_alice/" });
    const sessionKey = sessionKeys.at(-1)!;
    expect(response.body).not.toContain(sessionKey);
    expect(h.logLines.join("\n")).not.toContain(sessionKey);
  });

  it("takes the scheme in any case, and the code from a GET too", async () => {
    const get = functionUrlEvent({ method: "GET", headers: { authorization: `wechat ${code("o_alice")}` }, query: { profile: "list" } });
    const response = await h.handler(get, context());
    expect(parse(response)).toMatchObject({ prefix: "wx/o_alice/", profile: "list" });
  });

  it("answers a used code with 401 InvalidToken and WWW-Authenticate", async () => {
    const loginCode = code("o_bob");
    expect((await signIn(loginCode)).statusCode).toBe(200);
    const response = await signIn(loginCode);
    expect(response.statusCode).toBe(401);
    expect(response.headers["WWW-Authenticate"]).toBe('WeChat error="invalid_token"');
    expect(parse(response).error).toEqual({
      code: "InvalidToken",
      message: "the WeChat login code is invalid, expired or already used: call wx.login again for a new one",
    });
  });

  it.each<[Parameters<TestWechat["emulator"]["inject"]>[0], number, string, Record<string, string>]>([
    ["rate-limited", 429, "TooManyRequests", { "Retry-After": "60" }],
    ["blocked", 403, "IdentityNotAllowed", {}],
  ])("answers WeChat's %s with %i, asking WeChat once and STS never", async (fault, status, errorCode, headers) => {
    wechat.emulator.inject(fault, { times: 1 });
    const [exchanges, stsCalls] = [wechat.emulator.calls.length, h.emulator.stsCallCount()];
    const response = await signIn(code("o_bob"));
    expect(response.statusCode).toBe(status);
    expect(parse(response).error.code).toBe(errorCode);
    expect(response.headers).toMatchObject(headers);
    expect([wechat.emulator.calls.length, h.emulator.stsCallCount()]).toEqual([exchanges + 1, stsCalls]);
  });

  it.each<[Parameters<TestWechat["emulator"]["inject"]>[0], number, string]>([
    ["busy", 503, "UpstreamThrottled"],
    ["server-error", 502, "UpstreamError"],
    ["malformed", 502, "UpstreamError"],
  ])("tries again when WeChat is %s, then answers %i", async (fault, status, errorCode) => {
    wechat.emulator.inject(fault, { times: 1 });
    expect((await signIn(code("o_carol"))).statusCode).toBe(200);
    wechat.emulator.inject(fault);
    const before = wechat.emulator.calls.length;
    const response = await signIn(code("o_carol"));
    expect(response.statusCode).toBe(status);
    expect(parse(response).error.code).toBe(errorCode);
    expect(wechat.emulator.calls.length).toBe(before + 3);
    if (status === 503) expect(response.headers["Retry-After"]).toBe("1");
  });

  it("answers 504 when WeChat hangs, within the time the invocation has, leaving STS its attempt", async () => {
    const [exchanges, stsCalls] = [wechat.emulator.calls.length, h.emulator.stsCallCount()];
    // 4600 ms left: 500 to answer, 3000 (STS_TIMEOUT_MS) kept for STS, 1100 for WeChat.
    const response = await signIn(code("o_carol", { fault: "hang" }), 4600);
    expect(response.statusCode).toBe(504);
    expect(parse(response).error).toEqual({
      code: "UpstreamTimeout",
      message: expect.stringMatching(/^WeChat's login service did not answer within \d+ ms$/),
    });
    expect([wechat.emulator.calls.length, h.emulator.stsCallCount()]).toEqual([exchanges + 1, stsCalls]);
  });

  it("asks WeChat nothing when the invocation has no time left for it and STS", async () => {
    const exchanges = wechat.emulator.calls.length;
    const response = await signIn(code("o_carol"), 3000);
    expect(parse(response).error).toEqual({ code: "UpstreamTimeout", message: "not enough time left in this invocation to ask WeChat" });
    expect(wechat.emulator.calls.length).toBe(exchanges);
  });

  it("refuses a malformed code before WeChat or the body is looked at", async () => {
    const before = wechat.emulator.calls.length;
    const response = await signIn("not a code", 10_000, "{not json");
    expect(response.statusCode).toBe(401);
    expect(wechat.emulator.calls.length).toBe(before);
  });
});

describe("WeChat users beside login-token users", () => {
  it("keeps the same id apart: another prefix, another rate limit, no shared credential", async () => {
    const wx = parse(await signIn(code("o_dave")));
    const jwt = parse(await h.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub: "o_dave" })), body: '{"profile":"upload"}' }), context()));
    expect([wx.prefix, jwt.prefix]).toEqual(["wx/o_dave/", "users/o_dave/"]);
    expect(jwt.credentials.tmpSecretId).not.toBe(wx.credentials.tmpSecretId);
  });

  it("reuses a WeChat user's credential and counts their requests, by their WeChat identity", async () => {
    const first = parse(await signIn(code("o_erin")));
    const second = parse(await signIn(code("o_erin")));
    expect(second.credentials.tmpSecretId).toBe(first.credentials.tmpSecretId);
    expect(lastLine()).toMatchObject({ cached: true });
    expect((await signIn(code("o_erin"))).statusCode).toBe(200);
    const limited = await signIn(code("o_erin"));
    expect(limited.statusCode).toBe(429);
    expect(parse(limited).error.code).toBe("TooManyRequests");
    expect((await signIn(code("o_frank"))).statusCode).toBe(200);
  });

  it("refuses a login token that claims a WeChat issuer", async () => {
    const forged = await hsToken({ sub: "o_alice", iss: `wechat:${WECHAT_APPID}` });
    const response = await h.handler(functionUrlEvent({ headers: bearer(forged) }), context());
    expect(response.statusCode).toBe(401);
    expect(parse(response).error.message).toMatch(/must not start with 'wechat:'/);
  });
});

describe("which logins a broker takes", () => {
  it("takes only WeChat codes when WeChat login is the only source, and says so", async () => {
    const only = await startHarness({ env: { ...wechat.env, JWT_SECRET: "" } });
    try {
      const refused = await only.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub: "alice" })) }), context());
      expect(refused.statusCode).toBe(401);
      expect(refused.headers["WWW-Authenticate"]).toBe("WeChat");
      expect(parse(refused).error.message).toBe("send the code wx.login gave as 'Authorization: WeChat <code>'; this broker takes no login tokens");
      const issued = await only.handler(functionUrlEvent({ headers: { authorization: `WeChat ${code("o_gina")}` } }), context());
      expect(parse(issued).prefix).toBe("wx/o_gina/");
    } finally {
      await only.close();
    }
  });

  it("names both ways when both are on, and only the token when WeChat is off", async () => {
    const none = await h.handler(functionUrlEvent({}), context());
    expect(none.headers["WWW-Authenticate"]).toBe("Bearer, WeChat");
    const both = parse(none);
    expect(both.error.message).toBe("send the login token as 'Authorization: Bearer <jwt>', or the code wx.login gave as 'Authorization: WeChat <code>'");
    const tokensOnly = await startHarness();
    try {
      const refused = parse(await tokensOnly.handler(functionUrlEvent({ headers: { authorization: `WeChat ${code("o_hal")}` } }), context()));
      expect(refused.error).toEqual({ code: "InvalidToken", message: "send the login token as 'Authorization: Bearer <jwt>'" });
    } finally {
      await tokensOnly.close();
    }
  });

  it("answers 500 ConfigError when WeChat refuses the app secret, naming the variable and not the secret", async () => {
    const secret = randomBytes(16).toString("hex");
    const wrong = await startHarness({ env: { ...wechat.env, WECHAT_APP_SECRET: secret } });
    try {
      const response = await wrong.handler(functionUrlEvent({ headers: { authorization: `WeChat ${code("o_ivy")}` } }), context());
      expect(response.statusCode).toBe(500);
      expect(parse(response).error).toMatchObject({ code: "ConfigError", message: expect.stringContaining("WECHAT_APP_SECRET") });
      expect(response.body).not.toContain(secret);
    } finally {
      await wrong.close();
    }
  });
});
