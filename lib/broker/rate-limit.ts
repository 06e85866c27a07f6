/**
 * A token bucket per subject, per instance: `burst` requests at once, refilled at
 * `perMinute`. Memory is bounded: past `maxKeys` subjects the least recently seen bucket
 * is dropped (an idle bucket has refilled anyway, so dropping it forgets nothing).
 */
import { type Clock, systemClock } from "../shared/clock.ts";
import { BrokerError } from "../shared/errors.ts";
import { Lru } from "../shared/lru.ts";

export interface RateLimit {
  readonly perMinute: number;
  readonly burst: number;
}

/** Throws TooManyRequests (with the seconds until a token is back) when `key` has none left. */
export type RateCheck = (key: string) => void;

const DEFAULT_MAX_KEYS = 10_000;

export function createRateLimiter(limit: RateLimit, clock: Clock = systemClock, maxKeys = DEFAULT_MAX_KEYS): RateCheck {
  const perMs = limit.perMinute / 60_000;
  const buckets = new Lru<{ tokens: number; at: number }>(maxKeys);

  return (key) => {
    const at = clock.now();
    const bucket = buckets.get(key);
    const tokens = bucket ? Math.min(limit.burst, bucket.tokens + Math.max(0, at - bucket.at) * perMs) : limit.burst;
    const allowed = tokens >= 1;
    buckets.set(key, { tokens: allowed ? tokens - 1 : tokens, at });
    if (!allowed) {
      const retryAfter = Math.ceil((1 - tokens) / perMs / 1000);
      throw new BrokerError("TooManyRequests", `too many credential requests for this user; retry in ${retryAfter} s`, { retryAfter });
    }
  };
}
