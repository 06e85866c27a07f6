/**
 * Time, handed to the code that reads it, so a test can hold it still or move it. Two kinds,
 * never mixed:
 * - wall-clock time (`Clock.now`, EpochMs): dates, log timestamps, token and credential
 *   expiry; what STS and identity providers compare with. It can jump when the system clock
 *   is set.
 * - monotonic time (`Clock.monotonic`, MonotonicMs): durations and deadlines. It never jumps
 *   and means nothing as a date.
 * Read directly instead: network calls' deadlines (a transport's own timer or
 * `AbortSignal.timeout`, as they bound a real socket), the JWKS cache (jose keeps its own time,
 * lib/identity/key-sources.ts) and a log line's latency (measured, never decided on).
 */
import { performance } from "node:perf_hooks";

/** Wall-clock time: milliseconds since the Unix epoch, as `Date.now()` gives. */
export type EpochMs = number;

declare const monotonic: unique symbol;
/** A reading of the monotonic clock, as `performance.now()` gives; branded so an epoch time cannot pass for one. */
export type MonotonicMs = number & { readonly [monotonic]: true };

/** A timer for work that may hang: its signal aborts after the time given, unless cancelled first. */
export interface Alarm {
  readonly signal: AbortSignal;
  cancel(): void;
}

export interface Clock {
  now(): EpochMs;
  monotonic(): MonotonicMs;
  /** Resolves `ms` later on this clock. */
  sleep(ms: number): Promise<void>;
  alarm(ms: number): Alarm;
}

/** `ms` after a monotonic reading: how a deadline is made. */
export const after = (at: MonotonicMs, ms: number): MonotonicMs => (at + ms) as MonotonicMs;

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now() as MonotonicMs,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  alarm: (ms) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ms);
    return { signal: controller.signal, cancel: () => clearTimeout(timer) };
  },
};
