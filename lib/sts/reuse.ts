/**
 * Per-instance reuse of issued credentials, so clients that refetch often do not spend the
 * account's 600 STS calls/s. Keyed by (subject hash, duration, the exact encoded policy sent
 * to STS): everything that shapes a grant is inside that policy, so a credential is never
 * shared between subjects or scopes. Bounded LRU; secrets stay in this instance's memory only.
 */

import { type Clock, systemClock } from "../shared/clock.ts";
import { Lru } from "../shared/lru.ts";
import type { CredentialRequest, IssuedCredentials, StsClient } from "./client.ts";
import { type CacheSettings, MIN_DURATION_SECONDS } from "./settings.ts";

/** `clock`'s wall time is compared with STS's ExpiredTime. */
export function cacheCredentials(sts: StsClient, settings: CacheSettings, clock: Clock = systemClock): StsClient {
  if (settings.maxEntries === 0) return sts;
  const entries = new Lru<IssuedCredentials>(settings.maxEntries);

  return {
    async requestCredentials(request) {
      // The client SDKs refetch below 60 s, so anything under two minutes is useless to hand out.
      const minRemaining = Math.max(MIN_DURATION_SECONDS, settings.minRemainingSeconds ?? Math.ceil((request.durationSeconds * 2) / 3));
      const usable = (credentials: IssuedCredentials) => credentials.expiredTime - clock.now() / 1000 >= minRemaining;
      const key = cacheKey(request);
      const cached = entries.get(key);
      if (cached && usable(cached)) return { ...cached, cached: true };
      entries.delete(key);
      const issued = await sts.requestCredentials(request);
      if (usable(issued)) entries.set(key, issued);
      return { ...issued, cached: false };
    },
  };
}

function cacheKey(request: CredentialRequest): string {
  return JSON.stringify([request.subjectHash, request.durationSeconds, request.encodedPolicy]);
}
