/**
 * SCF HTTP trigger events -> the broker's plain request, and back. Two shapes arrive:
 * Function URL `{httpMethod, path, headers, body, queryString}` (client IP in header
 * `x-scf-remote-addr`, set by the platform) and the legacy API Gateway one, which adds
 * `requestContext` (client IP in `sourceIp`), `queryStringParameters` and `isBase64Encoded`. Function URL events:
 * https://www.tencentcloud.com/document/product/583/69491; API Gateway's:
 * https://intl.cloud.tencent.com/document/product/583/31439.
 */
import type { HttpRequest, HttpResponse } from "../../lib/broker/http.ts";
import { remainingTime, requestIdOf, type ScfContext } from "../scf.ts";

export interface ScfHttpResponse {
  isBase64Encoded: false;
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

type Loose = Readonly<Record<string, unknown>>;

const asObject = (value: unknown): Loose | undefined => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Loose) : undefined);

const asText = (value: unknown): string | undefined => {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.every((item) => typeof item === "string") ? value.join(", ") : undefined;
  return undefined;
};

/** Name and text of each field; `firstOnly`: the first value of a repeated query parameter. */
function entries(value: unknown, { firstOnly }: { firstOnly: boolean }): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [name, raw] of Object.entries(asObject(value) ?? {})) {
    const text = firstOnly && Array.isArray(raw) ? asText(raw[0]) : asText(raw);
    if (text !== undefined) pairs.push([name, text]);
  }
  return pairs;
}

/**
 * Header names arrive in any case. A name spelled in lower case, as the platform writes its
 * own (`x-scf-remote-addr`), is never overridden by a case variant; among variants alone, the
 * first wins.
 */
function headersOf(value: unknown): Record<string, string> {
  const given = entries(value, { firstOnly: false });
  const headers = new Map(given.filter(([name]) => name === name.toLowerCase()));
  for (const [name, text] of given) if (!headers.has(name.toLowerCase())) headers.set(name.toLowerCase(), text);
  // fromEntries defines own properties, so a "__proto__" name cannot reach a prototype.
  return Object.fromEntries(headers);
}

function bodyOf(event: Loose): string | undefined {
  const { body } = event;
  if (body === undefined || body === null) return undefined;
  if (typeof body !== "string") return JSON.stringify(body);
  return event.isBase64Encoded === true ? Buffer.from(body, "base64").toString("utf8") : body;
}

/** Returns undefined when the event is not an HTTP trigger event at all. */
export function requestFromEvent(event: unknown, context: ScfContext | undefined): HttpRequest | undefined {
  const shape = asObject(event);
  if (!shape || typeof shape.httpMethod !== "string") return undefined;
  const headers = headersOf(shape.headers);
  const requestContext = asObject(shape.requestContext);
  return {
    method: shape.httpMethod,
    path: typeof shape.path === "string" ? shape.path : "/",
    headers,
    query: Object.fromEntries(entries(shape.queryString ?? shape.queryStringParameters, { firstOnly: true })),
    body: bodyOf(shape),
    requestId: requestIdOf(context, asText(requestContext?.requestId)),
    // API Gateway passed client headers through: there only requestContext.sourceIp is the caller.
    sourceIp: requestContext ? asText(requestContext.sourceIp) : headers["x-scf-remote-addr"],
    remainingMs: remainingTime(context),
  };
}

export function eventResponse(response: HttpResponse): ScfHttpResponse {
  return { isBase64Encoded: false, statusCode: response.status, headers: { ...response.headers }, body: response.body };
}
