/** Clocks for tests (lib/shared/clock.ts): time that moves when the test says, not while it waits. */
import { type Alarm, type Clock, type EpochMs, type MonotonicMs, systemClock } from "../../lib/shared/clock.ts";

export interface FakeClock extends Clock {
  /**
   * Moves time on, aborting every alarm that falls due. A negative step sets only the wall
   * clock back, as setting the system clock does: monotonic time never goes back.
   */
  advance(ms: number): void;
  /** Every sleep the code asked for, in order. */
  readonly slept: readonly number[];
}

/** A fixed day, so no test depends on when it runs. */
const FAKE_EPOCH: EpochMs = Date.UTC(2026, 0, 1);

/** Stands still until the code sleeps (time jumps by the sleep at once) or the test advances it. */
export function fakeClock(start: EpochMs = FAKE_EPOCH): FakeClock {
  let elapsed = 0;
  let setBack = 0;
  const slept: number[] = [];
  const alarms = alarmSet(() => elapsed);
  const advance = (ms: number) => {
    if (ms < 0) setBack += ms;
    else elapsed += ms;
    alarms.fireDue();
  };
  return {
    now: () => start + elapsed + setBack,
    monotonic: () => elapsed as MonotonicMs,
    sleep: async (ms) => {
      slept.push(ms);
      advance(ms);
    },
    alarm: alarms.add,
    advance,
    slept,
  };
}

/**
 * Real time, except that a sleep jumps ahead instead of waiting: a retry's backoff costs
 * nothing, while a hung server still takes its real time. For tests through real sockets.
 */
export function skippingClock(): Clock {
  let skipped = 0;
  const monotonic = () => (systemClock.monotonic() + skipped) as MonotonicMs;
  const alarms = alarmSet(monotonic);
  return {
    now: () => systemClock.now() + skipped,
    monotonic,
    sleep: async (ms) => {
      skipped += ms;
      alarms.fireDue();
    },
    alarm: (ms) => {
      const fake = alarms.add(ms);
      const real = systemClock.alarm(ms);
      real.signal.addEventListener("abort", fake.cancel);
      return {
        signal: AbortSignal.any([fake.signal, real.signal]),
        cancel: () => {
          fake.cancel();
          real.cancel();
        },
      };
    },
  };
}

/** Alarms that abort once `elapsed()` reaches their time. */
function alarmSet(elapsed: () => number): { add(ms: number): Alarm; fireDue(): void } {
  const pending = new Set<{ at: number; controller: AbortController }>();
  return {
    add(ms) {
      const entry = { at: elapsed() + ms, controller: new AbortController() };
      pending.add(entry);
      return { signal: entry.controller.signal, cancel: () => pending.delete(entry) };
    },
    fireDue() {
      for (const entry of pending) {
        if (entry.at > elapsed()) continue;
        pending.delete(entry);
        entry.controller.abort();
      }
    },
  };
}
