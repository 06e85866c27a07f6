// PostObject: a browser or mini-program form upload (https://www.tencentcloud.com/document/api/436/14690).
// Two ways to sign it:
// - `policy` + `q-sign-algorithm`/`q-ak`/`q-key-time`/`q-signature`: the signature covers
//   SHA1 of the policy JSON, and the policy's conditions cover the form fields;
// - `Signature`: a whole request Authorization string for the POST as sent (path `/`, or
//   `/<bucket>/` path-style: the key is not in it), which is what cos-wx-sdk-v5 sends
//   (lib/request.js: formData.Signature = headers.Authorization; src/base.js signs PostObject
//   with an empty KeyName). The key is then held only by the session policy.
// The token travels as the `x-cos-security-token` field (or header).
import type { EpochMs } from "../../lib/shared/clock.ts";
import type { SignedCall } from "./authenticate.ts";
import { accessDenied, CosError } from "./errors.ts";
import { checkKey, type ParsedUrl } from "./route.ts";
import { authorizationFrom, parseHeaderAuthorization, requestStringToSign, type SignedRequest, sha1Hex } from "./signature.ts";

export interface PostForm {
  /** field names lower-cased; the first value of each */
  readonly fields: ReadonlyMap<string, string>;
  readonly file: File;
  /** the key as sent, before ${filename} is replaced */
  readonly sentKey: string;
  readonly key: string;
}

const MAX_FIELDS = 64;
const invalid = (message: string) => new CosError("InvalidArgument", message);

/** Fields after `file` are ignored, as COS ignores them. */
export async function readForm(contentType: string, body: Buffer): Promise<PostForm> {
  let form: FormData;
  try {
    form = await new Request("http://cos.invalid/", { method: "POST", headers: { "content-type": contentType }, body: new Uint8Array(body) }).formData();
  } catch {
    throw new CosError("MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.");
  }
  const fields = new Map<string, string>();
  let file: File | undefined;
  for (const [name, value] of form) {
    if (name === "file") {
      if (value instanceof File) file = value;
      break;
    }
    if (typeof value === "string" && !fields.has(name.toLowerCase()) && fields.size < MAX_FIELDS) fields.set(name.toLowerCase(), value);
  }
  if (!file) throw invalid("The form has no file field (it must be the last field).");
  const sentKey = fields.get("key");
  if (!sentKey) throw invalid("The form has no key field.");
  // biome-ignore lint/suspicious/noTemplateCurlyInString: COS PostObject's literal ${filename} placeholder
  const key = sentKey.replaceAll("${filename}", file.name);
  checkKey(key);
  return { fields, file, sentKey, key };
}

export function signedPost(form: PostForm, url: ParsedUrl, header: (name: string) => string | undefined): SignedCall {
  const token = form.fields.get("x-cos-security-token") ?? header("x-cos-security-token");
  const signature = form.fields.get("signature");
  if (signature !== undefined) {
    const auth = parseHeaderAuthorization(signature);
    const request: SignedRequest = { method: "POST", path: url.path, query: url.query, header };
    return { auth, stringToSign: requestStringToSign(request, auth), token };
  }
  const policy = form.fields.get("policy");
  if (policy === undefined) throw accessDenied();
  // The form carries q-key-time only; it is also the signature's time window.
  const auth = authorizationFrom((name) => form.fields.get(name === "q-sign-time" ? "q-key-time" : name));
  return { auth, stringToSign: sha1Hex(Buffer.from(policy, "base64").toString("utf8")), token };
}

type Condition = Readonly<Record<string, unknown>> | readonly unknown[];

/** The policy's expiration and every condition must hold for the form as sent. */
export function checkPostPolicy(form: PostForm, bucket: string, nowMs: EpochMs): void {
  const text = form.fields.get("policy");
  if (text === undefined) return;
  const policy = parsePolicy(text);
  const expiration = Date.parse(String(policy.expiration));
  if (!Number.isFinite(expiration)) throw badPolicy("expiration must be an ISO 8601 time");
  if (expiration <= nowMs) throw new CosError("AccessDenied", "Invalid according to Policy: Policy expired.");
  const fieldValue = (name: string): string | undefined => {
    const field = name.replace(/^\$/, "").toLowerCase();
    if (field === "bucket") return bucket;
    if (field === "key") return form.sentKey;
    // The doc's policies name q-sign-time; the form sends that range as q-key-time.
    return form.fields.get(field === "q-sign-time" ? "q-key-time" : field);
  };
  for (const condition of policy.conditions as Condition[]) checkCondition(condition, fieldValue, form.file.size);
}

function parsePolicy(text: string): { expiration: unknown; conditions: unknown } {
  let policy: unknown;
  try {
    policy = JSON.parse(Buffer.from(text, "base64").toString("utf8"));
  } catch {
    throw badPolicy("it is not base64-encoded JSON");
  }
  if (typeof policy !== "object" || policy === null || !Array.isArray((policy as { conditions?: unknown }).conditions)) {
    throw badPolicy('it needs "expiration" and a "conditions" array');
  }
  return policy as { expiration: unknown; conditions: unknown };
}

function checkCondition(condition: Condition, fieldOf: (name: string) => string | undefined, size: number): void {
  const failed = () => new CosError("AccessDenied", `Invalid according to Policy: Policy Condition failed: ${JSON.stringify(condition).slice(0, 200)}`);
  if (Array.isArray(condition)) {
    const [operator, name, expected, upper] = condition as unknown[];
    if (operator === "content-length-range") {
      if (typeof name !== "number" || typeof expected !== "number") throw badPolicy("content-length-range wants two numbers");
      if (size < name) throw new CosError("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.");
      if (size > expected) throw new CosError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.");
      return;
    }
    if (typeof name !== "string" || typeof expected !== "string" || upper !== undefined) throw badPolicy("a condition reads [operator, $field, value]");
    const actual = fieldOf(name) ?? "";
    if (operator === "eq" && actual === expected) return;
    if (operator === "starts-with" && actual.startsWith(expected)) return;
    if (operator !== "eq" && operator !== "starts-with") throw badPolicy(`unknown operator ${JSON.stringify(operator).slice(0, 40)}`);
    throw failed();
  }
  if (typeof condition !== "object" || condition === null) throw badPolicy("a condition is an object or an array");
  const entries = Object.entries(condition);
  if (entries.length !== 1 || typeof entries[0]![1] !== "string") throw badPolicy('an exact-match condition reads {"field": "value"}');
  if (fieldOf(entries[0]![0]) !== entries[0]![1]) throw failed();
}

function badPolicy(why: string): CosError {
  return new CosError("InvalidPolicyDocument", `Invalid Policy: ${why}.`);
}
