/**
 * The COS action names the broker may grant, spelled out, and what each request carries.
 * Names (case-sensitive): https://cloud.tencent.com/document/product/436/30580 (COS API authorization policies);
 * request headers: https://cloud.tencent.com/document/product/436/7728 (common request headers).
 */
const cos = (action: string) => `name/cos:${action}`;

/** Object-level actions; their resource is `.../<bucket>/<key>`. Copies are left out: their size is the source's. */
const OBJECT_ACTIONS = [
  ...["PutObject", "PostObject", "AppendObject", "InitiateMultipartUpload", "ListMultipartUploads", "ListParts"],
  ...["UploadPart", "CompleteMultipartUpload", "AbortMultipartUpload", "GetObject", "HeadObject", "OptionsObject"],
  ...["DeleteObject", "GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging", "PostObjectRestore"],
].map(cos);

/** Bucket-level actions; their resource is `.../<bucket>/`, fenced by `cos:prefix` (https://cloud.tencent.com/document/product/436/30580). */
const BUCKET_ACTIONS = ["GetBucket"].map(cos);

export const KNOWN_ACTIONS: ReadonlySet<string> = new Set([...OBJECT_ACTIONS, ...BUCKET_ACTIONS]);

/**
 * Requests whose body is object data, so `Content-Length` is the size being written. COS
 * requires the header on PUT and POST except a chunked PUT Object, which must be refused
 * under a size limit rather than waved through (436/7728).
 */
const BODY_ACTIONS: ReadonlySet<string> = new Set(["PutObject", "PostObject", "AppendObject", "UploadPart"].map(cos));

/** Requests whose `Content-Type` becomes the object's type (436/7749 PUT Object, 436/7746 Initiate Multipart Upload). */
const TYPED_ACTIONS: ReadonlySet<string> = new Set(["PutObject", "PostObject", "AppendObject", "InitiateMultipartUpload"].map(cos));

/** `PutObject` or `name/cos:PutObject` -> `name/cos:PutObject`; anything unknown -> undefined. */
export function actionNamed(name: string): string | undefined {
  const full = name.startsWith("name/") ? name : cos(name);
  return KNOWN_ACTIONS.has(full) ? full : undefined;
}

export const isBucketAction = (action: string): boolean => BUCKET_ACTIONS.includes(action);
export const writesBody = (action: string): boolean => BODY_ACTIONS.has(action);
export const setsContentType = (action: string): boolean => TYPED_ACTIONS.has(action);
export const shortAction = (action: string): string => action.replace(/^name\/cos:/, "");
