// Legacy v1 signature (HmacSHA1 / HmacSHA256 over a form body), still used by
// qcloud-cos-sts (nodejs/sdk/sts.js, getSignature) and by the Node SDK when
// profile.signMethod is HmacSHA*: tencentcloud-sdk-nodejs-common/tencentcloud/common/
// abstract_client.js, formatSignString(). Both sign `POST` + the endpoint as configured
// (host and port, the value they also send as Host) + `/?` + sorted raw `k=v` pairs.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { header, missingParameter, type ParsedRequest, type SignedCredential, splitUrl } from "./request.ts";
import { StsError } from "./wire.ts";

/** Common parameters of v1 requests; everything else belongs to the action. */
const COMMON = new Set(["Action", "Version", "Region", "Timestamp", "Nonce", "SecretId", "Signature", "SignatureMethod", "Token", "RequestClient", "Language"]);
const ALGORITHMS: Record<string, string> = { HmacSHA1: "sha1", HmacSHA256: "sha256" };
// Keys that would reach Object.prototype when unflattening `A.b` paths, and a depth
// bound so a hostile key cannot recurse the emulator into a stack overflow.
const UNSAFE_SEGMENTS = new Set(["__proto__", "constructor", "prototype"]);
const MAX_DEPTH = 8;

export function parseV1(req: IncomingMessage, body: Buffer): ParsedRequest {
  const form = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(body.toString("utf8"))) {
    if (!form.has(key)) form.set(key, value);
  }
  const actionParams = [...form].filter(([key]) => !COMMON.has(key));
  return {
    signature: "v1",
    action: form.get("Action"),
    version: form.get("Version"),
    params: unflatten(actionParams),
    credential: readCredential(req, form),
  };
}

function readCredential(req: IncomingMessage, form: Map<string, string>): SignedCredential | StsError {
  for (const name of ["SecretId", "Signature", "Timestamp", "Nonce"]) {
    if (!form.get(name)) return missingParameter(name);
  }
  const timestamp = form.get("Timestamp")!;
  if (!/^\d{1,12}$/.test(timestamp)) return new StsError("InvalidParameter", "Timestamp must be unix seconds.");
  return {
    secretId: form.get("SecretId")!,
    timestamp: Number(timestamp),
    token: form.get("Token"),
    verify: (secretKey) => verifySignature(req, form, secretKey),
  };
}

function verifySignature(req: IncomingMessage, form: Map<string, string>, secretKey: string): void {
  const method = form.get("SignatureMethod") ?? "HmacSHA1";
  const algorithm = ALGORITHMS[method];
  if (!algorithm) throw new StsError("InvalidParameter", "SignatureMethod must be HmacSHA1 or HmacSHA256.");
  const expected = Buffer.from(createHmac(algorithm, secretKey).update(stringToSign(req, form), "utf8").digest("base64"));
  const given = Buffer.from(form.get("Signature")!);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new StsError("AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check your signature is correct.");
  }
}

function stringToSign(req: IncomingMessage, form: Map<string, string>): string {
  const pairs = [...form]
    .filter(([key]) => key !== "Signature")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`);
  return `${req.method ?? ""}${header(req, "host") ?? ""}${splitUrl(req).path}?${pairs.join("&")}`;
}

/** `Tags.0.Key=a` arrives flattened; rebuild the nested value the action expects. */
function unflatten(entries: [string, string][]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    const path = key.split(".");
    if (path.length > MAX_DEPTH || path.some((segment) => segment === "" || UNSAFE_SEGMENTS.has(segment))) continue;
    let node = root;
    for (const segment of path.slice(0, -1)) {
      const next = node[segment];
      if (typeof next === "object" && next !== null) node = next as Record<string, unknown>;
      else node = node[segment] = {};
    }
    node[path.at(-1)!] = value;
  }
  return Object.fromEntries(Object.entries(root).map(([key, child]) => [key, arraysFromIndexes(child)]));
}

function arraysFromIndexes(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value).map(([key, child]) => [key, arraysFromIndexes(child)] as const);
  const indexed = entries.length > 0 && entries.every(([key]) => /^\d+$/.test(key));
  if (indexed) return entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, child]) => child);
  return Object.fromEntries(entries);
}
