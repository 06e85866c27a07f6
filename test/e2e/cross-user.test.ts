/**
 * One user never reaches another's objects, whatever the operator configured, the trigger
 * event carried or the identity provider signed (docs/contract.md, How users are kept apart).
 * Each case went wrong once; each is driven through the real handler, with STS calls counted.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { apiGatewayEvent, bearer, context, functionUrlEvent, type Harness, parse, startHarness } from "../support/harness.ts";
import { hsToken } from "../support/tokens.ts";

describe("templates whose areas can meet are refused at start", () => {
  it.each([
    ["a profile's area inside another template's user space", "{sub}/", { avatar: { actions: ["PutObject"], prefix: "avatars/{sub}/" } }, "avatars"],
    ["a shared area a user's sub can name", "{sub}/", { "public-read": { actions: ["GetObject"], prefix: "public/", shared: true } }, "public"],
    ["{sub} beside {sub_hash} in the same place", "users/{sub}/", { avatar: { actions: ["PutObject"], prefix: "users/{sub_hash}/" } }, "alice"],
  ])("%s", async (_why, template, profiles, sub) => {
    const h = await startHarness({ env: { PREFIX_TEMPLATE: template, STS_PROFILES: JSON.stringify(profiles) } });
    try {
      const profile = Object.keys(profiles)[0];
      const response = await h.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub })), body: JSON.stringify({ profile }) }), context());
      expect(response.statusCode, parse(response).prefix).toBe(500);
      const { message } = parse(response).error;
      expect(parse(response).error.code).toBe("ConfigError");
      expect(message).toContain(`'${template}'`);
      expect(message).toContain(`'${Object.values(profiles)[0]!.prefix}'`);
      expect(h.emulator.stsCallCount()).toBe(0);
    } finally {
      await h.close();
    }
  });
});

describe("the source IP credentials are pinned to", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { STS_PROFILES: JSON.stringify({ pinned: { actions: ["GetObject"], conditions: { pinSourceIp: true } } }) } });
  });
  afterAll(() => h.close());
  afterEach(() => h.emulator.reset());

  const pinnedTo = async (event: Record<string, unknown>) => {
    const response = await h.handler(event, context());
    expect(response.statusCode, parse(response).error?.message).toBe(200);
    return JSON.stringify(h.emulator.credentialByToken(parse(response).credentials.sessionToken)?.policy);
  };
  const body = JSON.stringify({ profile: "pinned" });

  it("is requestContext.sourceIp in an API Gateway event, never a header the client sent through", async () => {
    const headers = { ...bearer(await hsToken({ sub: "alice" })), "x-scf-remote-addr": "6.6.6.6", "X-Forwarded-For": "6.6.6.7" };
    const policy = await pinnedTo(apiGatewayEvent({ headers, body, sourceIp: "198.51.100.4" }));
    expect(policy).toContain('"198.51.100.4"');
    expect(policy).not.toContain("6.6.6.");
  });

  it("is unknown, so refused, in an API Gateway event without requestContext.sourceIp", async () => {
    const event = apiGatewayEvent({ headers: { ...bearer(await hsToken({ sub: "alice" })), "x-scf-remote-addr": "6.6.6.6" }, body });
    delete (event.requestContext as Record<string, unknown>).sourceIp;
    const response = await h.handler(event, context());
    expect(response.statusCode).toBe(403);
    expect(h.emulator.stsCallCount()).toBe(0);
  });

  it("is the platform's x-scf-remote-addr in a Function URL event; a case-variant duplicate never overrides it", async () => {
    const token = await hsToken({ sub: "alice" });
    for (const headers of [
      { "X-SCF-Remote-Addr": "6.6.6.6", "x-scf-remote-addr": "203.0.113.7", ...bearer(token) },
      { "x-scf-remote-addr": "203.0.113.7", "X-Scf-Remote-Addr": "6.6.6.6", ...bearer(token) },
    ]) {
      const event = functionUrlEvent({ body });
      event.headers = headers;
      const policy = await pinnedTo(event);
      expect(policy).toContain('"203.0.113.7"');
      expect(policy).not.toContain("6.6.6.6");
    }
  });
});

describe("nothing a stranger sends is parsed before the token is verified", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it("answers 401, not 400, to a bad token with a malformed scope", async () => {
    const response = await h.handler(functionUrlEvent({ method: "GET", headers: bearer("x.y.z"), query: { scope: "[".repeat(1000) } }), context());
    expect(response.statusCode).toBe(401);
  });

  it("caps the query string like the body", async () => {
    const scope = JSON.stringify(Array.from({ length: 400 }, (_, i) => ({ action: "name/cos:PutObject", prefix: `users/alice/${i}.png` })));
    const response = await h.handler(functionUrlEvent({ method: "GET", headers: bearer(await hsToken({ sub: "alice" })), query: { scope } }), context());
    expect(response.statusCode).toBe(413);
    expect(parse(response).error.code).toBe("PayloadTooLarge");
    expect(h.emulator.stsCallCount()).toBe(0);
  });
});

describe("identities that only look different", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { PREFIX_TEMPLATE: "users/{sub_hash}/" } });
  });
  afterAll(() => h.close());
  afterEach(() => h.emulator.reset());

  it("refuses control characters in iss and sub, so iss NUL sub names one identity only", async () => {
    for (const claims of [
      { iss: "a\u0000b", sub: "c" },
      { iss: "a", sub: "b\u0000c" },
      { iss: "a", sub: "b\nc" },
      { iss: "a\u007f", sub: "c" },
    ]) {
      const response = await h.handler(functionUrlEvent({ headers: bearer(await hsToken(claims)) }), context());
      expect(response.statusCode, JSON.stringify(claims)).toBe(401);
    }
    expect(h.emulator.stsCallCount()).toBe(0);
  });

  it("caps the client-chosen fields of the log line", async () => {
    const before = h.logLines.length;
    const event = functionUrlEvent({ method: "P".repeat(5000), sourceIp: "1".repeat(5000) });
    await h.handler(event, context());
    const line = JSON.parse(h.logLines[before]!) as { method: string; sourceIp: string };
    expect(line.method.length).toBeLessThanOrEqual(64);
    expect(line.sourceIp.length).toBeLessThanOrEqual(64);
  });

  it("keys the rate limit on the identity the prefix is built from: two spellings of one issuer share one bucket", async () => {
    const spelled = await startHarness({
      env: { JWT_ISSUER: "https://accounts.google.com,accounts.google.com", RATE_LIMIT_BURST: "1", RATE_LIMIT_PER_MINUTE: "1" },
    });
    try {
      const ask = async (iss: string) =>
        (await spelled.handler(functionUrlEvent({ headers: bearer(await hsToken({ iss, sub: "110169484474386276334" })) }), context())).statusCode;
      expect(await ask("https://accounts.google.com")).toBe(200);
      expect(await ask("accounts.google.com")).toBe(429);
    } finally {
      await spelled.close();
    }
  });
});
