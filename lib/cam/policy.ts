/**
 * The shape of a CAM policy as the broker writes it and the evaluator reads it, and how a COS
 * resource is named (https://cloud.tencent.com/document/product/598/10603, CAM policy grammar;
 * https://cloud.tencent.com/document/product/436/30580, COS resource descriptions).
 */
export interface BucketRef {
  readonly bucket: string;
  readonly region: string;
  readonly appid: string;
}

export type ConditionBlock = Record<string, Record<string, string | number | boolean | readonly (string | number)[]>>;

export interface CamStatement {
  effect: "allow" | "deny";
  action: string[];
  resource: string[];
  condition?: ConditionBlock;
}

export interface CamPolicy {
  version: "2.0";
  statement: CamStatement[];
}

/** `qcs::cos:<region>:uid/<appid>:<bucket-appid>/<key>` (https://cloud.tencent.com/document/product/436/30580). */
export function resourceOf(ref: BucketRef, key: string): string {
  return `qcs::cos:${ref.region}:uid/${ref.appid}:${ref.bucket}/${key}`;
}
