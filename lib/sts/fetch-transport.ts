/**
 * The STS transport where the Fetch API is the way out (Deno, Bun, edge runtimes; Node's own
 * fetch too): no node:http or node:https. The runtime's fetch keeps connections alive and
 * follows its own proxy settings; `Host` is the URL's, as the request was signed for, since
 * fetch sets it and refuses to be told.
 */
import type { FetchLike } from "../shared/fetch.ts";
import { type StsTransport, TransportTimeout } from "./tc3.ts";

export function fetchTransport(send: FetchLike = (input, init) => fetch(input, init)): StsTransport {
  return async (request, timeoutMs) => {
    // One deadline for the answer and its whole body.
    const signal = AbortSignal.timeout(timeoutMs);
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => name.toLowerCase() !== "host"));
    try {
      const response = await send(request.url, { method: request.method, headers, body: request.body, signal, redirect: "manual" });
      return { status: response.status, statusText: response.statusText, body: await response.text() };
    } catch (error) {
      if (signal.aborted) throw new TransportTimeout(`request to ${request.url} got no answer within ${timeoutMs} ms`);
      // fetch's own message says only "fetch failed"; the system error is its cause.
      const reason = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      throw new Error(`request to ${request.url} failed, reason: ${reason}`);
    }
  };
}
