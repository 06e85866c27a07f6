/**
 * The retry loop of every upstream call (STS, WeChat login): a deadline per attempt and one for
 * all attempts together, transient failures tried again after a jittered wait, and an attempt
 * that could not finish in the time left never started (docs/contract.md, When STS fails).
 */
import type { Clock } from "./clock.ts";
import { BrokerError } from "./errors.ts";

export type Attempt<T> = { readonly value: T } | { readonly error: BrokerError; readonly transient: boolean };

export interface RetryPolicy {
  /** Attempts in all, counting the first. */
  readonly maxAttempts: number;
  /** One attempt's own limit. */
  readonly attemptMs: number;
  /** The whole call, waits included (the invocation's remaining time); none: maxAttempts x attemptMs. */
  readonly budgetMs?: number;
  readonly clock: Clock;
  /** Uniform in [0, 1): the jitter. */
  readonly random: () => number;
  /** What to answer when not even a first attempt fits in the budget. */
  readonly tooLate: () => BrokerError;
}

/** Full jitter: each wait is drawn from [0, min(cap, base * 2^(attempt-1))). */
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 1000;
/** An attempt with less time than this cannot finish; do not start it. */
const MIN_ATTEMPT_MS = 100;

/** Runs `attempt(limitMs, number)` until it succeeds or must stop; then the last error, with the attempt count. */
export async function retryWithin<T>(policy: RetryPolicy, attempt: (limitMs: number, number: number) => Promise<Attempt<T>>): Promise<T> {
  const { clock, random } = policy;
  const started = clock.monotonic();
  const left = () => (policy.budgetMs ?? Number.POSITIVE_INFINITY) - (clock.monotonic() - started);
  if (left() < MIN_ATTEMPT_MS) throw policy.tooLate();
  for (let number = 1; ; number += 1) {
    const outcome = await attempt(Math.min(policy.attemptMs, left()), number);
    if ("value" in outcome) return outcome.value;
    const wait = random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (number - 1));
    if (!outcome.transient || number >= policy.maxAttempts || left() - wait < MIN_ATTEMPT_MS) throw afterAttempts(outcome.error, number);
    await clock.sleep(wait);
  }
}

/** The last attempt's error, with the attempt count for the log. */
function afterAttempts(error: BrokerError, attempts: number): BrokerError {
  if (attempts === 1) return error;
  const detail = [error.detail, `attempts=${attempts}`].filter(Boolean).join(" ");
  return new BrokerError(error.code, error.message, { detail, retryAfter: error.retryAfter, cause: error });
}
