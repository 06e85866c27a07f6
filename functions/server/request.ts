/**
 * Node's IncomingMessage -> the broker's plain request: the client's address, the request id,
 * and a body read no further than the broker's limit.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { HttpRequest } from "../../lib/broker/http.ts";
import { MAX_BODY_BYTES } from "../../lib/broker/http.ts";
import { canonicalIp, ipInRange } from "../../lib/cam/ip.ts";
import type { ServerSettings, TrustProxy } from "./settings.ts";

export interface ReadRequest {
  readonly request: HttpRequest;
  /** false when the body was cut at the limit: the rest was never read, so the connection must close. */
  readonly whole: boolean;
}

export async function requestFrom(req: IncomingMessage, settings: Pick<ServerSettings, "trustProxy" | "requestIdHeader">): Promise<ReadRequest> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const headers = Object.fromEntries(
    Object.entries(req.headers).flatMap(([name, value]) => (value === undefined ? [] : [[name, Array.isArray(value) ? value.join(", ") : value]])),
  );
  const { body, whole } = await readBody(req, MAX_BODY_BYTES);
  // The first value of a repeated parameter wins, as in the SCF adapter.
  const query = Object.fromEntries([...url.searchParams].reverse());
  const request: HttpRequest = {
    method: req.method ?? "GET",
    path: url.pathname,
    headers,
    query,
    body,
    requestId: requestIdOf(headers, settings.requestIdHeader),
    sourceIp: clientAddress(req.socket.remoteAddress, headers["x-forwarded-for"], settings.trustProxy),
  };
  return { request, whole };
}

/** The front end's id when REQUEST_ID_HEADER names one and it looks like an id; a fresh one otherwise. */
function requestIdOf(headers: Readonly<Record<string, string>>, header: string | undefined): string {
  const given = header === undefined ? undefined : headers[header];
  return given !== undefined && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
}

/**
 * The socket's peer, unless proxies in front are trusted: then the address the outermost
 * trusted proxy saw, read from the right of X-Forwarded-For (each proxy appends its peer), so
 * whatever the client wrote there itself is never taken. Undefined when that entry is no address.
 */
function clientAddress(socket: string | undefined, forwardedFor: string | undefined, trust: TrustProxy): string | undefined {
  const hops = [
    socket ?? "",
    ...(forwardedFor ?? "")
      .split(",")
      .map((entry) => entry.trim())
      .reverse(),
  ].filter(Boolean);
  const index = "hops" in trust ? Math.min(trust.hops, hops.length - 1) : untrustedIndex(hops, trust.ranges);
  const address = hops[index];
  return address === undefined ? undefined : canonicalIp(address);
}

/** The first hop, from the socket outwards, that is not one of the trusted proxies (or the last one there is). */
function untrustedIndex(hops: readonly string[], ranges: readonly string[]): number {
  const index = hops.findIndex((hop) => !ranges.some((range) => ipInRange(hop, range)));
  return index === -1 ? hops.length - 1 : index;
}

/**
 * At most `max + 1` bytes: enough for the broker to answer 413, without reading (or buffering)
 * the rest of a huge body. Reading stops by pausing: destroying the request would take the
 * socket, and the answer, with it.
 */
function readBody(req: IncomingMessage, max: number): Promise<{ body: string | undefined; whole: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (whole: boolean) => {
      req.off("data", onData).off("end", onEnd).off("error", reject);
      const bytes = Buffer.concat(chunks);
      resolve({ body: size === 0 ? undefined : bytes.subarray(0, max + 1).toString("utf8"), whole });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > max) {
        req.pause();
        done(false);
      }
    };
    const onEnd = () => done(true);
    req.on("data", onData).on("end", onEnd).on("error", reject);
  });
}
