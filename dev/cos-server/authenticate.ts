// Who signed the request, and may the signature still be used? Checked in this order: the
// key exists (InvalidAccessKeyId), the signature matches (SignatureDoesNotMatch), the token
// belongs to the key (InvalidToken) and has not expired (ExpiredToken), and the signed time
// window holds the server's clock ("Request has expired" / RequestTimeTooSkewed, the two
// answers of https://www.tencentcloud.com/document/product/436/40105). Signature first, so
// nothing about a token is revealed to a caller who cannot sign.
import { timingSafeEqual } from "node:crypto";
import type { CosCredential, CredentialLookup } from "./credentials.ts";
import { CosError, requestExpired } from "./errors.ts";
import { type CosAuthorization, checkSignature, signString, timeRange } from "./signature.ts";

export interface SignedCall {
  readonly auth: CosAuthorization;
  /** what the client signed: the request's StringToSign, or a PostObject policy's */
  readonly stringToSign: string;
  /** x-cos-security-token as sent (header, query parameter or form field) */
  readonly token: string | undefined;
}

export function authenticate(call: SignedCall, lookup: CredentialLookup, nowSeconds: number): CosCredential {
  const { auth } = call;
  const credential = lookup(auth.secretId);
  if (!credential) throw new CosError("InvalidAccessKeyId", "The access key Id format you provided is invalid or does not exist.");
  checkSignature(signString(credential.secretKey, auth.keyTime, call.stringToSign), auth.signature);
  checkToken(credential, call.token, nowSeconds);
  for (const range of [auth.signTime, auth.keyTime]) {
    const [start, end] = timeRange(range);
    if (end < nowSeconds) throw requestExpired();
    if (start > nowSeconds) {
      throw new CosError("RequestTimeTooSkewed", "The difference between the request time and the server's time is too large.");
    }
  }
  return credential;
}

function checkToken(credential: CosCredential, token: string | undefined, nowSeconds: number): void {
  if (credential.token === undefined) return;
  if (!token || !sameText(token, credential.token)) {
    throw new CosError("InvalidToken", "The provided token is malformed or otherwise invalid: a temporary key needs its own x-cos-security-token.");
  }
  if (credential.expiredTime !== undefined && nowSeconds >= credential.expiredTime) {
    throw new CosError("ExpiredToken", "The provided token has expired.");
  }
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
