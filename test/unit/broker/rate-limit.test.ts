/** lib/limit: the per-subject token bucket, unit (fake clock) and end to end (429 with Retry-After, before STS). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRateLimiter } from "../../../lib/broker/rate-limit.ts";
import { subjectHash } from "../../../lib/grant/prefix.ts";
import { BrokerError } from "../../../lib/shared/errors.ts";
import { fakeClock } from "../../support/clock.ts";
import { bearer, context, functionUrlEvent, type Harness, parse, startHarness } from "../../support/harness.ts";
import { hsToken } from "../../support/tokens.ts";

function taker(perMinute: number, burst: number, maxKeys?: number) {
  const clock = fakeClock(0);
  const check = createRateLimiter({ perMinute, burst }, clock, maxKeys);
  const take = (key = "k") => {
    try {
      check(key);
      return "ok";
    } catch (error) {
      return error instanceof BrokerError ? `${error.code} ${error.retryAfter}` : "unexpected";
    }
  };
  return { clock, take };
}

describe("createRateLimiter", () => {
  it("allows a burst, then refuses with the seconds until the next token", () => {
    const { take } = taker(60, 3);
    expect([take(), take(), take(), take()]).toEqual(["ok", "ok", "ok", "TooManyRequests 1"]);
  });

  it("refills at the configured rate, never above the burst", () => {
    const { clock, take } = taker(6, 2); // one token every 10 s
    expect([take(), take(), take()]).toEqual(["ok", "ok", "TooManyRequests 10"]);
    clock.advance(4000);
    expect(take()).toBe("TooManyRequests 6");
    clock.advance(6000);
    expect([take(), take()]).toEqual(["ok", "TooManyRequests 10"]);
    clock.advance(3_600_000);
    expect([take(), take(), take()]).toEqual(["ok", "ok", "TooManyRequests 10"]);
  });

  it("keeps subjects apart", () => {
    const { take } = taker(60, 1);
    expect([take("a"), take("a"), take("b")]).toEqual(["ok", "TooManyRequests 1", "ok"]);
  });

  it("holds at most maxKeys buckets, forgetting the least recently seen", () => {
    const { take } = taker(1, 1, 3);
    expect([take("a"), take("a")]).toEqual(["ok", "TooManyRequests 60"]);
    take("b");
    take("c");
    expect(take("b")).toBe("TooManyRequests 60"); // "b" touched: "a" is now the oldest
    take("d"); // a fourth bucket: "a" goes
    expect([take("b"), take("a")]).toEqual(["TooManyRequests 60", "ok"]);
  });

  it("survives a clock that steps back", () => {
    const { clock, take } = taker(60, 1);
    clock.advance(10_000);
    take();
    clock.advance(-10_000);
    expect(take()).toBe("TooManyRequests 1");
  });
});

describe("rate limit end to end", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { RATE_LIMIT_PER_MINUTE: "1", RATE_LIMIT_BURST: "2", CREDENTIAL_CACHE_MAX_ENTRIES: "0" } });
  });
  afterAll(() => h.close());

  it("answers 429 TooManyRequests with Retry-After once a subject's bucket is empty, before STS", async () => {
    const token = await hsToken({ sub: "flood" });
    const send = () => h.handler(functionUrlEvent({ headers: bearer(token) }), context());
    expect([(await send()).statusCode, (await send()).statusCode]).toEqual([200, 200]);
    const calls = h.emulator.stsCallCount();
    const start = h.logLines.length;
    const refused = await send();
    expect(refused.statusCode).toBe(429);
    expect(refused.headers["Retry-After"]).toBe("60");
    expect(parse(refused).error.code).toBe("TooManyRequests");
    expect(h.emulator.stsCallCount()).toBe(calls);
    expect(JSON.parse(h.logLines[start]!)).toMatchObject({ outcome: "refused", status: 429, code: "TooManyRequests", subject: subjectHash({ sub: "flood" }) });

    expect((await h.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub: "calm" })) }), context())).statusCode).toBe(200);
  });

  it("counts only verified subjects: a flood of bad tokens empties nobody's bucket", async () => {
    for (let i = 0; i < 5; i += 1) {
      const forged = await hsToken({ sub: "victim" }, { secret: "an-attacker-secret-that-is-long-enough-000" });
      expect((await h.handler(functionUrlEvent({ headers: bearer(forged) }), context())).statusCode).toBe(401);
    }
    expect((await h.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub: "victim" })) }), context())).statusCode).toBe(200);
  });
});
