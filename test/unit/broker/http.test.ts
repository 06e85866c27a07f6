import { describe, expect, it } from "vitest";
import { createHttpHandler, type HttpRequest, MAX_BODY_BYTES, STATUS_OF } from "../../../lib/broker/http.ts";
import type { Broker, ClientAsk } from "../../../lib/broker/issue.ts";
import { BrokerError, type ErrorCode } from "../../../lib/shared/errors.ts";
import { createLogger } from "../../../lib/shared/log.ts";
import { capturingSink } from "../../support/capture.ts";

const ORIGIN = "https://app.example.com";

type Asked = ClientAsk & { readonly token?: string; readonly code?: string };

/** A broker that accepts every token, then reads what the client asks for, as the real one does once a token is verified. */
function setup(behaviour: (request: Asked) => Promise<unknown> = async () => ({ ok: true })) {
  const calls: Asked[] = [];
  const lines: Record<string, unknown>[] = [];
  const broker: Pick<Broker, "issue"> = {
    issue: async (request, audit) => {
      audit.subject = "hash";
      const credential = request.credential;
      const asked = { ...(credential?.scheme === "Bearer" ? { token: credential.token } : { code: credential?.code }), ...request.ask() };
      calls.push(asked);
      return (await behaviour(asked)) as never;
    },
  };
  const handle = createHttpHandler({ broker, corsOrigins: [ORIGIN], logger: createLogger(capturingSink((line) => lines.push(JSON.parse(line)))) });
  return { handle, calls, lines };
}

const request = (over: Partial<HttpRequest> = {}): HttpRequest => ({
  method: "POST",
  path: "/",
  headers: { authorization: "Bearer a.b.c" },
  query: {},
  body: undefined,
  requestId: "req-1",
  ...over,
});

