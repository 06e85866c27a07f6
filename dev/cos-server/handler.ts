// One request, start to finish: route, CORS, authenticate, authorize, operate, answer.
// Every refusal is COS-shaped XML with the request id; nothing a client sends takes the
// server down or reaches a stack trace.
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { EpochMs } from "../../lib/shared/clock.ts";
import { authenticate, type SignedCall } from "./authenticate.ts";
import { type Context, type Decision, decide, resourceOf } from "./authorize.ts";
import type { BucketCors } from "./cors.ts";
import type { CredentialLookup } from "./credentials.ts";
import { accessDenied, CosError } from "./errors.ts";
import { type CosResponse, checkDigest, runOperation, storedHeaders, WITH_BODY } from "./operations.ts";
import { checkPostPolicy, readForm, signedPost } from "./post-object.ts";
import { type Operation, operationOf, type ParsedUrl, param, parseUrl, type Target, targetOf } from "./route.ts";
import { authorizationFrom, parseHeaderAuthorization, requestStringToSign } from "./signature.ts";
import type { Storage } from "./storage.ts";
import { xmlDocument } from "./xml.ts";

/** Every request the server saw, for tests and for a developer reading why one was refused. */
export interface CosCall {
  readonly method: string;
  readonly url: string;
  operation?: Operation;
  bucket?: string;
  key?: string;
  decision?: Decision;
  status: number;
  /** the error code when refused */
  code?: string;
  /** from the server's clock */
  readonly at: EpochMs;
}

export interface ServerState {
  readonly region: string;
  readonly storage: Storage;
  readonly cors: BucketCors;
  readonly credentials: CredentialLookup;
  readonly now: () => EpochMs;
  readonly calls: CosCall[];
  readonly maxBodyBytes: number;
  /** told about each request once it is answered */
  readonly onCall?: (call: CosCall) => void;
}

export async function handle(req: IncomingMessage, res: ServerResponse, state: ServerState): Promise<void> {
  const requestId = randomBytes(18).toString("base64");
  const call: CosCall = { method: req.method ?? "", url: (req.url ?? "").slice(0, 2048), status: 0, at: state.now() };
  state.calls.push(call);
  let cors: Record<string, string> = {};
  try {
    const response = await answer(req, state, call, (headers) => (cors = headers));
    call.status = response.status;
    send(res, response, { ...cors, "x-cos-request-id": requestId });
  } catch (caught) {
    const error = caught instanceof CosError ? caught : new CosError("InternalError", "We encountered an internal error. Please try again.");
    call.status = error.status;
    call.code = error.code;
    const body = xmlDocument([
      "Error",
      [
        ["Code", error.code],
        ["Message", error.message],
        ["Resource", `${header(req, "host") ?? ""}${call.url.split("?")[0]}`],
        ["RequestId", requestId],
        ["TraceId", requestId],
      ],
    ]);
    // A refused upload's body is not read: close rather than drain it.
    if (!req.complete) res.setHeader("Connection", "close");
    send(
      res,
      { status: error.status, headers: { "Content-Type": "application/xml" }, body: req.method === "HEAD" ? undefined : body },
      { ...cors, "x-cos-request-id": requestId },
    );
    req.resume();
  }
  state.onCall?.(call);
}

async function answer(req: IncomingMessage, state: ServerState, call: CosCall, setCors: (headers: Record<string, string>) => void): Promise<CosResponse> {
  const url = parseUrl(req.url ?? "/");
  const target = targetOf(header(req, "host"), url.path, state.region);
  Object.assign(call, { bucket: target.bucket, key: target.key });
  if (!state.storage.hasBucket(target.bucket)) throw new CosError("NoSuchBucket", "The specified bucket does not exist.");
  const origin = header(req, "origin");
  setCors(state.cors.responseHeaders(target.bucket, origin));
  const method = (req.method ?? "").toUpperCase();
  const preflightMethod = header(req, "access-control-request-method");
  if (method === "OPTIONS" && (preflightMethod !== undefined || !header(req, "authorization"))) {
    // A refused preflight allows nothing, not even reading the refusal.
    setCors({ Vary: "Origin" });
    return { status: 200, headers: state.cors.preflight(target.bucket, origin, preflightMethod, header(req, "access-control-request-headers")) };
  }
  const operation = operationOf(method, target, url.query, header(req, "content-type"));
  call.operation = operation;
  if (operation === "PostObject") return postObject(req, state, call, url, target);

  const credential = authenticate(signedRequest(req, url), state.credentials, Math.floor(state.now() / 1000));
  const key = operation === "ListMultipartUploads" ? (param(url.query, "prefix") ?? "") : target.key;
  const context: Context = {
    ...requestContext(req),
    "cos:content-length": contentLength(req),
    "cos:content-type": header(req, "content-type"),
    "cos:x-cos-acl": header(req, "x-cos-acl"),
    "cos:prefix": operation === "GetBucket" ? param(url.query, "prefix") : undefined,
  };
  permit(call, decide(credential, operation, target.bucket, resourceOf(state.region, target.bucket, key), context));
  const body = WITH_BODY.has(operation) ? await readBody(req, state.maxBodyBytes) : Buffer.alloc(0);
  if (operation === "GetBucketCORS" || operation === "PutBucketCORS" || operation === "DeleteBucketCORS") {
    checkDigest({ headers: headersOf(req), body });
    return state.cors.operate(operation, target.bucket, body);
  }
  return runOperation({ operation, target, query: url.query, headers: headersOf(req), body, origin: originOf(req) }, state.storage);
}

