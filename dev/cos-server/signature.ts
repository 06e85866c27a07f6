// The COS request signature (q-sign-algorithm=sha1), verified from what the request carries:
// https://www.tencentcloud.com/document/product/436/7778 (COS request signature).
// The SDKs compute the same thing in util.getAuth (cos-nodejs-sdk-v5/sdk/util.js,
// cos-js-sdk-v5/src/util.js): the lists of signed headers and URL parameters are the ones the
// client sent, keys lower-cased and URL-encoded, values URL-encoded.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { CosError } from "./errors.ts";

export interface CosAuthorization {
  readonly secretId: string;
  /** `start;end`, unix seconds, exactly as sent (it is signed as text) */
  readonly signTime: string;
  readonly keyTime: string;
  readonly headerList: readonly string[];
  readonly paramList: readonly string[];
  readonly signature: string;
}

/** What the signature covers, read from the request as received. */
export interface SignedRequest {
  readonly method: string;
  /** URL path, percent-decoded: the SDKs sign `/<key>` (or `/<bucket>/<key>` path-style) unencoded */
  readonly path: string;
  /** query parameters, percent-decoded, in the order sent */
  readonly query: readonly (readonly [string, string])[];
  header(name: string): string | undefined;
}

/** encodeURIComponent plus `!'()*`, as the SDKs' camSafeUrlEncode. */
function camSafeUrlEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

const TIME_RANGE = /^(\d{1,12});(\d{1,12})$/;

/** `q-sign-algorithm=sha1&q-ak=...&q-sign-time=...&...` as an Authorization header carries it. */
export function parseHeaderAuthorization(value: string): CosAuthorization {
  const fields = new Map<string, string>();
  for (const pair of value.split("&")) {
    const at = pair.indexOf("=");
    if (at > 0 && !fields.has(pair.slice(0, at))) fields.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return authorizationFrom((name) => fields.get(name));
}

/** The same fields from any source: header, presigned URL parameters, or PostObject form fields. */
export function authorizationFrom(field: (name: string) => string | undefined): CosAuthorization {
  const required = (name: string): string => {
    const value = field(name);
    if (value === undefined || value === "") throw malformed(`it has no ${name}`);
    return value;
  };
  const algorithm = required("q-sign-algorithm");
  if (algorithm.toLowerCase() !== "sha1") throw malformed("q-sign-algorithm must be sha1");
  const signTime = required("q-sign-time");
  const keyTime = field("q-key-time") ?? signTime;
  for (const [name, range] of [
    ["q-sign-time", signTime],
    ["q-key-time", keyTime],
  ] as const) {
    if (!TIME_RANGE.test(range)) throw malformed(`${name} must read <start>;<end> in unix seconds`);
  }
  const signature = required("q-signature");
  if (!/^[0-9a-fA-F]{40}$/.test(signature)) throw malformed("q-signature must be 40 hex digits");
  return {
    secretId: required("q-ak"),
    signTime,
    keyTime,
    headerList: splitList(field("q-header-list")),
    paramList: splitList(field("q-url-param-list")),
    signature: signature.toLowerCase(),
  };
}

function splitList(value: string | undefined): string[] {
  return value ? value.split(";").filter(Boolean) : [];
}

function malformed(why: string): CosError {
  return new CosError("AccessDenied", `The request's authorization is malformed: ${why}.`);
}

/** [start, end] of a `start;end` range (already checked by the parser). */
export function timeRange(range: string): [number, number] {
  const [, start, end] = TIME_RANGE.exec(range)!;
  return [Number(start), Number(end)];
}

/**
 * HttpString = `lower(method)\n<path>\n<params>\n<headers>\n`, each list `k=v` joined by `&`
 * in the order the client listed them. A listed name the request lacks counts as empty.
 */
function httpString(request: SignedRequest, auth: CosAuthorization): string {
  const query = new Map<string, string>();
  for (const [name, value] of request.query) {
    const encoded = camSafeUrlEncode(name).toLowerCase();
    if (!query.has(encoded)) query.set(encoded, value);
  }
  const params = auth.paramList.map((name) => `${name}=${camSafeUrlEncode(query.get(name) ?? "")}`);
  const headers = auth.headerList.map((name) => `${name}=${camSafeUrlEncode(request.header(name) ?? "")}`);
  return [request.method.toLowerCase(), request.path, params.join("&"), headers.join("&"), ""].join("\n");
}

/** SignKey = hex(HMAC-SHA1(SecretKey, KeyTime)); Signature = hex(HMAC-SHA1(SignKey, StringToSign)). */
export function signString(secretKey: string, keyTime: string, stringToSign: string): string {
  const signKey = createHmac("sha1", secretKey).update(keyTime).digest("hex");
  return createHmac("sha1", signKey).update(stringToSign).digest("hex");
}

/** StringToSign of a request: `sha1\n<SignTime>\n<hex sha1(HttpString)>\n`. */
export function requestStringToSign(request: SignedRequest, auth: CosAuthorization): string {
  return ["sha1", auth.signTime, sha1Hex(httpString(request, auth)), ""].join("\n");
}

export function sha1Hex(text: string | Buffer): string {
  return createHash("sha1").update(text).digest("hex");
}

/** Constant-time comparison; throws SignatureDoesNotMatch on any difference. */
export function checkSignature(expected: string, given: string): void {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new CosError(
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    );
  }
}
