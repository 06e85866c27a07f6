/**
 * The contract (docs/contract.md), end to end, through every adapter the broker runs behind
 * (test/support/adapters.ts): the SCF event handler, the server over real HTTP and the Fetch
 * API handler each answer the same requests the same way, down to the loopback STS emulator, so
 * a behaviour cannot drift between them. What only one adapter does (API Gateway events, the
 * invocation's time left, the server's sockets) is tested beside it: test/e2e/issue-credentials,
 * faults and server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { StsEmulator, StsEmulatorOptions } from "../../dev/sts-emulator/index.ts";
import { subjectHash } from "../../lib/grant/prefix.ts";
import { builtInProfiles } from "../../lib/grant/profiles.ts";
import type { Env } from "../../lib/shared/env.ts";
import { ADAPTERS, type AdapterUnderTest, type Answer, type Exchange, type RunningAdapter } from "../support/adapters.ts";
import { recordSecret } from "../support/capture.ts";
import { APPID, BUCKET, brokerEnv, REGION, startTestEmulator } from "../support/harness.ts";
import { hsToken, rawToken, rsaKey, signWith } from "../support/tokens.ts";
import { startTestWechat, type TestWechat, WECHAT_APPID } from "../support/wechat.ts";

const UPLOAD = builtInProfiles.get("upload")!.actions;
const ORIGIN = "https://app.example.com";
const now = () => Math.floor(Date.now() / 1000);
const resource = (key: string) => `qcs::cos:${REGION}:uid/${APPID}:${BUCKET}/${key}`;
const parse = (answer: Answer) => JSON.parse(answer.body) as Record<string, any>;
const bearer = async (claims?: Parameters<typeof hsToken>[0]) => ({ authorization: `Bearer ${await hsToken(claims)}` });

interface Broker {
  readonly emulator: StsEmulator;
  readonly env: Env;
  readonly adapter: RunningAdapter;
  send(exchange?: Exchange): Promise<Answer>;
  close(): Promise<void>;
}

interface BrokerOptions {
  readonly env?: Env;
  readonly emulator?: StsEmulatorOptions;
  /** Variables that need the started emulator (a temporary key). */
  readonly envFrom?: (emulator: StsEmulator) => Env;
}

async function startBroker(adapter: AdapterUnderTest, options: BrokerOptions = {}): Promise<Broker> {
  const emulator = await startTestEmulator(options.emulator);
  const env = brokerEnv(emulator, { ...options.env, ...options.envFrom?.(emulator) });
  const running = await adapter.start(env);
  return {
    emulator,
    env,
    adapter: running,
    send: (exchange) => running.send(exchange),
    close: async () => {
      await running.close();
      await emulator.close();
    },
  };
}

/** A broker for one describe block: started before its tests, its STS emulator reset after each. */
function brokerFor(adapter: AdapterUnderTest, options: BrokerOptions = {}): () => Broker {
  let broker: Broker | undefined;
  beforeAll(async () => {
    broker = await startBroker(adapter, options);
  });
  afterAll(() => broker?.close());
  afterEach(() => broker?.emulator.reset());
  return () => broker!;
}

