/** The retry loop STS and WeChat login share: attempts, deadlines and jittered waits on a fake clock. */
import { describe, expect, it } from "vitest";
import { BrokerError } from "../../../lib/shared/errors.ts";
import { type Attempt, retryWithin } from "../../../lib/shared/retry.ts";
import { fakeClock } from "../../support/clock.ts";

const failure = (transient: boolean): Attempt<string> => ({ error: new BrokerError("UpstreamError", "it failed", { detail: "code=X" }), transient });
const policy = (overrides: { budgetMs?: number; maxAttempts?: number } = {}) => ({
  maxAttempts: 3,
  attemptMs: 1000,
  clock: fakeClock(),
  random: () => 0.5,
  tooLate: () => new BrokerError("UpstreamTimeout", "too late"),
  ...overrides,
});

describe("retryWithin", () => {
  it("tries transient failures again after a jittered, growing wait, and names the attempts", async () => {
    const given = policy();
    const limits: number[] = [];
    const failing = async (limitMs: number) => {
      limits.push(limitMs);
      return failure(true);
    };
    const error = await retryWithin(given, failing).catch((caught: BrokerError) => caught);
    expect(limits).toEqual([1000, 1000, 1000]);
    expect(given.clock.slept).toEqual([50, 100]);
    expect(error).toMatchObject({ code: "UpstreamError", detail: "code=X attempts=3" });
  });

  it("stops at once on a failure that would only repeat, and returns the first success", async () => {
    let calls = 0;
    const once = async () => {
      calls += 1;
      return failure(false);
    };
    await expect(retryWithin(policy(), once)).rejects.toMatchObject({ detail: "code=X" });
    expect(calls).toBe(1);
    expect(await retryWithin(policy(), async (_, number) => (number < 2 ? failure(true) : { value: "ok" }))).toBe("ok");
  });

  it("fits every attempt into the budget, and starts none that cannot finish", async () => {
    const limits: number[] = [];
    const given = policy({ budgetMs: 1500 });
    // Each attempt times out: it takes all the time it was given.
    const timingOut = async (limitMs: number) => {
      limits.push(limitMs);
      given.clock.advance(limitMs);
      return failure(true);
    };
    await expect(retryWithin(given, timingOut)).rejects.toMatchObject({ code: "UpstreamError" });
    expect(limits).toEqual([1000, 450]);
    await expect(retryWithin(policy({ budgetMs: 50 }), async () => ({ value: "never" }))).rejects.toMatchObject({ code: "UpstreamTimeout" });
  });
});
