// Bucket CORS as COS applies it: a preflight (OPTIONS with Access-Control-Request-Method) is
// answered without a signature, from the bucket's rules; a refused one gets 403 AccessForbidden
// (https://www.tencentcloud.com/document/product/436/40105). The one rule here is what
// cos-js-sdk-v5's README (step 4, "配置 CORS 规则") asks a bucket for: the page's origin, the
// upload methods, any request header, and ETag exposed to scripts.
import { CosError } from "./errors.ts";

const METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD"];
const EXPOSE = "ETag, Content-Length, x-cos-request-id";
const MAX_AGE_SECONDS = "600";
/** Request headers a browser may ask to send: token characters only, bounded. */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

export type Headers = Record<string, string>;

export class BucketCors {
  private readonly origins: Set<string>;

  constructor(origins: readonly string[] = []) {
    this.origins = new Set(origins);
  }

  allow(origin: string): void {
    this.origins.add(origin);
  }

  /** Headers for a response to an allowed origin, so the page can read it (errors included). */
  responseHeaders(origin: string | undefined): Headers {
    if (!origin || !this.origins.has(origin)) return { Vary: "Origin" };
    return { "Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSE, Vary: "Origin" };
  }

  preflight(origin: string | undefined, method: string | undefined, requestHeaders: string | undefined): Headers {
    const headers = (requestHeaders ?? "").trim();
    const allowed =
      origin !== undefined &&
      this.origins.has(origin) &&
      METHODS.includes((method ?? "").toUpperCase()) &&
      (headers === "" || (headers.length <= 2048 && HEADER_LIST.test(headers)));
    if (!allowed) {
      throw new CosError(
        "AccessForbidden",
        "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
      );
    }
    return {
      ...this.responseHeaders(origin),
      "Access-Control-Allow-Methods": METHODS.join(", "),
      ...(headers ? { "Access-Control-Allow-Headers": headers } : {}),
      "Access-Control-Max-Age": MAX_AGE_SECONDS,
    };
  }
}
