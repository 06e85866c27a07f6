/**
 * Stands in for node-fetch v2 in the deployed bundle, so its whatwg-url and tr46 unicode
 * tables never load at cold start. It implements the part tencentcloud-sdk-nodejs-common
 * uses (common/http/fetch.js, http_connection.js, abstract_client.js parseResponse,
 * cvm_role_credential.js) on node:http/https, with node-fetch's semantics for `timeout`
 * (ms, 0 = none), `agent` (https-proxy-agent for `http_proxy`) and `signal`.
 * One difference, on purpose: without an agent, node-fetch sends `Connection: close`, so
 * every STS call paid a new TCP and TLS handshake; here connections are kept alive briefly.
 */
import { Agent as HttpAgent, request as httpRequest, type Agent, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

/**
 * Idle connections close after this (or sooner, if the server's Keep-Alive hint says so),
 * well inside servers' idle timeouts; and a timer that expired while SCF froze the instance
 * fires before the next invocation runs, so a thawed instance rarely meets a stale socket.
 */
const IDLE_MS = 4000;
let sharedAgents: { "http:": Agent; "https:": Agent } | undefined;

export interface FetchOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: string | Buffer;
  readonly timeout?: number;
  readonly agent?: Agent;
  readonly signal?: AbortSignal | null;
}

/** node-fetch's FetchError: `type` tells a timeout from a network failure. */
export class FetchError extends Error {
  override readonly name = "FetchError";
  constructor(
    message: string,
    readonly type: "request-timeout" | "system" | "invalid-json",
    readonly code?: string,
  ) {
    super(message);
  }
}

export class AbortError extends Error {
  override readonly name = "AbortError";
  readonly type = "aborted";
  constructor() {
    super("The user aborted a request.");
  }
}

export class Response {
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };

  constructor(
    readonly url: string,
    readonly body: IncomingMessage,
    private readonly settled: Promise<void>,
  ) {
    this.status = body.statusCode ?? 0;
    this.statusText = body.statusMessage ?? "";
    this.ok = this.status >= 200 && this.status < 300;
    this.headers = { get: (name) => headerValue(body.headers[name.toLowerCase()]) };
  }

  async text(): Promise<string> {
    const chunks: Buffer[] = [];
    this.body.on("data", (chunk: Buffer) => chunks.push(chunk));
    await this.settled;
    return Buffer.concat(chunks).toString("utf8");
  }

  async json(): Promise<unknown> {
    const text = await this.text();
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new FetchError(`invalid json response body at ${this.url} reason: ${(error as Error).message}`, "invalid-json");
    }
  }
}

export default function fetch(url: string, options: FetchOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const { signal, timeout = 0, body } = options;
    if (signal?.aborted) return reject(new AbortError());
    const target = new URL(url);
    sharedAgents ??= { "http:": new HttpAgent({ keepAlive: true, timeout: IDLE_MS }), "https:": new HttpsAgent({ keepAlive: true, timeout: IDLE_MS }) };
    const agent = options.agent ?? sharedAgents[target.protocol === "https:" ? "https:" : "http:"];
    let request: ClientRequest | undefined;
    let failed: Error | undefined;
    let markSettled: () => void = () => {};
    let markFailed: (error: Error) => void = () => {};
    const settled = new Promise<void>((done, fail) => ((markSettled = done), (markFailed = fail)));
    settled.catch(() => {}); // observed only when the body is read
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    // One error ends the exchange, before the response (reject) or while its body streams.
    const fail = (error: Error) => {
      if (failed) return;
      failed = error;
      finish();
      request?.destroy();
      reject(error);
      markFailed(error);
    };
    const onAbort = () => fail(new AbortError());
    // node-fetch's timeout runs from the request until the response headers, then again for
    // the body; one deadline over both is at least as strict.
    const timer = timeout > 0 ? setTimeout(() => fail(new FetchError(`network timeout at: ${url}`, "request-timeout")), timeout) : undefined;
    timer?.unref();
    signal?.addEventListener("abort", onAbort, { once: true });

    const send = (mayRetry: boolean) => {
      const sent = (target.protocol === "https:" ? httpsRequest : httpRequest)(target, {
        method: (options.method ?? "GET").toUpperCase(),
        headers: requestHeaders(options.headers, body),
        agent,
      });
      request = sent;
      sent.on("error", (error: NodeJS.ErrnoException) => {
        // A kept-alive connection the server had closed meanwhile: retry once on a new one
        // (the case Node documents for ClientRequest.reusedSocket).
        if (mayRetry && sent.reusedSocket && error.code === "ECONNRESET" && !failed) return send(false);
        fail(new FetchError(`request to ${url} failed, reason: ${error.message}`, "system", error.code));
      });
      sent.on("response", (response) => {
        response.on("error", (error) => fail(new FetchError(`request to ${url} failed, reason: ${error.message}`, "system")));
        response.on("end", () => {
          finish();
          markSettled();
        });
        resolve(new Response(url, response, settled));
      });
      sent.end(body);
    };
    send(true);
  });
}

function requestHeaders(given: FetchOptions["headers"] = {}, body: FetchOptions["body"]): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { Accept: "*/*" };
  for (const [name, value] of Object.entries(given)) if (value !== undefined) headers[name] = value;
  const sized = Object.keys(headers).some((name) => name.toLowerCase() === "content-length");
  if (body !== undefined && !sized) headers["Content-Length"] = Buffer.byteLength(body);
  return headers;
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(", ") : value;
}
