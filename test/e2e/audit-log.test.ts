/**
 * The audit trail: exactly one JSON line per request, with every field, on every path:
 * issued, served from cache, refused before and after the token, limited, failed at STS,
 * preflight, a non-HTTP event, and a misconfigured instance.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { subjectHash } from "../../lib/grant/prefix.ts";
import { apiGatewayEvent, bearer, context, functionUrlEvent, type Harness, parse, startHarness } from "../support/harness.ts";
import { hsToken } from "../support/tokens.ts";

const FIELDS = [
  "time",
  "level",
  "event",
  "requestId",
  "outcome",
  "status",
  "method",
  "latencyMs",
  "subject",
  "profile",
  "prefix",
  "key",
  "stsRequestId",
  "cached",
  "sourceIp",
];
const ERROR_FIELDS = ["code", "message"];

describe("one audit line per request", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { CORS_ORIGINS: "https://app.example.com", RATE_LIMIT_BURST: "3", STS_MAX_ATTEMPTS: "1" } });
  });
  afterAll(() => h.close());
  afterEach(() => h.emulator.reset());

  /** Runs one invocation and returns its response and its one log line, parsed. */
  async function invoke(event: unknown, ctx: Parameters<Harness["handler"]>[1] = context()) {
    const start = h.logLines.length;
    const before = Date.now();
    const response = await h.handler(event, ctx);
    const lines = h.logLines.slice(start);
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(
      Object.keys(line)
        .filter((name) => !ERROR_FIELDS.includes(name) && name !== "detail")
        .sort(),
    ).toEqual([...FIELDS].sort());
    expect(Date.parse(line.time as string)).toBeGreaterThanOrEqual(before - 1000);
    expect(line.latencyMs).toEqual(expect.any(Number));
    expect(line.status).toBe(response.statusCode);
    return { response, line };
  }

  it("issued: subject hash, profile, prefix, STS RequestId, cache flag, source IP", async () => {
    const { response, line } = await invoke(functionUrlEvent({ headers: bearer(await hsToken({ sub: "ann" })) }));
    expect(line).toMatchObject({
      level: "info",
      event: "request",
      requestId: "scf-req-1",
      outcome: "issued",
      status: 200,
      method: "POST",
      subject: subjectHash({ sub: "ann" }),
      profile: "upload",
      prefix: "users/ann/",
      key: null,
      stsRequestId: parse(response).requestId,
      cached: false,
      sourceIp: "203.0.113.7",
    });
    expect(line.stsRequestId).toEqual(expect.stringMatching(/\S/));
  });

  it("issued from cache, narrowed to a key, through API Gateway", async () => {
    const token = await hsToken({ sub: "ben" });
    const event = () => apiGatewayEvent({ headers: bearer(token), body: JSON.stringify({ key: "a.png" }) });
    const first = await invoke(event(), { getRemainingTimeInMillis: () => 5000 });
    const { line } = await invoke(event(), { getRemainingTimeInMillis: () => 5000 });
    expect(line).toMatchObject({
      requestId: "apigw-req-1",
      outcome: "issued",
      key: "users/ben/a.png",
      prefix: "users/ben/",
      cached: true,
      sourceIp: "198.51.100.4",
    });
    expect(line.stsRequestId).toBe(first.line.stsRequestId);
  });

  it("refused before the token is known: nothing about the user, the source IP all the same", async () => {
    const { line } = await invoke(functionUrlEvent({ headers: bearer("eyJhbGciOiJIUzI1NiJ9.e30.bm9wZQ"), sourceIp: "192.0.2.9" }));
    expect(line).toMatchObject({
      outcome: "refused",
      status: 401,
      code: "InvalidToken",
      subject: null,
      profile: null,
      prefix: null,
      stsRequestId: null,
      cached: null,
      sourceIp: "192.0.2.9",
    });
  });

  it("refused after the token: who asked, and for what", async () => {
    const { line } = await invoke(functionUrlEvent({ headers: bearer(await hsToken({ sub: "cy" })), body: JSON.stringify({ key: "../x" }) }));
    expect(line).toMatchObject({
      outcome: "refused",
      status: 403,
      code: "ScopeNotAllowed",
      subject: subjectHash({ sub: "cy" }),
      profile: "upload",
      prefix: "users/cy/",
      key: null,
      stsRequestId: null,
    });
  });

  it("limited: 429 with the subject", async () => {
    const token = await hsToken({ sub: "dee" });
    for (let i = 0; i < 3; i += 1) await invoke(functionUrlEvent({ headers: bearer(token), body: JSON.stringify({ key: `${i}` }) }));
    const { line } = await invoke(functionUrlEvent({ headers: bearer(token) }));
    expect(line).toMatchObject({ outcome: "refused", status: 429, code: "TooManyRequests", subject: subjectHash({ sub: "dee" }) });
  });

  it("failed at STS: level error, the STS code in detail", async () => {
    h.emulator.inject({ kind: "error", code: "InternalError.SystemError" });
    const { line } = await invoke(functionUrlEvent({ headers: bearer(await hsToken({ sub: "eve" })) }));
    expect(line).toMatchObject({
      level: "error",
      outcome: "failed",
      status: 502,
      code: "UpstreamError",
      subject: subjectHash({ sub: "eve" }),
      stsRequestId: null,
    });
    expect(line.detail).toMatch(/code=InternalError\.SystemError requestId=\S+/);
  });

  it("preflight", async () => {
    const { line } = await invoke(functionUrlEvent({ method: "OPTIONS", headers: { origin: "https://app.example.com" } }));
    expect(line).toMatchObject({ outcome: "preflight", status: 204, method: "OPTIONS", subject: null, sourceIp: "203.0.113.7" });
  });

  it.each<[string, unknown, Parameters<Harness["handler"]>[1]]>([
    ["a timer event", { Type: "Timer", TriggerName: "t", Time: "2026-01-01T00:00:00Z", Message: "" }, context()],
    ["null", null, context()],
    ["a string, with no context", "GET /", undefined],
    [
      "an array, with a context whose clock throws",
      [],
      {
        request_id: "r-9",
        getRemainingTimeInMillis: () => {
          throw new Error("no clock");
        },
      },
    ],
  ])("refuses %s with 400 and a line of its own", async (_why, event, ctx) => {
    const { response, line } = await invoke(event, ctx);
    expect(response.statusCode).toBe(400);
    expect(line).toMatchObject({
      outcome: "refused",
      status: 400,
      method: "-",
      code: "BadRequest",
      subject: null,
      profile: null,
      prefix: null,
      key: null,
      stsRequestId: null,
      cached: null,
      sourceIp: null,
    });
    expect(line.requestId).toBe(parse(response).requestId);
    expect(line.requestId).toEqual(expect.stringMatching(/\S/));
  });

  it("a context whose clock throws does not spoil an HTTP request", async () => {
    const ctx = {
      request_id: "r-10",
      getRemainingTimeInMillis: () => {
        throw new Error("no clock");
      },
    };
    const { line } = await invoke(functionUrlEvent({ headers: bearer(await hsToken({ sub: "fay" })) }), ctx);
    expect(line).toMatchObject({ requestId: "r-10", outcome: "issued", status: 200 });
  });
});

describe("one audit line per request on a misconfigured instance", () => {
  it("refuses with 500 ConfigError and logs it", async () => {
    const h = await startHarness({ env: { COS_BUCKET: "" } });
    try {
      const start = h.logLines.length;
      await h.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub: "a" })) }), context());
      const lines = h.logLines.slice(start).map((text) => JSON.parse(text));
      expect(lines).toEqual([
        expect.objectContaining({
          event: "request",
          requestId: "scf-req-1",
          outcome: "failed",
          status: 500,
          code: "ConfigError",
          subject: null,
          sourceIp: "203.0.113.7",
        }),
      ]);
    } finally {
      await h.close();
    }
  });
});
