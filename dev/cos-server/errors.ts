// COS refusals as COS answers them: an XML <Error> with a stable Code and a real HTTP
// status. Codes and messages follow the COS error-code list
// (https://www.tencentcloud.com/document/api/436/7730) and the 403 troubleshooting page
// (https://www.tencentcloud.com/document/product/436/40105); where Tencent gives none,
// the S3 code and status COS mirrors are used (ExpiredToken, InvalidToken, MalformedPOSTRequest).

const STATUS_OF = {
  AccessDenied: 403,
  AccessForbidden: 403,
  InvalidAccessKeyId: 403,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  BadDigest: 400,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  ExpiredToken: 400,
  InvalidArgument: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidPolicyDocument: 400,
  InvalidRequest: 400,
  InvalidToken: 400,
  InvalidURI: 400,
  KeyTooLong: 400,
  MalformedPOSTRequest: 400,
  MalformedXML: 400,
  NoSuchBucket: 404,
  NoSuchCORSConfiguration: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  MethodNotAllowed: 405,
  InternalError: 500,
  NotImplemented: 501,
} as const;

export type CosErrorCode = keyof typeof STATUS_OF;

export class CosError extends Error {
  readonly code: CosErrorCode;
  readonly status: number;
  constructor(code: CosErrorCode, message: string) {
    super(message);
    this.name = "CosError";
    this.code = code;
    this.status = STATUS_OF[code];
  }
}

/** COS answers every authorization refusal with this message (403 troubleshooting page). */
export const accessDenied = (): CosError => new CosError("AccessDenied", "Access Denied.");

/** What COS says for a q-sign-time or q-key-time in the past; the SDKs match this exact text. */
export const requestExpired = (): CosError => new CosError("AccessDenied", "Request has expired");