describe.each(ADAPTERS)("through $name", (adapter) => {
  describe("issuing with GetFederationToken", () => {
    const b = brokerFor(adapter, { env: { CORS_ORIGINS: ORIGIN } });

    it("issues fenced credentials in exactly the documented shape, with the documented headers", async () => {
      const before = now();
      const answer = await b().send({ headers: await bearer({ sub: "alice" }), body: JSON.stringify({ profile: "upload" }) });
      expect(answer.status).toBe(200);
      expect(answer.headers).toMatchObject({ "content-type": "application/json", "cache-control": "no-store", "x-content-type-options": "nosniff" });
      const body = parse(answer);
      expect(Object.keys(body).sort()).toEqual([
        "allowActions",
        "bucket",
        "credentials",
        "expiration",
        "expiredTime",
        "prefix",
        "profile",
        "region",
        "requestId",
        "startTime",
      ]);
      expect(Object.keys(body.credentials).sort()).toEqual(["sessionToken", "tmpSecretId", "tmpSecretKey"]);
      expect(body).toMatchObject({ bucket: BUCKET, region: REGION, prefix: "users/alice/", profile: "upload", allowActions: [...UPLOAD] });
      expect(body.startTime).toBeGreaterThanOrEqual(before);
      expect(body.startTime).toBeLessThanOrEqual(now());
      const issued = b().emulator.issued.get(body.credentials.tmpSecretId)!;
      expect(issued).toMatchObject({ action: "GetFederationToken", token: body.credentials.sessionToken, expiredTime: body.expiredTime });
      expect(body.expiration).toBe(new Date(body.expiredTime * 1000).toISOString().replace(".000", ""));
      expect(issued.policy).toEqual({ version: "2.0", statement: [{ effect: "allow", action: [...UPLOAD], resource: [resource("users/alice/*")] }] });
      expect(b().emulator.calls.at(-1)?.params).toMatchObject({ DurationSeconds: 900 });
    });

    it("narrows the grant to one object, from a POST body or a GET's query string", async () => {
      const posted = parse(await b().send({ headers: await bearer({ sub: "carol" }), body: JSON.stringify({ key: "q.txt" }) }));
      const got = parse(await b().send({ method: "GET", headers: await bearer({ sub: "carol" }), query: { key: "q.txt" } }));
      for (const body of [posted, got]) {
        expect(body.key).toBe("users/carol/q.txt");
        expect((b().emulator.issued.get(body.credentials.tmpSecretId)!.policy as any).statement[0].resource).toEqual([resource("users/carol/q.txt")]);
      }
    });

    it("answers CORS preflight for an allowed origin, and tags answers for that origin only", async () => {
      const preflight = await b().send({ method: "OPTIONS", headers: { origin: ORIGIN, "access-control-request-method": "POST" } });
      expect(preflight.status).toBe(204);
      expect(preflight.headers).toMatchObject({ "access-control-allow-origin": ORIGIN, "access-control-allow-methods": "GET, POST, OPTIONS" });
      expect(preflight.headers["access-control-allow-headers"]).toMatch(/Authorization/);
      const other = await b().send({ method: "OPTIONS", headers: { origin: "https://evil.example" } });
      expect(other.status).toBe(204);
      expect(other.headers["access-control-allow-origin"]).toBeUndefined();
      const post = await b().send({ headers: { origin: ORIGIN, ...(await bearer({ sub: "erin" })) } });
      expect(post.headers["access-control-allow-origin"]).toBe(ORIGIN);
      expect(b().emulator.stsCallCount()).toBe(1);
    });

    it("writes one log line per request, with the subject hash and STS's RequestId, and no secret", async () => {
      const headers = await bearer({ sub: "dave" });
      const before = b().adapter.logLines.length;
      const body = parse(await b().send({ headers }));
      const lines = b().adapter.logLines.slice(before);
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({
        event: "request",
        outcome: "issued",
        status: 200,
        subject: subjectHash({ sub: "dave" }),
        prefix: "users/dave/",
        stsRequestId: body.requestId,
        sourceIp: expect.any(String),
      });
      for (const secret of [
        headers.authorization.slice(7),
        body.credentials.tmpSecretKey,
        body.credentials.sessionToken,
        b().env.STS_SECRET_KEY!,
        b().env.JWT_SECRET!,
      ]) {
        expect(lines[0]).not.toContain(secret);
      }
    });
  });

  describe("issuing with AssumeRole and the execution role's temporary key", () => {
    const b = brokerFor(adapter, {
      envFrom: (emulator) => {
        const role = emulator.addTemporaryKey();
        return {
          STS_SECRET_ID: "",
          STS_SECRET_KEY: "",
          TENCENTCLOUD_SECRETID: role.secretId,
          TENCENTCLOUD_SECRETKEY: role.secretKey,
          TENCENTCLOUD_SESSIONTOKEN: role.token,
          STS_ROLE_ARN: "qcs::cam::uin/100000000001:roleName/cos-uploader",
          STS_DURATION_SECONDS: "1800",
        };
      },
    });

    it("assumes the role with a session name of the user's own", async () => {
      const body = parse(await b().send({ headers: await bearer({ sub: "alice", iss: "https://id.example" }) }));
      const issued = b().emulator.issued.get(body.credentials.tmpSecretId)!;
      expect(issued).toMatchObject({ action: "AssumeRole", roleArn: "qcs::cam::uin/100000000001:roleName/cos-uploader" });
      expect(issued.roleSessionName).toBe(`cos-${subjectHash({ sub: "alice", iss: "https://id.example" }).slice(0, 32)}`);
      expect(body.expiredTime - body.startTime).toBeGreaterThanOrEqual(1799);
      const other = parse(await b().send({ headers: await bearer({ sub: "bob", iss: "https://id.example" }) }));
      expect(b().emulator.issued.get(other.credentials.tmpSecretId)!.roleSessionName).not.toBe(issued.roleSessionName);
    });
  });

  describe("refusals, each before STS is called", () => {
    const b = brokerFor(adapter, { env: { RATE_LIMIT_BURST: "1000" } });
    const post = async (body?: string, sub = "alice", method = "POST") =>
      b().send({ method, headers: await bearer({ sub }), ...(body === undefined ? {} : { body }) });

    it.each<[string, () => Promise<Answer>, number, string, Record<string, string>?]>([
      ["bad JSON", () => post("{"), 400, "BadRequest"],
      ["a field the broker does not know", () => post(JSON.stringify({ Key: "a.png" })), 400, "BadRequest"],
      ["no token", () => b().send({}), 401, "InvalidToken", { "www-authenticate": "Bearer" }],
      ["an unknown profile", () => post(JSON.stringify({ profile: "admin" })), 403, "ScopeNotAllowed"],
      ["a sub that would widen the prefix", () => post(undefined, "alice/../bob"), 403, "IdentityNotAllowed"],
      ["PUT", () => post(undefined, "alice", "PUT"), 405, "MethodNotAllowed", { allow: "GET, POST, OPTIONS" }],
      ["a body over 16 KB", () => post(JSON.stringify({ key: "x".repeat(20_000) })), 413, "PayloadTooLarge"],
      [
        "a query string over 16 KB",
        async () => b().send({ method: "GET", headers: await bearer(), query: { key: "x".repeat(17_000) } }),
        413,
        "PayloadTooLarge",
      ],
    ])("%s: %i %s, in the error shape", async (_why, send, status, code, headers = {}) => {
      const answer = await send();
      expect(answer.status).toBe(status);
      expect(answer.headers).toMatchObject({ "content-type": "application/json", "cache-control": "no-store", ...headers });
      expect(parse(answer)).toEqual({ error: { code, message: expect.any(String) }, requestId: expect.any(String) });
      expect(b().emulator.stsCallCount()).toBe(0);
    });
  });

  describe("the rate limit", () => {
    const b = brokerFor(adapter, { env: { RATE_LIMIT_BURST: "2", RATE_LIMIT_PER_MINUTE: "1" } });

    it("answers a user past it 429 TooManyRequests with Retry-After, and another user still gets credentials", async () => {
      const headers = await bearer({ sub: "eager" });
      for (let i = 0; i < 2; i += 1) expect((await b().send({ headers })).status).toBe(200);
      const limited = await b().send({ headers });
      expect(limited.status).toBe(429);
      expect(parse(limited).error.code).toBe("TooManyRequests");
      expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
      expect((await b().send({ headers: await bearer({ sub: "patient" }) })).status).toBe(200);
    });
  });

  describe("hostile tokens", () => {
    const b = brokerFor(adapter, { env: { JWT_ISSUER: "https://id.example", JWT_AUDIENCE: "app" } });
    const good = { sub: "alice", iss: "https://id.example", aud: "app" };

    it("issues for the honest token (the control)", async () => {
      expect((await b().send({ headers: await bearer(good) })).status).toBe(200);
    });

    it.each<[string, () => Promise<string>]>([
      ["alg none", async () => rawToken({ alg: "none", typ: "JWT" }, { ...good, exp: now() + 60 })],
      ["alg None", async () => rawToken({ alg: "None" }, { ...good, exp: now() + 60 })],
      ["a wrong key", () => hsToken(good, { secret: "z".repeat(48) })],
      ["expired", () => hsToken({ ...good, exp: now() - 3600 })],
      ["nbf in the future", () => hsToken({ ...good, nbf: now() + 3600 })],
      ["a wrong issuer", () => hsToken({ ...good, iss: "https://evil.example" })],
      ["a wrong audience", () => hsToken({ ...good, aud: "other" })],
      ["no exp", () => hsToken(good, { exp: null })],
      ["no sub", () => hsToken({ iss: good.iss, aud: good.aud })],
      ["a numeric sub", () => hsToken({ ...good, sub: 7 as unknown as string })],
      ["an array sub", () => hsToken({ ...good, sub: ["alice"] as unknown as string })],
      ["a sub with a control character", () => hsToken({ ...good, sub: "alice\u0000" })],
      ["a token over 8 KB", () => hsToken({ ...good, blob: "A".repeat(9000) })],
      [
        "a signature from another token",
        async () => {
          const [, , signature] = (await hsToken(good)).split(".");
          return `${rawToken({ alg: "HS256" }, { ...good, sub: "bob", exp: now() + 60 }).slice(0, -1)}.${signature}`;
        },
      ],
      ["an RS256 token", async () => signWith(await rsaKey(), good)],
      ["an embedded jwk", async () => (async (key) => signWith(key, good, { jwk: key.publicJwk }))(await rsaKey())],
    ])("refuses %s with 401 invalid_token, no stack trace, and no STS call", async (_why, make) => {
      const answer = await b().send({ headers: { authorization: `Bearer ${await make()}` } });
      expect(answer.status).toBe(401);
      expect(parse(answer).error.code).toBe("InvalidToken");
      expect(answer.headers["www-authenticate"]).toBe('Bearer error="invalid_token"');
      expect(answer.body).not.toMatch(/tmpSecret|sessionToken|at .*\.ts:\d+/);
      expect(b().emulator.stsCallCount()).toBe(0);
    });

    it("reads no token from the query string", async () => {
      const token = await hsToken(good);
      const answer = await b().send({ method: "GET", query: { token, access_token: token, authorization: `Bearer ${token}` } });
      expect(answer.status).toBe(401);
      expect(b().emulator.stsCallCount()).toBe(0);
    });
  });

  describe("STS faults, each mapped to its status after one attempt", () => {
    const b = brokerFor(adapter, { env: { STS_TIMEOUT_MS: "400", STS_MAX_ATTEMPTS: "1" } });

    it.each<[string, Parameters<StsEmulator["inject"]>[0], number, string]>([
      ["an STS internal error", { kind: "error", code: "InternalError.SystemError" }, 502, "UpstreamError"],
      ["an HTTP 502 from STS", { kind: "http", status: 502 }, 502, "UpstreamError"],
      ["a malformed STS answer", { kind: "malformed" }, 502, "UpstreamError"],
      ["a connection reset", { kind: "reset" }, 502, "UpstreamError"],
      ["STS throttling", { kind: "throttle" }, 503, "UpstreamThrottled"],
      ["a hung STS", { kind: "hang" }, 504, "UpstreamTimeout"],
      ["a slow STS", { kind: "delay", ms: 2000 }, 504, "UpstreamTimeout"],
      ["a revoked key", { kind: "error", code: "AuthFailure.SecretIdNotFound" }, 500, "ConfigError"],
      ["a missing role", { kind: "error", code: "ResourceNotFound.RoleNotFound" }, 500, "ConfigError"],
    ])("%s (%o): %i %s", async (_why, fault, status, code) => {
      b().emulator.inject(fault);
      const started = Date.now();
      const answer = await b().send({ headers: await bearer() });
      expect(answer.status).toBe(status);
      expect(parse(answer).error.code).toBe(code);
      if (status === 503) expect(answer.headers["retry-after"]).toBe("1");
      // The attempt's 400 ms deadline, not the 2 s the slow STS would take.
      if (status === 504) expect(Date.now() - started).toBeLessThan(1900);
      expect(answer.body).not.toContain(b().env.STS_SECRET_KEY!);
    });
  });

  describe("STS faults, ridden out with retries", () => {
    const b = brokerFor(adapter, { env: { STS_TIMEOUT_MS: "400", CREDENTIAL_CACHE_MAX_ENTRIES: "0", RATE_LIMIT_BURST: "1000" } });

    it.each<[string, Parameters<StsEmulator["inject"]>[0]]>([
      ["a reset", { kind: "reset" }],
      ["an HTTP 503", { kind: "http", status: 503 }],
      ["throttling", { kind: "throttle" }],
      ["a hang", { kind: "hang" }],
    ])("rides out %s with a second attempt", async (_why, fault) => {
      b().emulator.inject(fault, { times: 1 });
      expect((await b().send({ headers: await bearer() })).status).toBe(200);
      expect(b().emulator.calls).toHaveLength(2);
      expect(b().emulator.stsCallCount()).toBe(1);
    });

    it("answers 503 with Retry-After after three throttled attempts, and calls STS once for a configuration error", async () => {
      b().emulator.inject({ kind: "throttle" });
      const throttled = await b().send({ headers: await bearer() });
      expect(throttled.status).toBe(503);
      expect(throttled.headers["retry-after"]).toBe("1");
      expect(b().emulator.calls).toHaveLength(3);
      b().emulator.reset();
      b().emulator.inject({ kind: "error", code: "AuthFailure.SecretIdNotFound" });
      expect((await b().send({ headers: await bearer() })).status).toBe(500);
      expect(b().emulator.calls).toHaveLength(1);
    });
  });

  describe("a configuration the broker refuses", () => {
    it.each([
      [{ COS_BUCKET: "" }, /COS_BUCKET/],
      [{ JWT_SECRET: "short" }, /JWT_SECRET/],
      [{ STS_DURATION_SECONDS: "60" }, /STS_DURATION_SECONDS/],
    ])("answers every request 500 ConfigError naming the variable (%j)", async (env, variable) => {
      const broker = await startBroker(adapter, { env });
      try {
        const answer = await broker.send({ headers: await bearer() });
        expect(answer.status).toBe(500);
        expect(parse(answer).error).toEqual({ code: "ConfigError", message: expect.stringMatching(variable) });
        expect(broker.emulator.stsCallCount()).toBe(0);
      } finally {
        await broker.close();
      }
    });
  });

  describe("WeChat login", () => {
    let wechat: TestWechat;
    let broker: Broker;
    beforeAll(async () => {
      wechat = await startTestWechat();
      broker = await startBroker(adapter, { env: wechat.env });
    });
    afterAll(async () => {
      await broker.close();
      await wechat.emulator.close();
    });
    const code = (openid: string) => {
      const minted = wechat.emulator.mint(openid);
      recordSecret("wechat-code", minted);
      return minted;
    };

    it("issues for a wx.login code in the user's own wx/ prefix, and refuses the same code twice", async () => {
      const loginCode = code("o_alice");
      const answer = await broker.send({ headers: { authorization: `WeChat ${loginCode}` }, body: '{"profile":"upload"}' });
      expect(answer.status).toBe(200);
      expect(parse(answer)).toMatchObject({ prefix: "wx/o_alice/", profile: "upload" });
      expect(JSON.parse(broker.adapter.logLines.at(-1)!).subject).toBe(subjectHash({ iss: `wechat:${WECHAT_APPID}`, sub: "o_alice" }));
      const again = await broker.send({ headers: { authorization: `WeChat ${loginCode}` } });
      expect(again.status).toBe(401);
      expect(again.headers["www-authenticate"]).toBe('WeChat error="invalid_token"');
    });
  });
});
