import { describe, expect, it } from "vitest";
import { describeError, failed, passed, runSteps, type Step, skipped } from "../../../lib/check/steps.ts";
import { after } from "../../../lib/shared/clock.ts";
import { BrokerError } from "../../../lib/shared/errors.ts";
import { fakeClock } from "../../support/clock.ts";

const step = (name: string, run: Step["run"], needs?: string[]): Step => ({ name, run, needs });
/** On a clock that moves only when a step sleeps, with the deadline 10 s off. */
const limits = (stepTimeoutMs: number, clock = fakeClock()) => ({ deadline: after(clock.monotonic(), 10_000), stepTimeoutMs, clock });

describe("runSteps", () => {
  it("runs steps in order and reports each with its duration", async () => {
    const order: string[] = [];
    const results = await runSteps(
      [
        step("a", async () => {
          order.push("a");
          return passed("fine");
        }),
        step("b", async () => {
          order.push("b");
          return skipped("not configured");
        }),
      ],
      limits(1000),
    );
    expect(order).toEqual(["a", "b"]);
    expect(results).toEqual([
      { name: "a", status: "pass", detail: "fine", durationMs: 0 },
      { name: "b", status: "skipped", detail: "not configured", durationMs: 0 },
    ]);
  });

  it("fails a hung step at its timeout, aborts it, and goes on", async () => {
    const clock = fakeClock();
    let aborted = false;
    const hung = step("hung", (context) => {
      context.signal.addEventListener("abort", () => (aborted = true));
      clock.advance(100); // time passes while it hangs
      return new Promise(() => undefined);
    });
    const results = await runSteps([hung, step("next", async () => passed("ran"))], limits(100, clock));
    expect(results[0]).toMatchObject({ status: "fail", detail: "did not finish within 100 ms" });
    expect(aborted).toBe(true);
    expect(results[1]).toMatchObject({ status: "pass" });
  });

  it("times each step and tells it how much of its time is left", async () => {
    const clock = fakeClock();
    const left: number[] = [];
    const slow = step("slow", async (context) => {
      left.push(context.timeLeftMs());
      await clock.sleep(300);
      left.push(context.timeLeftMs());
      return passed("");
    });
    const results = await runSteps([slow], limits(1000, clock));
    expect(left).toEqual([1000, 700]);
    expect(results[0]).toMatchObject({ status: "pass", durationMs: 300 });
  });

  it("does not run a step whose prerequisite did not pass", async () => {
    let ran = false;
    const results = await runSteps(
      [
        step("a", async () => failed("broken")),
        step("b", async () => {
          ran = true;
          return passed("");
        }, ["a"]),
        step("c", async () => passed("independent")),
      ],
      limits(1000),
    );
    expect(ran).toBe(false);
    expect(results.map((result) => result.status)).toEqual(["fail", "not-run", "pass"]);
    expect(results[1]?.detail).toBe("needs 'a', which did not pass");
  });

  it("reports steps as not run once the budget is spent, and bounds a step by what is left", async () => {
    const clock = fakeClock();
    const early = step("early", async () => {
      await clock.sleep(9850);
      return passed("");
    });
    const slow = step("slow", async () => {
      await clock.sleep(60_000);
      return passed("too late");
    });
    const results = await runSteps([early, slow, step("late", async () => passed(""))], limits(10_000, clock));
    expect(results[1]).toMatchObject({ status: "fail", detail: "did not finish within 150 ms" });
    expect(results[2]).toMatchObject({ status: "not-run", detail: "the time budget ran out before it could start" });
  });

  it("turns a thrown error into a failure, naming only what is safe", async () => {
    const results = await runSteps(
      [
        step("broker", async () => {
          throw new BrokerError("UpstreamTimeout", "STS did not answer within 500 ms", { detail: "code=X" });
        }),
        step("other", async () => {
          throw new TypeError("secret-looking text");
        }),
      ],
      limits(1000),
    );
    expect(results[0]?.detail).toBe("UpstreamTimeout: STS did not answer within 500 ms (code=X)");
    expect(results[1]?.detail).toBe("failed unexpectedly (TypeError)");
    expect(describeError("x")).toBe("failed unexpectedly (string)");
  });
});
