/**
 * lib/identity/key-sources: JWKS and OIDC discovery through an identity-provider outage, key
 * rotation and a storm of unknown kids, counted on a loopback key server. jose stamps and ages
 * its key cache with Date.now, which no clock parameter reaches, so these tests fake Date
 * alone (vitest) and move it; timers stay real, for the sockets.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { KeyTiming } from "../../../lib/identity/key-sources.ts";
import type { JwtConfig, KeySetSource } from "../../../lib/identity/settings.ts";
import { createTokenVerifier, type TokenVerifier } from "../../../lib/identity/verify.ts";
import { outcomeOf } from "../../support/outcome.ts";
import { type KeyPairInfo, type KeyServer, rsaKey, signWith, startKeyServer } from "../../support/tokens.ts";

let k1: KeyPairInfo;
let k2: KeyPairInfo;
let server: KeyServer | undefined;
beforeAll(async () => {
  [k1, k2] = await Promise.all([rsaKey("k1"), rsaKey("k2", "ES256")]);
});
beforeEach(() => vi.useFakeTimers({ toFake: ["Date"] }));
afterEach(() => {
  vi.useRealTimers();
  return server?.close();
});
const config = (keySet: KeySetSource): JwtConfig => ({
  issuers: keySet.source === "discovery" ? [keySet.issuer] : undefined,
  audience: undefined,
  requiredClaims: new Map(),
  maxLifetimeSeconds: 86_400,
  clockToleranceSeconds: 30,
  secret: undefined,
  keySet,
});
/** Time passes, without waiting for it. */
const pass = (ms: number) => vi.advanceTimersByTime(ms);

async function jwksVerifier(timing: Partial<KeyTiming>, keys = [k1.publicJwk]): Promise<{ server: KeyServer; verify: TokenVerifier }> {
  server = await startKeyServer(keys);
  const keyTiming = { maxAgeMs: 60_000, cooldownMs: 60_000, maxStaleMs: 60_000, noKeysRetryMs: 60_000, ...timing };
  return { server, verify: createTokenVerifier(config({ source: "jwks", url: new URL(server.jwksUrl) }), { keyTiming }) };
}

describe("an identity-provider outage", () => {
  it("keeps verifying with the last good keys, trying the source once per cooldown", async () => {
    const { server, verify } = await jwksVerifier({ maxAgeMs: 200, cooldownMs: 60_000 });
    expect(await outcomeOf(verify(await signWith(k1)))).toBe("ok");
    server.down = true;
    pass(250); // the cached set is now stale: jose would refetch, and fail
    for (let i = 0; i < 20; i += 1) expect(await outcomeOf(verify(await signWith(k1, { sub: `u${i}` })))).toBe("ok");
    expect(server.fetches).toBe(2);
  });

  it("fails closed with UpstreamError when it never had a key, without hammering the source", async () => {
    const { server, verify } = await jwksVerifier({});
    server.down = true;
    for (let i = 0; i < 10; i += 1) expect(await outcomeOf(verify(await signWith(k1)))).toBe("UpstreamError");
    expect(server.fetches).toBe(1);
  });

  it("recovers from a failure at cold start after the short no-keys retry, not the full cooldown", async () => {
    const { server, verify } = await jwksVerifier({ noKeysRetryMs: 300 });
    server.down = true;
    expect(await outcomeOf(verify(await signWith(k1)))).toBe("UpstreamError");
    server.down = false;
    expect(await outcomeOf(verify(await signWith(k1)))).toBe("UpstreamError");
    pass(350);
    expect(await outcomeOf(verify(await signWith(k1)))).toBe("ok");
    expect(server.fetches).toBe(2);
  });

  it("refuses a kid it has never seen while the source is down (UpstreamError, never a pass), and picks it up on recovery", async () => {
    const { server, verify } = await jwksVerifier({ maxAgeMs: 100, cooldownMs: 800 });
    expect(await outcomeOf(verify(await signWith(k1)))).toBe("ok");
    server.down = true;
    pass(150);
    expect(await outcomeOf(verify(await signWith(k1)))).toBe("ok");
    expect(await outcomeOf(verify(await signWith(k2)))).toBe("UpstreamError");
    server.down = false;
    server.keys = [k1.publicJwk, k2.publicJwk];
    pass(900);
    expect(await outcomeOf(verify(await signWith(k2)))).toBe("ok");
  });

  it("stops trusting the last good keys after maxStaleMs", async () => {
    const { server, verify } = await jwksVerifier({ maxAgeMs: 50, cooldownMs: 50, maxStaleMs: 400 });
    expect(await outcomeOf(verify(await signWith(k1)))).toBe("ok");
    server.down = true;
    pass(100);
    expect(await outcomeOf(verify(await signWith(k1)))).toBe("ok");
    pass(400);
    expect(await outcomeOf(verify(await signWith(k1)))).toBe("UpstreamError");
  });

  it("treats a garbage answer like an outage", async () => {
    server = await startKeyServer([k1.publicJwk]);
    let garbage = false;
    const fetchImpl = async (input: string | URL, init?: RequestInit) =>
      garbage ? new Response("<html>maintenance</html>", { status: 200 }) : fetch(input, init);
    const verify = createTokenVerifier(config({ source: "jwks", url: new URL(server.jwksUrl) }), {
      fetch: fetchImpl,
      keyTiming: { maxAgeMs: 50, cooldownMs: 60_000, maxStaleMs: 60_000, noKeysRetryMs: 60_000 },
    });
    expect(await outcomeOf(verify(await signWith(k1)))).toBe("ok");
    garbage = true;
    pass(100);
    expect(await outcomeOf(verify(await signWith(k1)))).toBe("ok");
    expect(await outcomeOf(verify(await signWith(k2)))).toBe("UpstreamError");
  });
});