describe("createHttpHandler", () => {
  it("answers 200 JSON with no-store, and passes the body's fields to the broker", async () => {
    const { handle, calls } = setup();
    const response = await handle(request({ body: JSON.stringify({ profile: "upload", key: "a.png" }) }));
    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({ "Content-Type": "application/json", "Cache-Control": "no-store" });
    expect(JSON.parse(response.body)).toEqual({ ok: true });
    expect(calls[0]).toMatchObject({ token: "a.b.c", profile: "upload", key: "a.png" });
  });

  it("reads GET parameters from the query, scope as JSON", async () => {
    const { handle, calls } = setup();
    const scope = [{ action: "name/cos:PutObject" }];
    await handle(request({ method: "GET", query: { profile: "upload", scope: JSON.stringify(scope) } }));
    expect(calls[0]).toMatchObject({ profile: "upload", scope });
  });

  it("takes a bare JSON array as the scope (Tencent's ScopeLimit demo posts it that way)", async () => {
    const { handle, calls } = setup();
    await handle(request({ body: JSON.stringify([{ action: "name/cos:PutObject" }]) }));
    expect(calls[0]?.scope).toEqual([{ action: "name/cos:PutObject" }]);
  });

  it.each(["bearer a.b.c", "BEARER a.b.c", "Bearer   a.b.c"])("accepts the scheme in any case: %s", async (authorization) => {
    const { handle, calls } = setup();
    expect((await handle(request({ headers: { authorization } }))).status).toBe(200);
    expect(calls[0]?.token).toBe("a.b.c");
  });

  // RFC 6750 section 3.1: no error code when the request carries no bearer token at all.
  it.each<[string, Partial<HttpRequest>, string]>([
    ["no header", { headers: {} }, "Bearer"],
    ["another scheme", { headers: { authorization: "Basic YTpi" } }, "Bearer"],
    ["an empty bearer", { headers: { authorization: "Bearer " } }, "Bearer"],
    ["a token only in the query", { headers: {}, query: { token: "a.b.c", access_token: "a.b.c" } }, "Bearer"],
    ["two tokens", { headers: { authorization: "Bearer a b" } }, 'Bearer error="invalid_token"'],
  ])("answers 401 for %s, with WWW-Authenticate: %s, without calling the broker", async (_why, over, challenge) => {
    const { handle, calls } = setup();
    const response = await handle(request(over));
    expect(response.status).toBe(401);
    expect(response.headers["WWW-Authenticate"]).toBe(challenge);
    expect(JSON.parse(response.body)).toEqual({ error: { code: "InvalidToken", message: expect.any(String) }, requestId: "req-1" });
    expect(calls).toHaveLength(0);
  });

  it('answers a token that fails verification with error="invalid_token"', async () => {
    const { handle } = setup(async () => {
      throw new BrokerError("InvalidToken", "the login token is expired");
    });
    const response = await handle(request());
    expect(response.status).toBe(401);
    expect(response.headers["WWW-Authenticate"]).toBe('Bearer error="invalid_token"');
  });

  describe("fields it does not know", () => {
    const READS = "The broker reads only profile, key, scope and filename.";
    it.each<[string, Partial<HttpRequest>, string]>([
      ["the SDKs' spelling Key", { body: '{"Key":"a.jpg"}' }, "unknown field 'Key' in the request body; did you mean 'key'?"],
      ["a typo", { body: '{"filname":"a.jpg"}' }, "unknown field 'filname' in the request body; did you mean 'filename'?"],
      ["a field beside known ones", { body: '{"profile":"upload","Scope":[]}' }, "unknown field 'Scope' in the request body; did you mean 'scope'?"],
      ["a query parameter on GET", { method: "GET", query: { Key: "a.jpg" } }, "unknown field 'Key' in the query string; did you mean 'key'?"],
      [
        "a token in the query",
        { method: "GET", query: { access_token: "a.b.c" } },
        "unknown field 'access_token' in the query string; send the login token only as 'Authorization: Bearer <jwt>'.",
      ],
      ["a name like nothing known", { body: '{"bucket":"b"}' }, "unknown field 'bucket' in the request body."],
    ])("answers 400 for %s, naming it, without calling the broker", async (_why, over, message) => {
      const { handle, calls } = setup();
      const response = await handle(request(over));
      expect(response.status).toBe(400);
      expect(JSON.parse(response.body).error).toEqual({ code: "BadRequest", message: `${message} ${READS}` });
      expect(calls).toHaveLength(0);
    });

    it("does not echo a field name that could carry anything", async () => {
      const { handle } = setup();
      const name = `eyJhbGciOiJIUzI1NiJ9.${"x".repeat(60)}`;
      const response = await handle(request({ body: JSON.stringify({ [name]: 1 }) }));
      expect(response.status).toBe(400);
      expect(response.body).not.toContain("eyJ");
      expect(JSON.parse(response.body).error.message).toMatch(/^unknown field in the request body\./);
    });

    it("accepts every documented field", async () => {
      const { handle, calls } = setup();
      const body = { profile: "p", key: "k", scope: [], filename: "f" };
      expect((await handle(request({ body: JSON.stringify(body) }))).status).toBe(200);
      expect((await handle(request({ method: "GET", query: { profile: "p", key: "k", scope: "[]", filename: "f" } }))).status).toBe(200);
      expect(calls).toHaveLength(2);
    });
  });

  it.each(["PUT", "DELETE", "PATCH", "HEAD", "TRACE"])("answers 405 with Allow for %s", async (method) => {
    const { handle } = setup();
    const response = await handle(request({ method }));
    expect(response.status).toBe(405);
    expect(response.headers.Allow).toBe("GET, POST, OPTIONS");
  });

  it.each(["{", "null", "42", '"str"', "[1,"])("answers 400 for body %j", async (body) => {
    const { handle, calls } = setup();
    expect((await handle(request({ body }))).status).toBe(400);
    expect(calls).toHaveLength(0);
  });

  it("answers 400 for a GET scope that is not JSON", async () => {
    const { handle } = setup();
    expect((await handle(request({ method: "GET", query: { scope: "[" } }))).status).toBe(400);
  });

  it("answers 413 for a body or a query over the limit, before the broker sees the token", async () => {
    const { handle, calls } = setup();
    expect((await handle(request({ body: `{"key":"${"x".repeat(MAX_BODY_BYTES)}"}` }))).status).toBe(413);
    const response = await handle(request({ method: "GET", query: { key: "k", scope: "x".repeat(MAX_BODY_BYTES) } }));
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body).error.message).toBe(`the query string must be at most ${MAX_BODY_BYTES} bytes`);
    expect(calls).toHaveLength(0);
  });

  it("parses nothing for a broker that refuses the token: a bad token with a bad body is 401", async () => {
    const lines: Record<string, unknown>[] = [];
    const broker: Pick<Broker, "issue"> = {
      issue: async () => {
        throw new BrokerError("InvalidToken", "token signature is invalid");
      },
    };
    const handle = createHttpHandler({ broker, corsOrigins: [], logger: createLogger(capturingSink((line) => lines.push(JSON.parse(line)))) });
    expect((await handle(request({ body: "{" }))).status).toBe(401);
    expect((await handle(request({ method: "GET", query: { scope: "[" } }))).status).toBe(401);
  });

  it("maps every error code to its status, with Retry-After where due", async () => {
    for (const [code, status] of Object.entries(STATUS_OF) as [ErrorCode, number][]) {
      const { handle } = setup(async () => {
        throw new BrokerError(code, `failed: ${code}`, { retryAfter: code === "UpstreamThrottled" || code === "TooManyRequests" ? 2 : undefined });
      });
      const response = await handle(request());
      expect(response.status).toBe(status);
      expect(status).not.toBe(200);
      expect(JSON.parse(response.body).error.code).toBe(code);
      if (code === "UpstreamThrottled" || code === "TooManyRequests") expect(response.headers["Retry-After"]).toBe("2");
    }
  });

  it("turns an unexpected exception into a 500 without its message or stack", async () => {
    const { handle, lines } = setup(async () => {
      throw new TypeError("secret-ish internal detail at /var/user/index.js:1");
    });
    const response = await handle(request());
    expect(response.status).toBe(500);
    expect(response.body).not.toContain("secret-ish");
    expect(response.body).not.toContain("index.js");
    expect(JSON.stringify(lines)).not.toContain("secret-ish");
  });

  describe("CORS", () => {
    it("answers a preflight from an allowed origin", async () => {
      const { handle, calls } = setup();
      const response = await handle(request({ method: "OPTIONS", headers: { origin: ORIGIN, "access-control-request-method": "POST" } }));
      expect(response.status).toBe(204);
      expect(response.headers).toMatchObject({
        "Access-Control-Allow-Origin": ORIGIN,
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type",
        Vary: "Origin",
      });
      expect(calls).toHaveLength(0);
    });

    it("gives no CORS headers to another origin", async () => {
      const { handle } = setup();
      for (const method of ["OPTIONS", "POST"]) {
        const response = await handle(request({ method, headers: { origin: "https://evil.example", authorization: "Bearer a.b.c" } }));
        expect(response.headers["Access-Control-Allow-Origin"]).toBeUndefined();
      }
    });

    it("adds the allowed origin to answers and errors", async () => {
      const { handle } = setup();
      expect((await handle(request({ headers: { origin: ORIGIN, authorization: "Bearer a.b.c" } }))).headers["Access-Control-Allow-Origin"]).toBe(ORIGIN);
      expect((await handle(request({ headers: { origin: ORIGIN } }))).headers["Access-Control-Allow-Origin"]).toBe(ORIGIN);
    });
  });

  it("logs exactly one line per request with outcome, status and audit fields", async () => {
    const { handle, lines } = setup();
    await handle(request({ sourceIp: "203.0.113.9" }));
    await handle(request({ headers: {} }));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ event: "request", requestId: "req-1", outcome: "issued", status: 200, subject: "hash", sourceIp: "203.0.113.9" });
    expect(lines[1]).toMatchObject({ outcome: "refused", status: 401, code: "InvalidToken" });
    expect(lines[0]?.latencyMs).toEqual(expect.any(Number));
  });
});
