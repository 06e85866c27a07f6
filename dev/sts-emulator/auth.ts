// The checks both signature schemes share, in the order the common error codes
// describe them (https://cloud.tencent.com/document/api/1312/48197).
import type { EpochMs } from "../../lib/shared/clock.ts";
import type { Caller, Registry } from "./registry.ts";
import type { ParsedRequest } from "./request.ts";
import { StsError } from "./wire.ts";

/** "Timestamp and server time cannot differ by more than five minutes." */
const MAX_SKEW_SECONDS = 300;

export function authenticate(request: ParsedRequest, registry: Registry, nowMs: EpochMs): Caller {
  const credential = request.credential;
  if (credential instanceof StsError) throw credential;
  const nowSeconds = Math.floor(nowMs / 1000);
  if (Math.abs(credential.timestamp - nowSeconds) > MAX_SKEW_SECONDS) {
    throw new StsError(
      "AuthFailure.SignatureExpire",
      `Signature expired: signed at ${credential.timestamp}, server time ${nowSeconds}; ` + `they may differ by at most ${MAX_SKEW_SECONDS} s.`,
    );
  }
  const caller = registry.resolve(credential.secretId);
  if (!caller) {
    throw new StsError("AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure that your SecretId is correct.");
  }
  credential.verify(caller.secretKey);
  checkToken(caller, credential.token, nowSeconds);
  return caller;
}

// A token sent with a permanent key is ignored: the docs only define it for temporary keys.
function checkToken(caller: Caller, token: string | undefined, nowSeconds: number): void {
  if (caller.token === undefined) return;
  if (token === undefined || token === "") {
    throw new StsError("AuthFailure.TokenFailure", "A temporary SecretId needs its token (X-TC-Token, or Token in v1).");
  }
  if (token !== caller.token) throw new StsError("AuthFailure.TokenFailure", "The token does not belong to this SecretId.");
  if (caller.expiredTime !== undefined && nowSeconds >= caller.expiredTime) {
    throw new StsError("AuthFailure.TokenFailure", "The temporary credential has expired.");
  }
}