describe("key rotation and unknown kids", () => {
  it("picks up a rotated key, at most one refetch per cooldown", async () => {
    const { server, verify } = await jwksVerifier({ cooldownMs: 800 });
    expect(await outcomeOf(verify(await signWith(k1)))).toBe("ok");
    server.keys = [k2.publicJwk]; // the provider rotates
    // Within the cooldown of the last fetch, an unknown kid is refused without a refetch.
    expect(await outcomeOf(verify(await signWith(k2)))).toBe("InvalidToken");
    expect(server.fetches).toBe(1);
    pass(900);
    expect(await outcomeOf(verify(await signWith(k2)))).toBe("ok");
    expect(server.fetches).toBe(2);
  });

  it("answers a storm of unknown kids with InvalidToken and at most one refetch per cooldown", async () => {
    const cooldownMs = 500;
    const { server, verify } = await jwksVerifier({ cooldownMs });
    expect(await outcomeOf(verify(await signWith(k1)))).toBe("ok");
    pass(cooldownMs + 100);
    const strangers = await Promise.all(Array.from({ length: 20 }, (_, i) => rsaKey(`made-up-${i}`, "ES256")));
    const tokens = await Promise.all(strangers.flatMap((stranger) => [signWith(stranger), signWith(stranger, { sub: "x" })]));
    const before = server.fetches;
    const concurrent = await Promise.all(tokens.map((token) => outcomeOf(verify(token))));
    const sequential: string[] = [];
    for (const token of tokens) sequential.push(await outcomeOf(verify(token)));
    expect(new Set([...concurrent, ...sequential])).toEqual(new Set(["InvalidToken"]));
    expect(server.fetches - before).toBe(1);
    pass(cooldownMs + 100);
    expect(await outcomeOf(verify(tokens[0]!))).toBe("InvalidToken");
    expect(server.fetches - before).toBe(2);
    expect(await outcomeOf(verify(await signWith(k1)))).toBe("ok");
  });
});

describe("OIDC discovery", () => {
  it("discovers once and keeps working on the last good keys through an outage", async () => {
    server = await startKeyServer([k1.publicJwk]);
    const verify = createTokenVerifier(config({ source: "discovery", issuer: server.url }), {
      keyTiming: { maxAgeMs: 100, cooldownMs: 60_000, maxStaleMs: 60_000, noKeysRetryMs: 60_000 },
    });
    const token = () => signWith(k1, { sub: "alice", iss: server!.url });
    expect(await outcomeOf(verify(await token()))).toBe("ok");
    server.down = true;
    pass(150);
    for (let i = 0; i < 5; i += 1) expect(await outcomeOf(verify(await token()))).toBe("ok");
    expect(server.discoveryFetches).toBe(1);
    expect(server.fetches).toBe(2);
  });
});
