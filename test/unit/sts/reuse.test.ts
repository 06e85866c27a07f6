/** lib/cache: credential reuse, unit (fake sts, fake clock) and end to end (STS call counts on the emulator). */
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CredentialRequest, StsClient } from "../../../lib/sts/client.ts";
import { cacheCredentials } from "../../../lib/sts/reuse.ts";
import { fakeClock } from "../../support/clock.ts";
import { bearer, context, functionUrlEvent, type Harness, parse, startHarness } from "../../support/harness.ts";
import { hsToken } from "../../support/tokens.ts";

const NOW = Date.UTC(2026, 0, 1);

function fakeStsClient(lifetimeSeconds = 900) {
  const clock = fakeClock(NOW);
  const calls: CredentialRequest[] = [];
  const inner: StsClient = {
    async requestCredentials(request) {
      calls.push(request);
      const n = calls.length;
      return {
        tmpSecretId: `id-${n}`,
        tmpSecretKey: `key-${n}`,
        sessionToken: `token-${n}`,
        expiredTime: clock.now() / 1000 + lifetimeSeconds,
        expiration: "",
        requestId: `req-${n}`,
      };
    },
  };
  return { clock, calls, inner };
}

const request = (over: Partial<CredentialRequest> = {}): CredentialRequest => ({
  subjectHash: "alice-hash",
  encodedPolicy: "policy-a",
  durationSeconds: 900,
  ...over,
});

describe("cacheCredentials", () => {
  it("hands the same credential out again for the same subject, policy and duration", async () => {
    const { clock, calls, inner } = fakeStsClient();
    const sts = cacheCredentials(inner, { maxEntries: 10, minRemainingSeconds: 600 }, clock);
    const first = await sts.requestCredentials(request());
    clock.advance(200_000);
    const second = await sts.requestCredentials(request());
    expect(calls).toHaveLength(1);
    expect(first.cached).toBe(false);
    expect(second).toEqual({ ...first, cached: true });
  });

  it.each<[string, Partial<CredentialRequest>]>([
    ["another subject", { subjectHash: "bob-hash" }],
    ["another policy (prefix, key, scope or conditions)", { encodedPolicy: "policy-b" }],
    ["another duration", { durationSeconds: 1800 }],
  ])("never shares a credential with %s", async (_why, over) => {
    const { calls, inner } = fakeStsClient();
    const sts = cacheCredentials(inner, { maxEntries: 10, minRemainingSeconds: 600 }, fakeClock(NOW));
    const first = await sts.requestCredentials(request());
    const other = await sts.requestCredentials(request(over));
    expect(calls).toHaveLength(2);
    expect(other.tmpSecretId).not.toBe(first.tmpSecretId);
  });

  it("stops reusing once less than the configured lifetime remains", async () => {
    const { clock, calls, inner } = fakeStsClient(900);
    const sts = cacheCredentials(inner, { maxEntries: 10, minRemainingSeconds: 600 }, clock);
    await sts.requestCredentials(request());
    clock.advance(300_000); // exactly 600 s left: still fine
    expect((await sts.requestCredentials(request())).cached).toBe(true);
    clock.advance(1000);
    const fresh = await sts.requestCredentials(request());
    expect(fresh).toMatchObject({ cached: false, tmpSecretId: "id-2" });
    expect(calls).toHaveLength(2);
  });

  it("never hands out a credential with under two minutes left, whatever it is told", async () => {
    const { clock, calls, inner } = fakeStsClient(900);
    const sts = cacheCredentials(inner, { maxEntries: 10, minRemainingSeconds: 10 }, clock);
    await sts.requestCredentials(request());
    clock.advance(780_000); // 120 s left
    expect((await sts.requestCredentials(request())).cached).toBe(true);
    clock.advance(1000);
    expect((await sts.requestCredentials(request())).cached).toBe(false);
    expect(calls).toHaveLength(2);
  });

  it("by default reuses while two thirds of each credential's own lifetime remain, never under 120 s", async () => {
    for (const [duration, reusableFor] of [
      [900, 300],
      [3600, 1200],
      [150, 30],
    ] as const) {
      const { clock, calls, inner } = fakeStsClient(duration);
      const sts = cacheCredentials(inner, { maxEntries: 10, minRemainingSeconds: undefined }, clock);
      await sts.requestCredentials(request({ durationSeconds: duration }));
      clock.advance(reusableFor * 1000);
      expect((await sts.requestCredentials(request({ durationSeconds: duration }))).cached).toBe(true);
      clock.advance(1000);
      expect((await sts.requestCredentials(request({ durationSeconds: duration }))).cached).toBe(false);
      expect(calls).toHaveLength(2);
    }
  });

  it("does not keep a credential that is already too short to reuse", async () => {
    const { calls, inner } = fakeStsClient(300);
    const sts = cacheCredentials(inner, { maxEntries: 10, minRemainingSeconds: 600 }, fakeClock(NOW));
    await sts.requestCredentials(request());
    await sts.requestCredentials(request());
    expect(calls).toHaveLength(2);
  });

  it("evicts the least recently used entry past maxEntries", async () => {
    const { calls, inner } = fakeStsClient();
    const sts = cacheCredentials(inner, { maxEntries: 2, minRemainingSeconds: 600 }, fakeClock(NOW));
    const ask = async (subjectHash: string) => (await sts.requestCredentials(request({ subjectHash }))).cached;
    expect([await ask("a"), await ask("b"), await ask("a"), await ask("c")]).toEqual([false, false, true, false]);
    // "b" was the least recently used when "c" arrived; "a" and "c" stay.
    expect([await ask("a"), await ask("c"), await ask("b")]).toEqual([true, true, false]);
    expect(calls.map((call) => call.subjectHash)).toEqual(["a", "b", "c", "b"]);
  });

  it("caches nothing when a call fails, and nothing at all with maxEntries 0", async () => {
    const { calls, inner } = fakeStsClient();
    let fail = true;
    const flaky: StsClient = {
      requestCredentials: (r) => (fail ? Promise.reject(new Error("down")) : inner.requestCredentials(r)),
    };
    const sts = cacheCredentials(flaky, { maxEntries: 10, minRemainingSeconds: 600 }, fakeClock(NOW));
    await expect(sts.requestCredentials(request())).rejects.toThrow("down");
    fail = false;
    expect((await sts.requestCredentials(request())).cached).toBe(false);
    expect(cacheCredentials(inner, { maxEntries: 0, minRemainingSeconds: 600 })).toBe(inner);
    expect(calls).toHaveLength(1);
  });

  it("holds at most maxEntries credentials, whatever the traffic", async () => {
    const { inner } = fakeStsClient();
    const sts = cacheCredentials(inner, { maxEntries: 5, minRemainingSeconds: 600 }, fakeClock(NOW));
    for (let i = 0; i < 50; i += 1) await sts.requestCredentials(request({ subjectHash: `s${i}` }));
    // The last five are reused, the sixth-last was evicted.
    for (let i = 45; i < 50; i += 1) expect((await sts.requestCredentials(request({ subjectHash: `s${i}` }))).cached).toBe(true);
    expect((await sts.requestCredentials(request({ subjectHash: "s44" }))).cached).toBe(false);
  });
});

