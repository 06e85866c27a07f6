// Which bucket, which key, which COS operation: from the Host header (virtual-host style,
// `<bucket>.cos.<region>.<any domain>`, all the SDKs send now that they refuse ForcePathStyle)
// or the first path segment (path style, for hand-made requests), the method and the query's
// sub-resources. Operation names are the CAM action names of
// https://www.tencentcloud.com/document/product/436/30580 ("COS API authorization policy").
import { CosError } from "./errors.ts";

export type Operation =
  | "GetBucket"
  | "ListMultipartUploads"
  | "PostObject"
  | "PutObject"
  | "GetObject"
  | "HeadObject"
  | "DeleteObject"
  | "OptionsObject"
  | "InitiateMultipartUpload"
  | "UploadPart"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload"
  | "ListParts"
  | "GetBucketCORS"
  | "PutBucketCORS"
  | "DeleteBucketCORS";

export type Query = readonly (readonly [string, string])[];

export interface ParsedUrl {
  /** percent-decoded path */
  readonly path: string;
  readonly query: Query;
}

export interface Target {
  readonly bucket: string;
  /** "" for bucket-level requests */
  readonly key: string;
  /** decoded path up to the key: "/" (virtual-host) or "/<bucket>/" (path style) */
  readonly base: string;
}

/** COS object keys are at most 850 bytes (COS object overview, https://cloud.tencent.com/document/product/436/13324). */
const MAX_KEY_BYTES = 850;

const invalidUri = (why: string) => new CosError("InvalidURI", `Couldn't parse the specified URI: ${why}.`);

/** Path and query as sent, percent-decoded without turning `+` into a space (the SDKs encode spaces as %20). */
export function parseUrl(url: string): ParsedUrl {
  const mark = url.indexOf("?");
  const rawPath = mark === -1 ? url : url.slice(0, mark);
  const rawQuery = mark === -1 ? "" : url.slice(mark + 1);
  if (!rawPath.startsWith("/")) throw invalidUri("the path must start with /");
  const query = rawQuery
    .split("&")
    .filter(Boolean)
    .map((pair): [string, string] => {
      const at = pair.indexOf("=");
      return at === -1 ? [decode(pair), ""] : [decode(pair.slice(0, at)), decode(pair.slice(at + 1))];
    });
  return { path: decode(rawPath), query };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw invalidUri("it holds an invalid percent-encoding");
  }
}

export function param(query: Query, name: string): string | undefined {
  return query.find(([key]) => key === name)?.[1];
}

const VIRTUAL_HOST = /^([a-z0-9](?:[a-z0-9-]*[a-z0-9])?-\d+)\.cos\.([a-z0-9-]+)\./;

export function targetOf(host: string | undefined, path: string, region: string): Target {
  const hostname = (host ?? "").toLowerCase().replace(/:\d+$/, "");
  const virtual = VIRTUAL_HOST.exec(hostname);
  let target: Target;
  if (virtual) {
    if (virtual[2] !== region) throw new CosError("NoSuchBucket", `The specified bucket does not exist in ${virtual[2]}.`);
    target = { bucket: virtual[1]!, key: path.slice(1), base: "/" };
  } else {
    const slash = path.indexOf("/", 1);
    const bucket = slash === -1 ? path.slice(1) : path.slice(1, slash);
    if (!bucket) {
      throw new CosError("InvalidRequest", "The request names no bucket: use <bucket>.cos.<region>.myqcloud.com or path style /<bucket>/<key>.");
    }
    target = { bucket, key: slash === -1 ? "" : path.slice(slash + 1), base: `/${bucket}/` };
  }
  checkKey(target.key);
  return target;
}

/**
 * Refuses keys COS could read two ways: control characters, and "." or ".." segments
 * (a server that normalised them after the policy check would let `p/../q` escape `p/*`).
 */
export function checkKey(key: string): void {
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new CosError("KeyTooLong", `Object keys are at most ${MAX_KEY_BYTES} bytes.`);
  if (/\p{Cc}/u.test(key)) throw invalidUri("object keys must not contain control characters");
  if (key.split("/").some((segment) => segment === "." || segment === "..")) throw invalidUri("object keys must not contain '.' or '..' segments");
}

/** Sub-resources COS defines that this server does not emulate: answered 501, never ignored. */
const UNSUPPORTED = [
  "acl",
  "policy",
  "tagging",
  "lifecycle",
  "versioning",
  "website",
  "referer",
  "logging",
  "domain",
  "restore",
  "select",
  "append",
  "delete",
  "inventory",
  "replication",
  "encryption",
  "versions",
  "object-lock",
  "intelligenttiering",
  "rename",
];

export function operationOf(method: string, target: Target, query: Query, contentType: string | undefined): Operation {
  const has = (name: string) => param(query, name) !== undefined;
  const unsupported = UNSUPPORTED.find(has);
  if (unsupported) throw new CosError("NotImplemented", `This loopback COS server does not implement ?${unsupported}.`);
  const object = target.key !== "";
  if (!object && has("cors")) {
    const cors = ({ GET: "GetBucketCORS", PUT: "PutBucketCORS", DELETE: "DeleteBucketCORS" } as const)[method as "GET"];
    if (cors) return cors;
  }
  switch (method) {
    case "OPTIONS":
      return "OptionsObject";
    case "GET":
      if (!object) return has("uploads") ? "ListMultipartUploads" : "GetBucket";
      return has("uploadId") ? "ListParts" : "GetObject";
    case "HEAD":
      if (object) return "HeadObject";
      break;
    case "PUT":
      if (object) {
        if (has("partNumber") || has("uploadId")) return "UploadPart";
        return "PutObject";
      }
      break;
    case "POST":
      if (!object && /^multipart\/form-data\b/i.test(contentType ?? "")) return "PostObject";
      if (object && has("uploads")) return "InitiateMultipartUpload";
      if (object && has("uploadId")) return "CompleteMultipartUpload";
      break;
    case "DELETE":
      if (object) return has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
      break;
  }
  throw new CosError("MethodNotAllowed", `This server does not answer ${method.slice(0, 16)} on ${object ? "an object" : "a bucket"} with these parameters.`);
}
