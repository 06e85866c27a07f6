/**
 * Stands in for node-fetch v2 in the deployed bundle, so its whatwg-url and tr46 unicode
 * tables never load at cold start. It implements the part the SDK's files named in
 * scripts/shims/index.ts use (test/build/shim-surface.test.ts records that part) on
 * node:http/https, with node-fetch's semantics for `timeout` (ms, 0 = none), `agent`
 * (https-proxy-agent for `http_proxy`) and `signal`.
 * One difference, on purpose: without an agent, node-fetch sends `Connection: close`, so
 * every STS call paid a new TCP and TLS handshake; here connections are kept alive briefly.
 */
import { type Agent, type ClientRequest, Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
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
    if (options.signal?.aborted) return reject(new AbortError());
    sharedAgents ??= { "http:": new HttpAgent({ keepAlive: true, timeout: IDLE_MS }), "https:": new HttpsAgent({ keepAlive: true, timeout: IDLE_MS }) };
    new Exchange(url, options, resolve, reject).send(true);
  });
}

/** One request and its response body, under one deadline and one abort signal. */
class Exchange {
  private readonly target: URL;
  private request: ClientRequest | undefined;
  private failure: Error | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private bodyRead: () => void = () => {};
  private bodyFailed: (error: Error) => void = () => {};
  /** Settles when the response body has been read to its end, or the exchange failed. */
  private readonly settled = new Promise<void>((resolve, reject) => {
    this.bodyRead = resolve;
    this.bodyFailed = reject;
  });

  constructor(
    private readonly url: string,
    private readonly options: FetchOptions,
    private readonly resolve: (response: Response) => void,
    private readonly reject: (error: Error) => void,
  ) {
    this.target = new URL(url);
    this.settled.catch(() => {}); // observed only when the body is read
    // node-fetch's timeout runs from the request until the response headers, then again for
    // the body; one deadline over both is at least as strict.
    const { timeout = 0 } = options;
    this.timer = timeout > 0 ? setTimeout(() => this.fail(new FetchError(`network timeout at: ${url}`, "request-timeout")), timeout) : undefined;
    this.timer?.unref();
    options.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  send(mayRetry: boolean): void {
    const { target, options } = this;
    const request = (target.protocol === "https:" ? httpsRequest : httpRequest)(target, {
      method: (options.method ?? "GET").toUpperCase(),
      headers: requestHeaders(options.headers, options.body),
      agent: options.agent ?? sharedAgents?.[target.protocol === "https:" ? "https:" : "http:"],
    });
    this.request = request;
    request.on("error", (error: NodeJS.ErrnoException) => {
      // A kept-alive connection the server had closed meanwhile: retry once on a new one
      // (the case Node documents for ClientRequest.reusedSocket).
      if (mayRetry && request.reusedSocket && error.code === "ECONNRESET" && !this.failure) return this.send(false);
      this.fail(new FetchError(`request to ${this.url} failed, reason: ${error.message}`, "system", error.code));
    });
    request.on("response", (response) => {
      response.on("error", (error) => this.fail(new FetchError(`request to ${this.url} failed, reason: ${error.message}`, "system")));
      response.on("end", () => {
        this.stopWatching();
        this.bodyRead();
      });
      this.resolve(new Response(this.url, response, this.settled));
    });
    request.end(options.body);
  }

  /** One error ends the exchange, before the response (reject) or while its body streams. */
  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.stopWatching();
    this.request?.destroy();
    this.reject(error);
    this.bodyFailed(error);
  }

  private readonly onAbort = () => this.fail(new AbortError());

  private stopWatching(): void {
    clearTimeout(this.timer);
    this.options.signal?.removeEventListener("abort", this.onAbort);
  }
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
