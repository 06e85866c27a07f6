/**
 * The STS transport on Node (SCF): node:https (node:http for a loopback endpoint), with
 * connections kept alive between invocations (up to IDLE_MS idle), and through `http_proxy`
 * when it is set, read at each call and used for either protocol, as
 * tencentcloud-sdk-nodejs-common does (common/http/fetch.js: https-proxy-agent, a new tunnel
 * per call).
 */
import { type Agent, type ClientRequest, Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { type Clock, systemClock } from "../shared/clock.ts";
import type { Env } from "../shared/env.ts";
import { type HttpAnswer, type SignedRequest, type StsTransport, TransportTimeout } from "./tc3.ts";

/**
 * A kept-alive connection idle for longer is not reused, well inside servers' idle timeouts:
 * SCF freezes an instance between invocations, and a thawed one should not meet a socket the
 * server closed meanwhile. Checked when a call starts, which costs nothing per request, where
 * an agent `timeout` re-armed a socket timer on every request and every read.
 */
const IDLE_MS = 4000;

export function nodeTransport(env: Env = process.env, clock: Clock = systemClock): StsTransport {
  const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
  let lastSettled = clock.monotonic();
  return async (request, timeoutMs) => {
    if (clock.monotonic() - lastSettled > IDLE_MS) for (const agent of Object.values(agents)) closeIdle(agent);
    const secure = request.url.startsWith("https:");
    const proxy = env.http_proxy;
    const agent = proxy ? await proxyAgent(proxy) : secure ? agents.https : agents.http;
    try {
      return await send(request, agent, secure, timeoutMs);
    } finally {
      lastSettled = clock.monotonic();
    }
  };
}

/** Closes the connections waiting in the pool; those carrying a request are left alone. */
function closeIdle(agent: Agent): void {
  for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
}

/** Loaded only when a proxy is set: https-proxy-agent brings agent-base and debug. */
async function proxyAgent(proxy: string): Promise<Agent> {
  const { default: createProxyAgent } = await import("https-proxy-agent");
  // An agent-base Agent, which node:http accepts wherever it takes an Agent.
  return createProxyAgent(proxy) as unknown as Agent;
}

/** Every call goes to the one endpoint: its URL is parsed once, not by node:http at each call. */
let lastUrl: { readonly text: string; readonly url: URL } | undefined;
function parsed(text: string): URL {
  if (lastUrl?.text !== text) lastUrl = { text, url: new URL(text) };
  return lastUrl.url;
}

/**
 * One request under one timer (a plain timer: an AbortController per call cost more than the
 * rest of the transport's own work), covering a retry and the whole body.
 */
function send(request: SignedRequest, agent: Agent, secure: boolean, timeoutMs: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    let current: ClientRequest | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      current?.destroy();
      reject(new TransportTimeout(`request to ${request.url} got no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (error: Error) => {
      if (timedOut) return;
      clearTimeout(timer);
      reject(new Error(`request to ${request.url} failed, reason: ${error.message}`));
    };
    const attempt = (mayRetry: boolean) => {
      const outgoing = (secure ? httpsRequest : httpRequest)(parsed(request.url), { method: request.method, headers: request.headers, agent });
      outgoing.setHeader("Content-Length", Buffer.byteLength(request.body));
      current = outgoing;
      outgoing.on("error", (error: NodeJS.ErrnoException) => {
        // A kept-alive connection the server had closed meanwhile: retry once on a new one
        // (the case Node documents for ClientRequest.reusedSocket).
        if (mayRetry && !timedOut && outgoing.reusedSocket && error.code === "ECONNRESET") return attempt(false);
        fail(error);
      });
      outgoing.on("response", (response) => {
        const chunks: Buffer[] = [];
        response.on("error", fail);
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, statusText: response.statusMessage ?? "", body: Buffer.concat(chunks).toString("utf8") });
        });
      });
      outgoing.end(request.body);
    };
    attempt(true);
  });
}
