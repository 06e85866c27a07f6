// What each COS operation does once a request is authenticated and authorized. Response
// shapes follow COS's Object and Bucket API pages (https://www.tencentcloud.com/document/api/436)
// as far as the SDKs read them (cos-nodejs-sdk-v5/sdk/base.js, cos-js-sdk-v5/src/base.js).
import { createHash } from "node:crypto";
import { CosError } from "./errors.ts";
import { type Operation, param, type Query, type Target } from "./route.ts";
import type { ObjectHeaders, Storage, StoredObject, Upload } from "./storage.ts";
import { parseCompleteMultipartUpload, type XmlNode, xmlDocument } from "./xml.ts";

export interface OperationRequest {
  readonly operation: Operation;
  readonly target: Target;
  readonly query: Query;
  /** lower-cased names */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** scheme://host of the request, for Location */
  readonly origin: string;
}

export interface CosResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

/** Operations whose request body is the payload (everything else must not need one). */
export const WITH_BODY: ReadonlySet<Operation> = new Set(["PutObject", "UploadPart", "CompleteMultipartUpload", "PutBucketCORS"]);

const STORED_HEADERS = ["content-type", "cache-control", "content-disposition", "content-encoding", "expires"];
const MAX_KEYS = 1000;
const MAX_PART_NUMBER = 10_000;
const XML = { "Content-Type": "application/xml" };

export function runOperation(request: OperationRequest, storage: Storage): CosResponse {
  const { target, query } = request;
  const { bucket, key } = target;
  switch (request.operation) {
    case "PutObject": {
      checkDigest(request);
      const object = storage.put(bucket, key, request.body, storedHeaders(request.headers));
      return { status: 200, headers: { ETag: object.etag } };
    }
    case "GetObject": {
      const object = storage.get(bucket, key);
      return { status: 200, headers: objectHeaders(object), body: object.body };
    }
    case "HeadObject":
      return { status: 200, headers: objectHeaders(storage.get(bucket, key)) };
    case "DeleteObject":
      storage.delete(bucket, key);
      return { status: 204, headers: {} };
    case "GetBucket":
      return xml(listBucket(storage, bucket, query));
    case "ListMultipartUploads":
      return xml(listUploads(storage, bucket, query));
    case "InitiateMultipartUpload": {
      const upload = storage.initiate(bucket, key, storedHeaders(request.headers));
      return xml([
        "InitiateMultipartUploadResult",
        [
          ["Bucket", bucket],
          ["Key", key],
          ["UploadId", upload.uploadId],
        ],
      ]);
    }
    case "UploadPart": {
      checkDigest(request);
      const upload = uploadOf(request, storage);
      const part = storage.putPart(upload, partNumber(query), request.body);
      return { status: 200, headers: { ETag: part.etag } };
    }
    case "CompleteMultipartUpload": {
      const upload = uploadOf(request, storage);
      const object = storage.complete(upload, parseCompleteMultipartUpload(request.body.toString("utf8")));
      const location = `${request.origin}${target.base}${key}`;
      return xml([
        "CompleteMultipartUploadResult",
        [
          ["Location", location],
          ["Bucket", bucket],
          ["Key", key],
          ["ETag", object.etag],
        ],
      ]);
    }
    case "AbortMultipartUpload":
      storage.abort(uploadOf(request, storage));
      return { status: 204, headers: {} };
    case "ListParts":
      return xml(listParts(uploadOf(request, storage)));
    case "OptionsObject":
      return { status: 200, headers: {} };
    case "PostObject":
    case "GetBucketCORS":
    case "PutBucketCORS":
    case "DeleteBucketCORS":
      throw new CosError("InternalError", `${request.operation} is answered by its own handler.`);
  }
}

function xml(root: XmlNode): CosResponse {
  return { status: 200, headers: XML, body: xmlDocument(root) };
}

/** Content-MD5, when sent, must be the base64 MD5 of the body. */
export function checkDigest(request: Pick<OperationRequest, "headers" | "body">): void {
  const given = request.headers["content-md5"];
  if (given === undefined) return;
  if (createHash("md5").update(request.body).digest("base64") !== given.trim()) {
    throw new CosError("BadDigest", "The Content-MD5 you specified did not match what we received.");
  }
}

/** The standard headers an object keeps, and its x-cos-meta-* metadata (names lower-cased). */
export function storedHeaders(sent: Readonly<Record<string, string>>): ObjectHeaders {
  const kept = Object.entries(sent).filter(([name, value]) => value !== "" && (STORED_HEADERS.includes(name) || name.startsWith("x-cos-meta-")));
  return { "content-type": "application/octet-stream", ...Object.fromEntries(kept) };
}

function objectHeaders(object: StoredObject): Record<string, string> {
  return {
    ...object.headers,
    "Content-Length": String(object.body.length),
    ETag: object.etag,
    "Last-Modified": object.lastModified.toUTCString(),
  };
}