describe("credential reuse end to end", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { RATE_LIMIT_BURST: "1000" } });
  });
  afterAll(() => h.close());
  afterEach(() => h.emulator.reset());

  const ask = async (sub: string, body?: Record<string, unknown>) =>
    h.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub })), body: body && JSON.stringify(body) }), context());

  it("drops the STS call count, keeps startTime the broker's own clock, and logs each hit", async () => {
    const start = h.logLines.length;
    const responses: Record<string, any>[] = [];
    for (let i = 0; i < 10; i += 1) responses.push(parse(await ask("erin")));
    expect(h.emulator.stsCallCount()).toBe(1);
    expect(new Set(responses.map((body) => body.credentials.sessionToken)).size).toBe(1);
    expect(new Set(responses.map((body) => body.expiredTime)).size).toBe(1);
    for (const body of responses) expect(body.startTime).toBeGreaterThanOrEqual(responses[0]!.startTime);
    const lines = h.logLines.slice(start).map((line) => JSON.parse(line));
    expect(lines.map((line) => line.cached)).toEqual([false, ...Array(9).fill(true)]);
    expect(lines.every((line) => line.stsRequestId === responses[0]!.requestId)).toBe(true);
  });

  it("property: two responses share a credential only for the same subject and the same grant", async () => {
    const grants = [undefined, { key: "a.txt" }, { key: "b.txt" }, { profile: "upload" }];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom("u1", "u2", "u3"), fc.nat(grants.length - 1)), { minLength: 2, maxLength: 12 }), async (asks) => {
        const seen = new Map<string, string>();
        for (const [sub, grant] of asks) {
          const body = parse(await ask(sub, grants[grant]));
          const policy = JSON.stringify(h.emulator.issued.get(body.credentials.tmpSecretId)!.policy);
          const owner = `${sub} ${policy}`;
          // One credential, one (subject, policy) pair: never handed to anyone else.
          expect(seen.get(body.credentials.tmpSecretId) ?? owner).toBe(owner);
          seen.set(body.credentials.tmpSecretId, owner);
          expect(body.prefix).toBe(`users/${sub}/`);
        }
      }),
      { numRuns: 25 },
    );
  });
});
