/**
 * Requests Node's parser refuses before the broker sees them (headers over the cap, a
 * malformed request line, a client too slow to send its request): each gets the broker's own
 * error answer and log line where there is one, written to the socket, which then closes.
 */
import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { type HttpResponse, refuse } from "../../lib/broker/http.ts";
import { canonicalIp } from "../../lib/cam/ip.ts";
import { systemClock } from "../../lib/shared/clock.ts";
import { BrokerError } from "../../lib/shared/errors.ts";
import type { Logger } from "../../lib/shared/log.ts";

/** The request line and headers: a login token is at most 8 KB, a query string 16 KB (docs/contract.md). */
export const MAX_HEADER_BYTES = 32 * 1024;

export function refuseMalformed(error: NodeJS.ErrnoException, socket: Socket, logger: Logger): void {
  const sourceIp = canonicalIp(socket.remoteAddress ?? "");
  if (!socket.writable || error.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    // No request arrived to answer in the broker's terms; 408 says why the connection closes.
    logger.event("client_timeout", { sourceIp });
    socket.end("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    return;
  }
  const refusal =
    error.code === "HPE_HEADER_OVERFLOW"
      ? new BrokerError("PayloadTooLarge", `the request line and headers must be at most ${MAX_HEADER_BYTES / 1024} KB`)
      : new BrokerError("BadRequest", "the request is not well-formed HTTP/1.1");
  const response = refuse(refusal, { requestId: randomUUID(), method: "-", sourceIp }, logger, systemClock.monotonic());
  socket.end(rawResponse(response));
}

function rawResponse({ status, headers, body }: HttpResponse): string {
  const lines = Object.entries({ ...headers, "Content-Length": String(Buffer.byteLength(body)), Connection: "close" }).map(
    ([name, value]) => `${name}: ${value}`,
  );
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join("\r\n")}\r\n\r\n${body}`;
}
