/**
 * The bucket's CORS rules, so pages on CORS_ORIGINS can upload with the credentials the broker
 * issues (cos-js-sdk-v5 README, "配置 CORS 规则"). One rule, identified by its ID, is merged in;
 * every other rule the bucket has stays as it was. cos-nodejs-sdk-v5's getBucketCors answers
 * `AllowedOrigins`-style keys and putBucketCors takes either spelling (sdk/base.js).
 */
import COS from "cos-nodejs-sdk-v5";
import type { Identity } from "./api.ts";

export interface CorsRule {
  readonly ID?: string;
  readonly AllowedOrigins: readonly string[];
  readonly AllowedMethods: readonly string[];
  readonly AllowedHeaders?: readonly string[];
  readonly ExposeHeaders?: readonly string[];
  readonly MaxAgeSeconds?: number | string;
}

export interface CorsStore {
  read(): Promise<CorsRule[]>;
  write(rules: readonly CorsRule[]): Promise<void>;
  clear(): Promise<void>;
}

/** Everything the client SDKs send for the upload, read and delete profiles; ETag so multipart uploads can finish. */
export function desiredRule(id: string, origins: readonly string[]): CorsRule {
  return {
    ID: id,
    AllowedOrigins: [...origins],
    AllowedMethods: ["PUT", "POST", "GET", "HEAD", "DELETE"],
    AllowedHeaders: ["*"],
    ExposeHeaders: ["ETag", "Content-Length", "x-cos-request-id"],
    MaxAgeSeconds: 600,
  };
}

/** The rules with `rule` in place of the one with its ID (or added); undefined when nothing would change. */
export function mergeRule(rules: readonly CorsRule[], rule: CorsRule): CorsRule[] | undefined {
  const index = rules.findIndex((existing) => existing.ID === rule.ID);
  if (index !== -1 && sameRule(rules[index]!, rule)) return undefined;
  return index === -1 ? [...rules, rule] : rules.map((existing, at) => (at === index ? rule : existing));
}

function sameRule(a: CorsRule, b: CorsRule): boolean {
  const list = (values: readonly string[] | undefined) => [...(values ?? [])].sort().join(",");
  return (
    list(a.AllowedOrigins) === list(b.AllowedOrigins) &&
    list(a.AllowedMethods) === list(b.AllowedMethods) &&
    list(a.AllowedHeaders) === list(b.AllowedHeaders) &&
    list(a.ExposeHeaders) === list(b.ExposeHeaders) &&
    Number(a.MaxAgeSeconds) === Number(b.MaxAgeSeconds)
  );
}

export interface BucketAt {
  readonly bucket: string;
  readonly region: string;
  /** COS_ENDPOINT: connect here, the Host staying the bucket's domain (as the check's probe does). */
  readonly endpoint?: string;
}

export function cosCorsStore(identity: Identity, at: BucketAt): CorsStore {
  const url = at.endpoint ? new URL(at.endpoint) : undefined;
  const cos = new COS({
    SecretId: identity.secretId,
    SecretKey: identity.secretKey,
    ...(identity.token ? { SecurityToken: identity.token } : {}),
    ...(url ? { Ip: url.host, Protocol: url.protocol as "http:" | "https:" } : {}),
    KeepAlive: false,
  });
  const bucket = { Bucket: at.bucket, Region: at.region };
  return {
    read: async () => (await cos.getBucketCors(bucket)).CORSRules as CorsRule[],
    write: async (rules) => {
      await cos.putBucketCors({ ...bucket, CORSRules: rules as unknown as COS.CORSRule[] });
    },
    clear: async () => {
      await cos.deleteBucketCors(bucket);
    },
  };
}

/** `--dry-run`: shows the requests, makes none; reads find no rules. */
export function dryRunCorsStore(print: (line: string) => void, at: BucketAt): CorsStore {
  const show = (request: string, body?: unknown) =>
    print(`  cos:${request} ${JSON.stringify({ Bucket: at.bucket, Region: at.region, ...(body === undefined ? {} : { CORSRules: body }) })}`);
  return {
    read: async () => {
      show("GetBucketCORS");
      return [];
    },
    write: async (rules) => show("PutBucketCORS", rules),
    clear: async () => show("DeleteBucketCORS"),
  };
}
