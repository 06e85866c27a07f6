// Bucket CORS as COS applies it: each bucket has rules (GET/PUT/DELETE Bucket cors,
// https://cloud.tencent.com/document/product/436/8279 and 436/8274); a preflight (OPTIONS with
// Access-Control-Request-Method) is answered without a signature by the first rule that allows
// its origin, method and headers, and a refused one gets 403 AccessForbidden
// (https://www.tencentcloud.com/document/product/436/40105). A bucket starts with one rule, what
// cos-js-sdk-v5's README (step 4, "配置 CORS 规则") asks for: the page's origins, the upload
// methods, any request header, ETag exposed to scripts.
import { matchWildcard } from "../../lib/cam/evaluate.ts";
import { CosError } from "./errors.ts";
import type { CosResponse } from "./operations.ts";
import { unescapeXml, type XmlNode, xmlDocument } from "./xml.ts";

export interface CorsRule {
  readonly id?: string;
  readonly origins: readonly string[];
  readonly methods: readonly string[];
  readonly headers: readonly string[];
  readonly expose: readonly string[];
  readonly maxAgeSeconds?: number;
}

const METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD"];
/** Request headers a browser may ask to send: token characters only, bounded. */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;
const MAX_RULES = 100;

export type Headers = Record<string, string>;

const forbidden = () =>
  new CosError(
    "AccessForbidden",
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
  );

const startingRule = (origins: readonly string[]): CorsRule => ({
  id: "initial",
  origins: [...origins],
  methods: METHODS,
  headers: ["*"],
  expose: ["ETag", "Content-Length", "x-cos-request-id"],
  maxAgeSeconds: 600,
});

export class BucketCors {
  private readonly byBucket = new Map<string, CorsRule[]>();

  constructor(buckets: readonly string[], origins: readonly string[] = []) {
    // A COS rule always names an origin: with none, a bucket starts with no rules.
    for (const bucket of buckets) this.byBucket.set(bucket, origins.length > 0 ? [startingRule(origins)] : []);
  }

  /** Adds a page origin to every bucket's starting rule (`npm start`). */
  allow(origin: string): void {
    for (const [bucket, rules] of this.byBucket) {
      const initial = rules.find((rule) => rule.id === "initial");
      this.byBucket.set(
        bucket,
        initial ? rules.map((rule) => (rule === initial ? { ...rule, origins: [...rule.origins, origin] } : rule)) : [...rules, startingRule([origin])],
      );
    }
  }

  rules(bucket: string): readonly CorsRule[] {
    return this.byBucket.get(bucket) ?? [];
  }

  /** Headers for a response to an allowed origin, so the page can read it (errors included). */
  responseHeaders(bucket: string, origin: string | undefined): Headers {
    const rule = origin === undefined ? undefined : this.rules(bucket).find((candidate) => allowsOrigin(candidate, origin));
    if (!rule || !origin) return { Vary: "Origin" };
    return {
      "Access-Control-Allow-Origin": origin,
      ...(rule.expose.length ? { "Access-Control-Expose-Headers": rule.expose.join(", ") } : {}),
      Vary: "Origin",
    };
  }

  preflight(bucket: string, origin: string | undefined, method: string | undefined, requestHeaders: string | undefined): Headers {
    const headers = (requestHeaders ?? "").trim();
    if (origin === undefined || (headers !== "" && (headers.length > 2048 || !HEADER_LIST.test(headers)))) throw forbidden();
    const asked = headers === "" ? [] : headers.split(",").map((name) => name.trim().toLowerCase());
    const wanted = (method ?? "").toUpperCase();
    const rule = this.rules(bucket).find(
      (candidate) =>
        allowsOrigin(candidate, origin) &&
        candidate.methods.includes(wanted) &&
        (candidate.headers.includes("*") || asked.every((name) => candidate.headers.some((allowed) => allowed.toLowerCase() === name))),
    );
    if (!rule) throw forbidden();
    return {
      ...this.responseHeaders(bucket, origin),
      "Access-Control-Allow-Methods": rule.methods.join(", "),
      ...(headers ? { "Access-Control-Allow-Headers": headers } : {}),
      ...(rule.maxAgeSeconds === undefined ? {} : { "Access-Control-Max-Age": String(rule.maxAgeSeconds) }),
    };
  }

  /** GET, PUT and DELETE `/?cors`, once the request is authenticated and authorized. */
  operate(operation: "GetBucketCORS" | "PutBucketCORS" | "DeleteBucketCORS", bucket: string, body: Buffer): CosResponse {
    if (operation === "DeleteBucketCORS") {
      this.byBucket.set(bucket, []);
      return { status: 204, headers: {} };
    }
    if (operation === "PutBucketCORS") {
      this.byBucket.set(bucket, parseCorsConfiguration(body.toString("utf8")));
      return { status: 200, headers: {} };
    }
    const rules = this.rules(bucket);
    if (rules.length === 0) throw new CosError("NoSuchCORSConfiguration", "The CORS configuration does not exist.");
    return { status: 200, headers: { "Content-Type": "application/xml" }, body: xmlDocument(["CORSConfiguration", rules.map(ruleXml)]) };
  }
}

function allowsOrigin(rule: CorsRule, origin: string): boolean {
  return rule.origins.some((allowed) => matchWildcard(allowed, origin));
}

function ruleXml(rule: CorsRule): XmlNode {
  const many = (name: string, values: readonly string[]): XmlNode[] => values.map((value) => [name, value]);
  return [
    "CORSRule",
    [
      rule.id === undefined ? undefined : ["ID", rule.id],
      ...many("AllowedOrigin", rule.origins),
      ...many("AllowedMethod", rule.methods),
      ...many("AllowedHeader", rule.headers),
      ...many("ExposeHeader", rule.expose),
      rule.maxAgeSeconds === undefined ? undefined : ["MaxAgeSeconds", rule.maxAgeSeconds],
    ],
  ];
}

/** `<CORSConfiguration><CORSRule>...</CORSRule>...</CORSConfiguration>`, as cos-nodejs-sdk-v5 writes it. */
function parseCorsConfiguration(xml: string): CorsRule[] {
  const malformed = () => new CosError("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.");
  if (!/^\s*(<\?xml[^>]*>\s*)?<CORSConfiguration>[\s\S]*<\/CORSConfiguration>\s*$/.test(xml)) throw malformed();
  const rules = [...xml.matchAll(/<CORSRule>([\s\S]*?)<\/CORSRule>/g)].map(([, inner = ""]) => {
    const all = (name: string) => [...inner.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, "g"))].map((match) => unescapeXml(match[1]!.trim()));
    const id = all("ID")[0];
    const maxAge = all("MaxAgeSeconds")[0];
    const rule: CorsRule = {
      ...(id === undefined ? {} : { id }),
      origins: all("AllowedOrigin"),
      methods: all("AllowedMethod").map((method) => method.toUpperCase()),
      headers: all("AllowedHeader"),
      expose: all("ExposeHeader"),
      ...(maxAge === undefined ? {} : { maxAgeSeconds: Number(maxAge) }),
    };
    if (rule.origins.length === 0 || rule.methods.length === 0 || rule.methods.some((method) => !METHODS.includes(method))) throw malformed();
    if (rule.expose.includes("*") || (maxAge !== undefined && !/^\d{1,9}$/.test(maxAge))) throw malformed();
    return rule;
  });
  if (rules.length === 0 || rules.length > MAX_RULES) throw malformed();
  return rules;
}