async function postObject(req: IncomingMessage, state: ServerState, call: CosCall, url: ParsedUrl, target: Target): Promise<CosResponse> {
  const form = await readForm(header(req, "content-type") ?? "", await readBody(req, state.maxBodyBytes));
  call.key = form.key;
  const credential = authenticate(
    signedPost(form, url, (name) => header(req, name)),
    state.credentials,
    Math.floor(state.now() / 1000),
  );
  checkPostPolicy(form, target.bucket, state.now());
  const context: Context = {
    ...requestContext(req),
    "cos:content-length": form.file.size,
    "cos:content-type": form.fields.get("content-type") || undefined,
    "cos:x-cos-acl": form.fields.get("x-cos-acl") ?? form.fields.get("acl"),
  };
  permit(call, decide(credential, "PostObject", target.bucket, resourceOf(state.region, target.bucket, form.key), context));
  const object = state.storage.put(target.bucket, form.key, Buffer.from(await form.file.arrayBuffer()), storedHeaders(Object.fromEntries(form.fields)));
  const location = `${originOf(req)}${target.base}${encodeURI(form.key)}`;
  const headers = { ETag: object.etag, Location: location };
  // success_action_status: 200, 201 (with an XML body) or 204, the default.
  const status = Number(form.fields.get("success_action_status"));
  if (status === 201) {
    const body = xmlDocument([
      "PostResponse",
      [
        ["Location", location],
        ["Bucket", target.bucket],
        ["Key", form.key],
        ["ETag", object.etag],
      ],
    ]);
    return { status, headers: { ...headers, "Content-Type": "application/xml" }, body };
  }
  return { status: status === 200 ? 200 : 204, headers };
}

function permit(call: CosCall, decision: Decision): void {
  call.decision = decision;
  if (!decision.allowed) throw accessDenied();
}

/** Header authorization, or a presigned URL's q-* parameters; an unsigned request is anonymous. */
function signedRequest(req: IncomingMessage, url: ParsedUrl): SignedCall {
  const authorization = header(req, "authorization");
  const presigned = param(url.query, "q-sign-algorithm") !== undefined;
  if (!authorization && !presigned) throw accessDenied();
  const auth = authorization ? parseHeaderAuthorization(authorization) : authorizationFrom((name) => param(url.query, name));
  const request = { method: req.method ?? "", path: url.path, query: url.query, header: (name: string) => header(req, name) };
  const token = header(req, "x-cos-security-token") ?? param(url.query, "x-cos-security-token");
  return { auth, stringToSign: requestStringToSign(request, auth), token };
}

/** Condition keys every request has (COS conditions, https://www.tencentcloud.com/document/product/436/46205). */
function requestContext(req: IncomingMessage): Context {
  const address = req.socket.remoteAddress ?? "";
  return {
    "qcs:ip": address.startsWith("::ffff:") ? address.slice(7) : address,
    "cos:secure-transport": (req.socket as TLSSocket).encrypted === true,
  };
}

function contentLength(req: IncomingMessage): number | undefined {
  const value = header(req, "content-length");
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

function originOf(req: IncomingMessage): string {
  return `${(req.socket as TLSSocket).encrypted ? "https" : "http"}://${header(req, "host") ?? "localhost"}`;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

function headersOf(req: IncomingMessage): Record<string, string> {
  return Object.fromEntries(Object.keys(req.headers).map((name) => [name, header(req, name)!]));
}

/** The body, refused past the cap without buffering it. */
async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const tooLarge = () => new CosError("EntityTooLarge", `Your proposed upload exceeds the maximum allowed size (${max} bytes on this server).`);
  if ((contentLength(req) ?? 0) > max) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, response: CosResponse, extra: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const body = response.body ?? "";
  // HEAD keeps the object's Content-Length with no body.
  res.writeHead(response.status, { Server: "tencent-cos", "Content-Length": String(Buffer.byteLength(body)), ...extra, ...response.headers });
  res.end(body);
}
