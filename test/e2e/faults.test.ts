/**
 * Upstream faults end to end that depend on the SCF invocation (its time left) or on the key
 * source (a JWKS that is down): SCF event -> main handler -> a failing loopback STS or JWKS. STS
 * faults as every adapter meets them are in test/e2e/contract.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { bearer, context, functionUrlEvent, type Harness, parse, startHarness } from "../support/harness.ts";
import { hsToken, type KeyServer, rsaKey, signWith, startKeyServer } from "../support/tokens.ts";

describe("STS faults within the invocation's time", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { STS_TIMEOUT_MS: "400", CREDENTIAL_CACHE_MAX_ENTRIES: "0", RATE_LIMIT_BURST: "1000" } });
  });
  afterAll(() => h.close());
  afterEach(() => h.emulator.reset());

  const post = async (remainingMs = 10_000) => h.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub: "alice" })) }), context(remainingMs));

  it("never runs past the invocation's time: a hung STS gets 504 with time to spare", async () => {
    h.emulator.inject({ kind: "hang" });
    const started = Date.now();
    const response = await post(1200);
    expect(response.statusCode).toBe(504);
    expect(parse(response).error.code).toBe("UpstreamTimeout");
    // 1200 ms left minus the 500 ms answer margin: one 400 ms attempt, then too little for another.
    expect(Date.now() - started).toBeLessThan(1200);
    expect(h.emulator.calls.length).toBeGreaterThanOrEqual(1);
  });
});

describe("JWKS faults", () => {
  let keys: KeyServer;
  let h: Harness;
  let token: string;
  beforeAll(async () => {
    const key = await rsaKey("k1");
    keys = await startKeyServer([key.publicJwk]);
    keys.down = true;
    h = await startHarness({ env: { JWT_SECRET: "", JWT_JWKS_URL: keys.jwksUrl } });
    token = await signWith(key);
  });
  afterAll(async () => {
    await h.close();
    await keys.close();
  });

  it("fails closed with 502 UpstreamError when the identity provider is down at cold start, and issues nothing", async () => {
    for (let i = 0; i < 3; i += 1) {
      const response = await h.handler(functionUrlEvent({ headers: bearer(token) }), context());
      expect(response.statusCode).toBe(502);
      expect(parse(response).error.code).toBe("UpstreamError");
    }
    expect(h.emulator.calls).toHaveLength(0);
    // One fetch, then the failure cooldown: a down IdP is not hammered by every request.
    expect(keys.fetches).toBe(1);
  });
});
