/**
 * The client helper (client/index.js) as a web page uses it: fetch, a login-token getter, and
 * cos-nodejs-sdk-v5 (whose getAuthorization is the browser SDK's) against the broker and the
 * loopback COS server. The mini-program side (wx.request, wx.login) is test/e2e/mini-program.test.ts.
 */
import { createServer } from "node:http";
import COS from "cos-nodejs-sdk-v5";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerError, cosAuthorization, errorOf, requestCredentials } from "../../client/index.js";
import { listen } from "../../dev/listen.ts";
import { AT, type CosStack, startCosStack } from "../support/cos.ts";
import { hsToken } from "../support/tokens.ts";

let stack: CosStack;
let url: string;

beforeAll(async () => {
  stack = await startCosStack({ env: { RATE_LIMIT_BURST: "5", RATE_LIMIT_PER_MINUTE: "1" } });
  url = `${stack.broker.url}/`;
});
afterAll(() => stack?.close());

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable("it was granted"),
    (error: unknown) => error,
  );

describe("requestCredentials", () => {
  it("asks with the login token and hands back the broker's answer", async () => {
    const token = await hsToken({ sub: "alice" });
    const answer = await requestCredentials({ url, token: () => token, profile: "list" });
    expect(answer).toMatchObject({ prefix: "users/alice/", profile: "list", bucket: AT.Bucket, credentials: { tmpSecretId: expect.stringMatching(/^AKID/) } });
    const narrowed = await requestCredentials({ url, token: async () => token, key: "notes/a.txt" });
    expect(narrowed.allowActions).toContain("name/cos:PutObject");
  });

  it("rejects with the broker's status, code, message and request id", async () => {
    const error = await refusal(requestCredentials({ url, token: () => "not-a-token" }));
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ status: 401, code: "InvalidToken", message: "token is malformed or invalid", requestId: expect.any(String) });
    const token = await hsToken({ sub: "alice" });
    const scoped = await refusal(requestCredentials({ url, token: () => token, key: "../bob/x" }));
    expect(scoped).toMatchObject({ status: 403, code: "ScopeNotAllowed" });
  });

  it("carries Retry-After as seconds", async () => {
    const token = await hsToken({ sub: "hasty" });
    const answers = await Promise.all([1, 2, 3, 4, 5, 6].map(() => requestCredentials({ url, token: () => token }).catch((error: unknown) => error)));
    // Whichever arrived sixth was refused.
    expect(answers.filter((answer) => answer instanceof BrokerError)).toEqual([
      expect.objectContaining({ status: 429, code: "TooManyRequests", retryAfter: expect.any(Number) }),
    ]);
  });

  it("says when the broker cannot be reached, or answers something that is not the broker's", async () => {
    const server = createServer((_, res) => res.end("<html>a proxy</html>"));
    const notBroker = await listen(server);
    try {
      expect(await refusal(requestCredentials({ url: notBroker.origin, token: () => "t" }))).toMatchObject({ status: 200, code: "BadResponse" });
    } finally {
      await notBroker.close();
    }
    expect(await refusal(requestCredentials({ url: notBroker.origin, token: () => "t" }))).toMatchObject({
      status: 0,
      code: "NetworkError",
      message: expect.stringContaining(`could not reach the broker at ${notBroker.origin}`),
    });
  });

  it("says when there is no login token, and refuses options that name no way, or two ways, to sign in", async () => {
    expect(await refusal(requestCredentials({ url, token: () => "" }))).toMatchObject({ code: "LoginFailed" });
    expect(await refusal(requestCredentials({ url, token: () => Promise.reject(new Error("signed out")) }))).toMatchObject({
      code: "LoginFailed",
      message: "could not get the login token: signed out",
    });
    expect(await refusal(requestCredentials({ url, wechat: true }))).toMatchObject({ code: "LoginFailed", message: expect.stringContaining("wx.login") });
    expect(() => cosAuthorization({ url })).toThrow(TypeError);
    expect(() => cosAuthorization({ url, token: () => "t", wechat: true })).toThrow(/one of token/);
  });
});

describe("cosAuthorization with a COS SDK", () => {
  const cosFor = (getAuthorization: ReturnType<typeof cosAuthorization>) => new COS({ Ip: new URL(stack.cos.url).host, Protocol: "http:", getAuthorization });
  const put = (cos: COS, Key: string) =>
    cos.putObject({ ...AT, Key, Body: "hello" }).then(
      () => undefined,
      (error: unknown) => error,
    );

  it("signs uploads with the broker's credentials, ScopeLimit scopes passed through", async () => {
    const token = await hsToken({ sub: "carol" });
    expect(await put(cosFor(cosAuthorization({ url, token: () => token })), "users/carol/a.txt")).toBeUndefined();
    const scoped = cosAuthorization({ url, token: () => token, scopeLimit: true });
    expect(await put(cosFor(scoped), "users/carol/b.txt")).toBeUndefined();
    const policy = [...stack.emulator.issued.values()].at(-1)!.policy as { statement: { action: string[]; resource: string[] }[] };
    expect(policy.statement[0]?.resource).toEqual([expect.stringMatching(/\/users\/carol\/b\.txt$/)]);
  });

  it("turns an SDK failure into the broker's refusal or COS's answer", async () => {
    const refused: BrokerError[] = [];
    const getAuthorization = cosAuthorization({ url, token: () => "expired", onError: (error) => refused.push(error) });
    const error = await put(cosFor(getAuthorization), "users/dave/c.txt");
    expect(errorOf(error, getAuthorization)).toMatchObject({ status: 401, code: "InvalidToken" });
    expect(refused).toEqual([getAuthorization.lastError]);

    const token = await hsToken({ sub: "dave" });
    const fenced = cosAuthorization({ url, token: () => token });
    expect(errorOf(await put(cosFor(fenced), "users/bob/c.txt"), fenced)).toEqual({ status: 403, code: "AccessDenied", message: expect.any(String) });
    expect(fenced.lastError).toBeUndefined();
  });
});
