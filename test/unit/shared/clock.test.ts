/** lib/shared/clock: the system clock's timers (real, and short), and the two kinds of time kept apart by type. */
import { describe, expect, it } from "vitest";
import { after, type MonotonicMs, systemClock } from "../../../lib/shared/clock.ts";

describe("systemClock", () => {
  it("aborts an alarm's signal once its time is up, and never a cancelled one", async () => {
    const due = systemClock.alarm(10);
    const cancelled = systemClock.alarm(10);
    cancelled.cancel();
    await systemClock.sleep(50);
    expect(due.signal.aborted).toBe(true);
    expect(cancelled.signal.aborted).toBe(false);
  });

  it("makes deadlines from monotonic readings, which an epoch time cannot stand in for", () => {
    const start = systemClock.monotonic();
    expect(after(start, 250) - start).toBeCloseTo(250, 6);
    // @ts-expect-error: wall-clock time is not a monotonic reading (tsc checks this line)
    const wrong: MonotonicMs = systemClock.now();
    expect(typeof wrong).toBe("number");
  });
});
