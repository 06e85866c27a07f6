// The API 3.0 response envelope. Success and failure are both HTTP 200; a failure
// carries Response.Error{Code, Message} (https://cloud.tencent.com/document/api/1312/48197).
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";

/** A refusal the real service would answer with Response.Error. */
export class StsError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export function newRequestId(): string {
  return randomUUID();
}

export function sendResult(res: ServerResponse, result: Record<string, unknown>, requestId: string): void {
  sendJson(res, { Response: { ...result, RequestId: requestId } });
}

export function sendError(res: ServerResponse, error: StsError, requestId: string): void {
  sendJson(res, { Response: { Error: { Code: error.code, Message: error.message }, RequestId: requestId } });
}

function sendJson(res: ServerResponse, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}
