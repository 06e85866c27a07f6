import { describe, expect, it } from "vitest";
import { describeError, failed, passed, runSteps, type Step, skipped } from "../../../lib/check/steps.ts";
import { BrokerError } from "../../../lib/shared/errors.ts";

const step = (name: string, run: Step["run"], needs?: string[]): Step => ({ name, run, needs });
const far = () => Date.now() + 10_000;

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
      { deadline: far(), stepTimeoutMs: 1000 },
    );
    expect(order).toEqual(["a", "b"]);
    expect(results).toEqual([
      { name: "a", status: "pass", detail: "fine", durationMs: expect.any(Number) },
      { name: "b", status: "skipped", detail: "not configured", durationMs: expect.any(Number) },
    ]);
  });

  it("fails a hung step at its timeout, aborts it, and goes on", async () => {
    let aborted = false;
    const hung = step("hung", (context) => {
      context.signal.addEventListener("abort", () => (aborted = true));
      return new Promise(() => undefined);
    });
    const results = await runSteps([hung, step("next", async () => passed("ran"))], { deadline: far(), stepTimeoutMs: 100 });
    expect(results[0]).toMatchObject({ status: "fail", detail: "did not finish within 100 ms" });
    expect(aborted).toBe(true);
    expect(results[1]).toMatchObject({ status: "pass" });
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
      { deadline: far(), stepTimeoutMs: 1000 },
    );
    expect(ran).toBe(false);
    expect(results.map((result) => result.status)).toEqual(["fail", "not-run", "pass"]);
    expect(results[1]?.detail).toBe("needs 'a', which did not pass");
  });

  it("reports steps as not run once the budget is spent, and bounds a step by what is left", async () => {
    const deadline = Date.now() + 150;
    const results = await runSteps([step("slow", () => new Promise(() => undefined)), step("late", async () => passed(""))], {
      deadline,
      stepTimeoutMs: 10_000,
    });
    expect(results[0]?.status).toBe("fail");
    expect(results[0]?.detail).toMatch(/did not finish within 1\d\d ms/);
    expect(results[1]).toMatchObject({ status: "not-run", detail: "the time budget ran out before it could start" });
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
      { deadline: far(), stepTimeoutMs: 1000 },
    );
    expect(results[0]?.detail).toBe("UpstreamTimeout: STS did not answer within 500 ms (code=X)");
    expect(results[1]?.detail).toBe("failed unexpectedly (TypeError)");
    expect(describeError("x")).toBe("failed unexpectedly (string)");
  });
});
