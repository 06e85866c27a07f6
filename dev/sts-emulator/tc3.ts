// TC3-HMAC-SHA256 verification, per the API 3.0 signature v3 doc
// (https://cloud.tencent.com/document/api/213/30654) and the wire format the Node SDK
// produces (tencentcloud-sdk-nodejs-common/tencentcloud/common/sign.js, sign3()).
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { header, mediaType, missingParameter, type ParsedRequest, parseJsonObject, type SignedCredential, splitUrl } from "./request.ts";
import { StsError } from "./wire.ts";

// The service name is whatever the client put in the scope: the SDK derives it as
// endpoint.split(".")[0], so a client pointed at 127.0.0.1 signs for service "127".
const AUTHORIZATION =
  /^TC3-HMAC-SHA256 Credential=([^\s,/]+)\/(\d{4}-\d{2}-\d{2})\/([^\s,/]+)\/tc3_request, *SignedHeaders=([a-z0-9;-]+), *Signature=([0-9a-f]{64})$/;

interface Tc3Authorization {
  secretId: string;
  date: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export function parseTc3(req: IncomingMessage, body: Buffer): ParsedRequest {
  const json = parseJsonObject(body);
  const notJson =
    mediaType(req) === "application/json" ? undefined : new StsError("InvalidParameter", "A TC3 POST body must be sent as Content-Type: application/json.");
  return {
    signature: "TC3",
    action: header(req, "x-tc-action"),
    version: header(req, "x-tc-version"),
    params: json instanceof StsError ? {} : json,
    paramsError: notJson ?? (json instanceof StsError ? json : undefined),
    credential: readCredential(req, body),
  };
}

function readCredential(req: IncomingMessage, body: Buffer): SignedCredential | StsError {
  const authorization = parseAuthorization(header(req, "authorization") ?? "");
  if (authorization instanceof StsError) return authorization;
  const timestamp = header(req, "x-tc-timestamp");
  if (timestamp === undefined) return missingParameter("X-TC-Timestamp");
  if (!/^\d{1,12}$/.test(timestamp)) return new StsError("InvalidParameter", "X-TC-Timestamp must be unix seconds.");
  return {
    secretId: authorization.secretId,
    timestamp: Number(timestamp),
    token: header(req, "x-tc-token"),
    service: authorization.service,
    verify: (secretKey) => verifySignature(req, body, authorization, timestamp, secretKey),
  };
}

function parseAuthorization(value: string): Tc3Authorization | StsError {
  const match = AUTHORIZATION.exec(value);
  if (!match) {
    return new StsError(
      "AuthFailure.InvalidAuthorization",
      "Authorization must read `TC3-HMAC-SHA256 Credential=<SecretId>/<date>/<service>/tc3_request, " + "SignedHeaders=<h1;h2>, Signature=<hex>`.",
    );
  }
  const [, secretId, date, service, headers, signature] = match as unknown as string[];
  const signedHeaders = headers!.split(";");
  // The doc makes content-type and host the minimum signed set.
  if (!signedHeaders.includes("content-type") || !signedHeaders.includes("host")) {
    return new StsError("AuthFailure.InvalidAuthorization", "SignedHeaders must include content-type and host.");
  }
  return { secretId: secretId!, date: date!, service: service!, signedHeaders, signature: signature! };
}

function verifySignature(req: IncomingMessage, body: Buffer, auth: Tc3Authorization, timestamp: string, secretKey: string): void {
  const date = utcDate(Number(timestamp));
  if (auth.date !== date) {
    throw new StsError("AuthFailure.SignatureFailure", `The credential scope date ${auth.date} is not the UTC date of X-TC-Timestamp (${date}).`);
  }
  const scope = `${date}/${auth.service}/tc3_request`;
  const stringToSign = ["TC3-HMAC-SHA256", timestamp, scope, sha256Hex(canonicalRequest(req, body, auth))].join("\n");
  const kDate = hmac(`TC3${secretKey}`, date);
  const kService = hmac(kDate, auth.service);
  const kSigning = hmac(kService, "tc3_request");
  const expected = Buffer.from(hmac(kSigning, stringToSign).toString("hex"));
  const given = Buffer.from(auth.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new StsError("AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check your signature is correct.");
  }
}

/** Built from the request as received, so a tampered body, path or header fails. */
function canonicalRequest(req: IncomingMessage, body: Buffer, auth: Tc3Authorization): string {
  const { path, query } = splitUrl(req);
  // The doc lower-cases and trims signed header values.
  const headers = auth.signedHeaders.map((name) => `${name}:${signedHeaderValue(req, name).trim().toLowerCase()}\n`).join("");
  return [req.method ?? "", path, query, headers, auth.signedHeaders.join(";"), sha256Hex(body)].join("\n");
}

// The SDK sends Host with the port but signs `host:<hostname>` (sign.js: urlObj.hostname).
function signedHeaderValue(req: IncomingMessage, name: string): string {
  const value = header(req, name) ?? "";
  return name === "host" ? withoutPort(value) : value;
}

function withoutPort(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1) || host;
  const colon = host.lastIndexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}

function utcDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}