function uploadOf(request: OperationRequest, storage: Storage): Upload {
  const uploadId = param(request.query, "uploadId");
  if (!uploadId) throw new CosError("InvalidArgument", "uploadId is required.");
  return storage.upload(request.target.bucket, request.target.key, uploadId);
}

function partNumber(query: Query): number {
  const text = param(query, "partNumber") ?? "";
  const number = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(number >= 1 && number <= MAX_PART_NUMBER)) {
    throw new CosError("InvalidArgument", `partNumber must be a whole number from 1 to ${MAX_PART_NUMBER}.`);
  }
  return number;
}

function maxKeys(query: Query): number {
  const text = param(query, "max-keys");
  if (text === undefined || text === "") return MAX_KEYS;
  if (!/^\d{1,7}$/.test(text)) throw new CosError("InvalidArgument", "max-keys must be a whole number.");
  return Math.min(Number(text), MAX_KEYS);
}

const iso = (date: Date) => date.toISOString();
const owner = (bucket: string): XmlNode => {
  const appid = bucket.slice(bucket.lastIndexOf("-") + 1);
  return [
    "Owner",
    [
      ["ID", appid],
      ["DisplayName", appid],
    ],
  ];
};

/** GET Bucket: prefix, delimiter, marker and max-keys; encoding-type=url encodes keys. */
function listBucket(storage: Storage, bucket: string, query: Query): XmlNode {
  const prefix = param(query, "prefix") ?? "";
  const delimiter = param(query, "delimiter") ?? "";
  const marker = param(query, "marker") ?? "";
  const limit = maxKeys(query);
  const encode = param(query, "encoding-type") === "url" ? encodeURIComponent : (text: string) => text;
  const contents: StoredObject[] = [];
  const prefixes = new Set<string>();
  let truncated = false;
  let last = "";
  for (const object of storage.list(bucket, prefix)) {
    if (marker && object.key <= marker) continue;
    const cut = delimiter ? object.key.indexOf(delimiter, prefix.length) : -1;
    const common = cut === -1 ? undefined : object.key.slice(0, cut + delimiter.length);
    if (common !== undefined && prefixes.has(common)) continue;
    if (contents.length + prefixes.size >= limit) {
      truncated = true;
      break;
    }
    if (common !== undefined) prefixes.add(common);
    else contents.push(object);
    last = common ?? object.key;
  }
  return [
    "ListBucketResult",
    [
      ["Name", bucket],
      ["Prefix", encode(prefix)],
      ["Marker", encode(marker)],
      ["MaxKeys", limit],
      delimiter ? ["Delimiter", encode(delimiter)] : undefined,
      ["IsTruncated", truncated],
      truncated ? ["NextMarker", encode(last)] : undefined,
      ...contents.map(
        (object): XmlNode => [
          "Contents",
          [
            ["Key", encode(object.key)],
            ["LastModified", iso(object.lastModified)],
            ["ETag", object.etag],
            ["Size", object.body.length],
            owner(bucket),
            ["StorageClass", "STANDARD"],
          ],
        ],
      ),
      ...[...prefixes].map((common): XmlNode => ["CommonPrefixes", [["Prefix", encode(common)]]]),
    ],
  ];
}

function listUploads(storage: Storage, bucket: string, query: Query): XmlNode {
  const prefix = param(query, "prefix") ?? "";
  const uploads = storage.uploadsIn(bucket, prefix).slice(0, MAX_KEYS);
  return [
    "ListMultipartUploadsResult",
    [
      ["Bucket", bucket],
      ["Prefix", prefix],
      ["MaxUploads", MAX_KEYS],
      ["IsTruncated", false],
      ...uploads.map(
        (upload): XmlNode => [
          "Upload",
          [
            ["Key", upload.key],
            ["UploadId", upload.uploadId],
            ["StorageClass", "STANDARD"],
            ["Initiator", [["ID", upload.bucket]]],
            owner(bucket),
            ["Initiated", iso(upload.initiated)],
          ],
        ],
      ),
    ],
  ];
}

function listParts(upload: Upload): XmlNode {
  const parts = [...upload.parts.values()].sort((a, b) => a.partNumber - b.partNumber);
  return [
    "ListPartsResult",
    [
      ["Bucket", upload.bucket],
      ["Key", upload.key],
      ["UploadId", upload.uploadId],
      owner(upload.bucket),
      ["StorageClass", "STANDARD"],
      ["MaxParts", MAX_KEYS],
      ["IsTruncated", false],
      ...parts.map(
        (part): XmlNode => [
          "Part",
          [
            ["PartNumber", part.partNumber],
            ["LastModified", iso(part.lastModified)],
            ["ETag", part.etag],
            ["Size", part.body.length],
          ],
        ],
      ),
    ],
  ];
}
