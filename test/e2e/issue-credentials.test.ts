/**
 * What only the SCF event handler does, end to end (SCF events -> main_handler -> loopback STS
 * emulator): the event and response shapes, API Gateway's, the invocation's time left. The
 * contract every adapter keeps is test/e2e/contract.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { subjectHash } from "../../lib/grant/prefix.ts";
import { APPID, apiGatewayEvent, BUCKET, bearer, context, functionUrlEvent, type Harness, parse, REGION, startHarness } from "../support/harness.ts";
import { hsToken } from "../support/tokens.ts";

const resource = (key: string) => `qcs::cos:${REGION}:uid/${APPID}:${BUCKET}/${key}`;

describe("issue-credentials: what is particular to SCF events", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());
  afterEach(() => h.emulator.reset());

  it("answers a Function URL event in the response shape SCF takes, headers spelled as the contract spells them", async () => {
    const response = await h.handler(
      functionUrlEvent({ headers: bearer(await hsToken({ sub: "alice" })), body: JSON.stringify({ profile: "upload" }) }),
      context(),
    );
    expect(Object.keys(response).sort()).toEqual(["body", "headers", "isBase64Encoded", "statusCode"]);
    expect(response).toMatchObject({ statusCode: 200, isBase64Encoded: false });
    expect(response.headers).toMatchObject({ "Content-Type": "application/json", "Cache-Control": "no-store" });
    const issued = h.emulator.issued.get(parse(response).credentials.tmpSecretId)!;
    expect(issued.name).toMatch(/^cos[a-p]{20}$/);
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
    expect((issued.policy as any).statement[0].resource).toEqual([resource("users/alice/a.png")]);
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

  it("serves a GET event with no body and no query string", async () => {
    const plain = await h.handler({ httpMethod: "GET", path: "/", headers: bearer(await hsToken({ sub: "carol" })), queryString: {} }, context());
    expect(parse(plain).prefix).toBe("users/carol/");
  });

  it("logs the platform's request id and the caller's address from x-scf-remote-addr", async () => {
    const start = h.logLines.length;
    await h.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub: "dave" })) }), context());
    expect(h.logLines.slice(start).map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ requestId: "scf-req-1", outcome: "issued", subject: subjectHash({ sub: "dave" }), sourceIp: "203.0.113.7" }),
    ]);
  });

  it("gives up in time when the invocation is about to end", async () => {
    h.emulator.inject({ kind: "hang" });
    const response = await h.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub: "a" })) }), context(300));
    expect(response.statusCode).toBe(504);
  });

  it("answers a timer event with 400, not a crash", async () => {
    const response = await h.handler({ Type: "Timer", TriggerName: "t", Time: "2026-01-01T00:00:00Z", Message: "" }, context());
    expect(response.statusCode).toBe(400);
    expect(parse(response)).toEqual({ error: { code: "BadRequest", message: expect.any(String) }, requestId: "scf-req-1" });
  });
});
