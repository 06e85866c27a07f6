/**
 * One STS API 3.0 request, built and signed with TC3-HMAC-SHA256 (signature v3:
 * https://cloud.tencent.com/document/api/213/30654), as tencentcloud-sdk-nodejs-common builds
 * it (common/abstract_client.js doRequestWithSign3, common/http/http_connection.js, common/sign.js
 * sign3): test/unit/sts/tc3.test.ts holds the two to the same requests. No transport here: the
 * caller sends the result (lib/sts/transport.ts).
 */
import { createHash, createHmac, randomUUID } from "node:crypto";

/** STS API version 2018-08-13 (tencentcloud-sdk-nodejs-sts, services/sts/v20180813). */
const STS_VERSION = "2018-08-13";
/**
 * X-TC-RequestClient as the official SDK sends it (common/abstract_client.js: "SDK_NODEJS_" +
 * common/sdk_version.js), so STS receives exactly the SDK's request; test/unit/sts/tc3.test.ts
 * holds it to the installed SDK's, which fails when that SDK is upgraded and this is not.
 */
const REQUEST_CLIENT = "SDK_NODEJS_4.1.220";

export interface StsCall {
  /** `sts.tencentcloudapi.com`, or a host:port; with its protocol. */
  readonly endpoint: { readonly host: string; readonly protocol: "https://" | "http://" };
  readonly action: string;
  readonly region: string;
  /** Strings and numbers only: the body is their JSON. */
  readonly params: Readonly<Record<string, string | number>>;
  readonly secretId: string;
  readonly secretKey: string;
  /** A temporary key's token: sent as X-TC-Token, which is not signed. */
  readonly token?: string;
  /** Unix seconds. */
  readonly timestamp: number;
}

export interface SignedRequest {
  readonly url: string;
  readonly method: "POST";
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What a transport hands back: any answer that arrived, whatever its status. */
export interface HttpAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly body: string;
}

/**
 * Sends one signed request: node:https on SCF (lib/sts/node-transport.ts), the Fetch API where
 * there is one. Rejects when no whole answer arrives within `timeoutMs` (a TransportTimeout) or
 * the network fails (any other error, whose message names at most the URL).
 */
export type StsTransport = (request: SignedRequest, timeoutMs: number) => Promise<HttpAnswer>;

/** The time a transport was given ran out before the answer was in. */
export class TransportTimeout extends Error {}

/** The request the SDK would send for `call`, with a fresh X-TC-TraceId (a v4 UUID, as the SDK's). */
export function signStsCall(call: StsCall, traceId: string = randomUUID()): SignedRequest {
  const url = `${call.endpoint.protocol}${call.endpoint.host}/`;
  // As the SDK does, through the URL parser: it lower-cases the host and drops a default port.
  const { host, hostname } = new URL(url);
  const body = JSON.stringify(call.params);
  const headers: Record<string, string> = {
    "X-TC-TraceId": traceId,
    Host: host,
    "X-TC-Action": call.action,
    "X-TC-Region": call.region,
    "X-TC-Timestamp": String(call.timestamp),
    "X-TC-Version": STS_VERSION,
    ...(call.token ? { "X-TC-Token": call.token } : {}),
    "X-TC-RequestClient": REQUEST_CLIENT,
    "Content-Type": "application/json",
  };
  headers.Authorization = authorization(call, hostname, body);
  return { url, method: "POST", headers, body };
}

/**
 * The SDK names the service after the endpoint's first label (`endpoint.split(".")[0]`), so
 * `sts.internal.tencentcloudapi.com` signs for `sts`, and a loopback `127.0.0.1:9100` for `127`.
 */
function authorization(call: StsCall, hostname: string, body: string): string {
  const service = call.endpoint.host.split(".")[0];
  const date = new Date(call.timestamp * 1000).toISOString().slice(0, 10);
  const scope = `${date}/${service}/tc3_request`;
  const canonical = `POST\n/\n\ncontent-type:application/json\nhost:${hostname}\n\ncontent-type;host\n${sha256Hex(body)}`;
  const signingKey = signingKeyFor(call.secretKey, date, service ?? "");
  const signature = createHmac("sha256", signingKey)
    .update(`TC3-HMAC-SHA256\n${call.timestamp}\n${scope}\n${sha256Hex(canonical)}`)
    .digest("hex");
  return `TC3-HMAC-SHA256 Credential=${call.secretId}/${scope}, SignedHeaders=content-type;host, Signature=${signature}`;
}

/** The derived key changes only with the secret, the UTC day and the service: derived once for them. */
let lastKey: { readonly id: string; readonly key: Buffer } | undefined;

function signingKeyFor(secretKey: string, date: string, service: string): Buffer {
  const id = JSON.stringify([secretKey, date, service]);
  if (lastKey?.id !== id) lastKey = { id, key: hmac(hmac(hmac(`TC3${secretKey}`, date), service), "tc3_request") };
  return lastKey.key;
}

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");
const hmac = (key: string | Buffer, text: string) => createHmac("sha256", key).update(text).digest();
