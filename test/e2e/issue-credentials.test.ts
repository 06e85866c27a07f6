/** End to end: SCF events -> main_handler -> real STS SDK -> loopback STS emulator over HTTP. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { subjectHash } from "../../lib/grant/prefix.ts";
import { builtInProfiles } from "../../lib/grant/profiles.ts";
import { APPID, apiGatewayEvent, BUCKET, bearer, context, functionUrlEvent, type Harness, parse, REGION, startHarness } from "../support/harness.ts";
import { hsToken } from "../support/tokens.ts";

const UPLOAD = builtInProfiles.get("upload")!.actions;
const resource = (key: string) => `qcs::cos:${REGION}:uid/${APPID}:${BUCKET}/${key}`;

describe("issue-credentials with GetFederationToken", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { CORS_ORIGINS: "https://app.example.com" } });
  });
  afterAll(() => h.close());
  afterEach(() => h.emulator.reset());

  it("issues fenced credentials for a Function URL POST, in exactly the documented shape", async () => {
    const before = Math.floor(Date.now() / 1000);
    const response = await h.handler(
      functionUrlEvent({ headers: bearer(await hsToken({ sub: "alice" })), body: JSON.stringify({ profile: "upload" }) }),
      context(),
    );
    expect(response.statusCode).toBe(200);
    expect(response.isBase64Encoded).toBe(false);
    expect(response.headers).toMatchObject({ "Content-Type": "application/json", "Cache-Control": "no-store" });
    const body = parse(response);
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
    expect(body.startTime).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(String(body.startTime)).toHaveLength(10);

    const issued = h.emulator.issued.get(body.credentials.tmpSecretId)!;
    expect(issued).toMatchObject({ action: "GetFederationToken", token: body.credentials.sessionToken, expiredTime: body.expiredTime });
    expect(body.expiredTime - body.startTime).toBeGreaterThanOrEqual(899);
    expect(body.expiration).toBe(new Date(body.expiredTime * 1000).toISOString().replace(".000", ""));
    expect(issued.policy).toEqual({ version: "2.0", statement: [{ effect: "allow", action: [...UPLOAD], resource: [resource("users/alice/*")] }] });
    expect(issued.name).toMatch(/^cos[a-p]{20}$/);
    expect(h.emulator.calls.at(-1)?.params).toMatchObject({ DurationSeconds: 900 });
  });

  it("narrows the grant to one object with key", async () => {
    const response = await h.handler(
      functionUrlEvent({ headers: bearer(await hsToken({ sub: "alice" })), body: JSON.stringify({ key: "photos/cat.png" }) }),
      context(),
    );
    expect(response.statusCode).toBe(200);
    const issued = h.emulator.issued.get(parse(response).credentials.tmpSecretId)!;
    expect((issued.policy as any).statement[0].resource).toEqual([resource("users/alice/photos/cat.png")]);
  });

  it("narrows to the SDK's scope list", async () => {
    const scope = [
      { action: "name/cos:PutObject", bucket: BUCKET, region: REGION, prefix: "users/alice/a.png" },
      { action: "name/cos:InitiateMultipartUpload", bucket: BUCKET, region: REGION, prefix: "users/alice/big.bin" },
    ];
    const response = await h.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub: "alice" })), body: JSON.stringify({ scope }) }), context());
    expect(response.statusCode).toBe(200);
    expect(parse(response).allowActions).toEqual(["name/cos:PutObject", "name/cos:InitiateMultipartUpload"]);
    const issued = h.emulator.issued.get(parse(response).credentials.tmpSecretId)!;
    expect((issued.policy as any).statement).toHaveLength(2);
  });

  it("reads an API Gateway event with a base64 body and mixed-case headers", async () => {
    const event = apiGatewayEvent({
      headers: { AUTHORIZATION: `bearer ${await hsToken({ sub: "bob" })}`, "Content-Type": "application/json" },
      body: JSON.stringify({ key: "x.txt" }),
      base64: true,
    });
    const response = await h.handler(event, { getRemainingTimeInMillis: () => 5000 });
    expect(response.statusCode).toBe(200);
    expect(parse(response).prefix).toBe("users/bob/");
    const last = JSON.parse(h.logLines.at(-1)!);
    expect(last).toMatchObject({ requestId: "apigw-req-1", sourceIp: "198.51.100.4", outcome: "issued", key: "users/bob/x.txt" });
  });

  it("serves GET with the query string, and a body-less GET", async () => {
    const token = await hsToken({ sub: "carol" });
    const withQuery = await h.handler(functionUrlEvent({ method: "GET", headers: bearer(token), query: { key: "q.txt" } }), context());
    expect(withQuery.statusCode).toBe(200);
    const plain = await h.handler({ httpMethod: "GET", path: "/", headers: bearer(token), queryString: {} }, context());
    expect(parse(plain).prefix).toBe("users/carol/");
  });

  it("answers CORS preflight and tags answers for the allowed origin only", async () => {
    const preflight = await h.handler(
      functionUrlEvent({ method: "OPTIONS", headers: { Origin: "https://app.example.com", "Access-Control-Request-Method": "POST" } }),
      context(),
    );
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers["Access-Control-Allow-Origin"]).toBe("https://app.example.com");
    const other = await h.handler(functionUrlEvent({ method: "OPTIONS", headers: { origin: "https://evil.example" } }), context());
    expect(other.headers["Access-Control-Allow-Origin"]).toBeUndefined();
    const post = await h.handler(functionUrlEvent({ headers: { origin: "https://app.example.com", ...bearer(await hsToken({ sub: "a" })) } }), context());
    expect(post.headers["Access-Control-Allow-Origin"]).toBe("https://app.example.com");
    expect(h.emulator.stsCallCount()).toBe(1);
  });

  it("writes one log line per request, with the subject hash and the STS RequestId, and no secrets", async () => {
    const token = await hsToken({ sub: "dave" });
    const start = h.logLines.length;
    const response = await h.handler(functionUrlEvent({ headers: bearer(token) }), context());
    const body = parse(response);
    const lines = h.logLines.slice(start);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      requestId: "scf-req-1",
      outcome: "issued",
      status: 200,
      subject: subjectHash({ sub: "dave" }),
      profile: "upload",
      prefix: "users/dave/",
      stsRequestId: body.requestId,
      sourceIp: "203.0.113.7",
    });
    for (const secret of [token, body.credentials.tmpSecretKey, body.credentials.sessionToken, h.env.STS_SECRET_KEY!, h.env.JWT_SECRET!]) {
      expect(lines[0]).not.toContain(secret);
    }
  });
});

describe("issue-credentials with AssumeRole and the execution role's temporary key", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
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
  });
  afterAll(() => h.close());

  it("assumes the role with a per-user session name", async () => {
    const response = await h.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub: "alice", iss: "https://id.example" })) }), context());
    expect(response.statusCode).toBe(200);
    const body = parse(response);
    const issued = h.emulator.issued.get(body.credentials.tmpSecretId)!;
    expect(issued).toMatchObject({ action: "AssumeRole", roleArn: "qcs::cam::uin/100000000001:roleName/cos-uploader" });
    expect(issued.roleSessionName).toBe(`cos-${subjectHash({ sub: "alice", iss: "https://id.example" }).slice(0, 32)}`);
    expect(issued.roleSessionName).toMatch(/^[\w+=,.@-]{2,128}$/);
    expect(body.expiredTime - body.startTime).toBeGreaterThanOrEqual(1799);
    const other = parse(await h.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub: "bob", iss: "https://id.example" })) }), context()));
    expect(h.emulator.issued.get(other.credentials.tmpSecretId)!.roleSessionName).not.toBe(issued.roleSessionName);
  });
});

describe("issue-credentials error statuses", () => {
  let h: Harness;
  beforeAll(async () => {
    // One attempt, so each fault maps straight to its status; retries are tested below.
    h = await startHarness({ env: { STS_TIMEOUT_MS: "400", STS_MAX_ATTEMPTS: "1" } });
  });
  afterAll(() => h.close());
  afterEach(() => h.emulator.reset());

  const post = async (body?: string, sub = "alice", method = "POST") =>
    h.handler(functionUrlEvent({ method, headers: bearer(await hsToken({ sub })), body }), context());

  it.each<[string, () => Promise<{ statusCode: number; body: string }>, number, string]>([
    ["bad JSON", () => post("{"), 400, "BadRequest"],
    ["missing token", async () => h.handler(functionUrlEvent({}), context()), 401, "InvalidToken"],
    ["unknown profile", () => post(JSON.stringify({ profile: "admin" })), 403, "ScopeNotAllowed"],
    ["a widening sub", () => post(undefined, "alice/../bob"), 403, "IdentityNotAllowed"],
    ["PUT", () => post(undefined, "alice", "PUT"), 405, "MethodNotAllowed"],
    ["a huge body", () => post(JSON.stringify({ key: "x".repeat(20_000) })), 413, "PayloadTooLarge"],
  ])("answers %s with %i %s, before STS", async (_why, send, status, code) => {
    const response = await send();
    expect(response.statusCode).toBe(status);
    expect(parse(response)).toEqual({ error: { code, message: expect.any(String) }, requestId: "scf-req-1" });
    expect(h.emulator.stsCallCount()).toBe(0);
  });

  it.each<[string, Parameters<Harness["emulator"]["inject"]>[0], number, string]>([
    ["an STS internal error", { kind: "error", code: "InternalError.SystemError" }, 502, "UpstreamError"],
    ["an HTTP 502 from STS", { kind: "http", status: 502 }, 502, "UpstreamError"],
    ["a malformed STS answer", { kind: "malformed" }, 502, "UpstreamError"],
    ["a connection reset", { kind: "reset" }, 502, "UpstreamError"],
    ["STS throttling", { kind: "throttle" }, 503, "UpstreamThrottled"],
    ["InvalidParameter.OverLimit", { kind: "error", code: "InvalidParameter.OverLimit" }, 503, "UpstreamThrottled"],
    ["a hung STS", { kind: "hang" }, 504, "UpstreamTimeout"],
    ["a slow STS", { kind: "delay", ms: 2000 }, 504, "UpstreamTimeout"],
    ["a revoked key", { kind: "error", code: "AuthFailure.SecretIdNotFound" }, 500, "ConfigError"],
    ["a missing role", { kind: "error", code: "ResourceNotFound.RoleNotFound" }, 500, "ConfigError"],
  ])("maps %s (%o) to %i %s", async (_why, fault, status, code) => {
    h.emulator.inject(fault);
    const started = Date.now();
    const response = await post();
    expect(response.statusCode).toBe(status);
    expect(parse(response).error.code).toBe(code);
    if (status === 503) expect(response.headers["Retry-After"]).toBe("1");
    if (status === 504) expect(Date.now() - started).toBeLessThan(1900);
    expect(response.body).not.toContain(h.env.STS_SECRET_KEY!);
  });

  it("gives up in time when the invocation is about to end", async () => {
    h.emulator.inject({ kind: "hang" });
    const response = await h.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub: "a" })) }), context(300));
    expect(response.statusCode).toBe(504);
  });

  it("answers a timer event with 400, not a crash", async () => {
    const response = await h.handler({ Type: "Timer", TriggerName: "t", Time: "2026-01-01T00:00:00Z", Message: "" }, context());
    expect(response.statusCode).toBe(400);
  });
});

describe("issue-credentials with a broken configuration", () => {
  it.each([
    [{ COS_BUCKET: "" }, /COS_BUCKET/],
    [{ JWT_SECRET: "short" }, /JWT_SECRET/],
    [{ STS_DURATION_SECONDS: "60" }, /STS_DURATION_SECONDS/],
  ])("refuses every request with 500 ConfigError naming the variable (%j)", async (env, variable) => {
    const h = await startHarness({ env });
    try {
      const response = await h.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub: "a" })) }), context());
      expect(response.statusCode).toBe(500);
      expect(parse(response).error).toEqual({ code: "ConfigError", message: expect.stringMatching(variable) });
      expect(h.emulator.stsCallCount()).toBe(0);
    } finally {
      await h.close();
    }
  });
});
