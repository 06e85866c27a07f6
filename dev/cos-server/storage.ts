// Objects and multipart uploads, in memory: a dev server holds what a test or a developer
// uploads in one session, nothing more. ETags are COS's: the quoted MD5 of a simple upload,
// and `"<md5 of the parts' MD5s>-<parts>"` for a multipart one.
import { createHash, randomBytes } from "node:crypto";
import type { EpochMs } from "../../lib/shared/clock.ts";
import { CosError } from "./errors.ts";
import type { CompletedPart } from "./xml.ts";

/** Headers stored with an object and sent back on GET/HEAD. */
export type ObjectHeaders = Readonly<Record<string, string>>;

export interface StoredObject {
  readonly key: string;
  readonly body: Buffer;
  readonly etag: string;
  readonly lastModified: Date;
  readonly headers: ObjectHeaders;
}

export interface Part {
  readonly partNumber: number;
  readonly body: Buffer;
  readonly etag: string;
  readonly lastModified: Date;
}

export interface Upload {
  readonly uploadId: string;
  readonly bucket: string;
  readonly key: string;
  readonly initiated: Date;
  readonly headers: ObjectHeaders;
  readonly parts: Map<number, Part>;
}

/** COS: every part but the last is at least 1 MB (Upload Part API page; the SDKs' smallest ChunkSize, cos-nodejs-sdk-v5/sdk/cos.js). */
const MIN_PART_BYTES = 1024 * 1024;

const md5 = (data: Buffer) => createHash("md5").update(data).digest();

export class Storage {
  private readonly buckets = new Map<string, Map<string, StoredObject>>();
  private readonly uploads = new Map<string, Upload>();

  constructor(
    bucketNames: readonly string[],
    private readonly now: () => EpochMs,
  ) {
    for (const name of bucketNames) this.buckets.set(name, new Map());
  }

  hasBucket(bucket: string): boolean {
    return this.buckets.has(bucket);
  }

  put(bucket: string, key: string, body: Buffer, headers: ObjectHeaders = {}): StoredObject {
    return this.store(bucket, { key, body, etag: `"${md5(body).toString("hex")}"`, lastModified: new Date(this.now()), headers });
  }

  get(bucket: string, key: string): StoredObject {
    const object = this.objects(bucket).get(key);
    if (!object) throw new CosError("NoSuchKey", "The specified key does not exist.");
    return object;
  }

  /** COS answers 204 whether or not the key existed. */
  delete(bucket: string, key: string): void {
    this.objects(bucket).delete(key);
  }

  /** Keys in byte order, as COS lists them. */
  list(bucket: string, prefix: string): StoredObject[] {
    return [...this.objects(bucket).values()]
      .filter((object) => object.key.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  }

  initiate(bucket: string, key: string, headers: ObjectHeaders): Upload {
    this.objects(bucket);
    const upload: Upload = { uploadId: randomBytes(16).toString("hex"), bucket, key, initiated: new Date(this.now()), headers, parts: new Map() };
    this.uploads.set(upload.uploadId, upload);
    return upload;
  }

  upload(bucket: string, key: string, uploadId: string): Upload {
    const upload = this.uploads.get(uploadId);
    if (!upload || upload.bucket !== bucket || upload.key !== key) {
      throw new CosError("NoSuchUpload", "The specified multipart upload does not exist.");
    }
    return upload;
  }

  uploadsIn(bucket: string, prefix: string): Upload[] {
    return [...this.uploads.values()].filter((upload) => upload.bucket === bucket && upload.key.startsWith(prefix));
  }

  putPart(upload: Upload, partNumber: number, body: Buffer): Part {
    const part = { partNumber, body, etag: `"${md5(body).toString("hex")}"`, lastModified: new Date(this.now()) };
    upload.parts.set(partNumber, part);
    return part;
  }

  complete(upload: Upload, wanted: readonly CompletedPart[]): StoredObject {
    if (wanted.some((item, index) => index > 0 && item.partNumber <= wanted[index - 1]!.partNumber)) {
      throw new CosError("InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.");
    }
    const parts = wanted.map((item) => {
      const part = upload.parts.get(item.partNumber);
      if (!part || part.etag !== normalizeEtag(item.etag)) {
        throw new CosError("InvalidPart", `Part ${item.partNumber} could not be found, or its ETag does not match.`);
      }
      return part;
    });
    const small = parts.slice(0, -1).find((part) => part.body.length < MIN_PART_BYTES);
    if (small) throw new CosError("EntityTooSmall", `Part ${small.partNumber} is smaller than the 1 MB minimum for all parts but the last.`);
    const digest = md5(Buffer.concat(parts.map((part) => Buffer.from(part.etag.slice(1, -1), "hex")))).toString("hex");
    this.uploads.delete(upload.uploadId);
    const body = Buffer.concat(parts.map((part) => part.body));
    return this.store(upload.bucket, {
      key: upload.key,
      body,
      etag: `"${digest}-${parts.length}"`,
      lastModified: new Date(this.now()),
      headers: upload.headers,
    });
  }

  abort(upload: Upload): void {
    this.uploads.delete(upload.uploadId);
  }

  private store(bucket: string, object: StoredObject): StoredObject {
    this.objects(bucket).set(object.key, object);
    return object;
  }

  private objects(bucket: string): Map<string, StoredObject> {
    const objects = this.buckets.get(bucket);
    if (!objects) throw new CosError("NoSuchBucket", "The specified bucket does not exist.");
    return objects;
  }
}

/** Clients send part ETags with or without quotes. */
function normalizeEtag(etag: string): string {
  const bare = etag.replace(/^"|"$/g, "");
  return `"${bare.toLowerCase()}"`;
}
