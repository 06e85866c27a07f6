/**
 * The broker behind Node's http server: the same handler SCF runs, for `npm start`
 * and for end-to-end tests. Translates IncomingMessage <-> the broker's plain types.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type App, type AppDeps, createApp } from "../lib/broker/app.ts";
import { type HttpHandler, type HttpRequest, MAX_BODY_BYTES } from "../lib/broker/http.ts";
import { nodeTransport } from "../lib/sts/node-transport.ts";
import { type ListenOptions, listen } from "./listen.ts";

export interface LocalServer {
  readonly url: string;
  readonly app: App;
  readonly server: Server;
  close(): Promise<void>;
}

export type LocalServerOptions = AppDeps & Pick<ListenOptions, "host" | "port" | "name">;

export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const app = createApp({ ...options, stsTransport: options.stsTransport ?? nodeTransport(options.env) });
  const server = createServer((req, res) => {
    serve(app.handle, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const { origin, close } = await listen(server, options);
  return { url: origin, app, server, close };
}

async function serve(handle: HttpHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const response = await handle(await requestFrom(req));
  res.writeHead(response.status, response.headers);
  res.end(response.body);
}

export async function requestFrom(req: IncomingMessage): Promise<HttpRequest> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const headers = Object.fromEntries(
    Object.entries(req.headers).flatMap(([name, value]) => (value === undefined ? [] : [[name, Array.isArray(value) ? value.join(", ") : value]])),
  );
  // The first value of a repeated parameter wins, as in the SCF adapter.
  const query = Object.fromEntries([...url.searchParams].reverse());
  return {
    method: req.method ?? "GET",
    path: url.pathname,
    headers,
    query,
    body: await readBody(req),
    requestId: randomUUID(),
    sourceIp: req.socket.remoteAddress,
  };
}

/**
 * Keeps at most one chunk past the broker's limit, so it still answers 413 without
 * buffering a huge body; the rest is drained (stopping early would destroy the socket).
 */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    if (size <= MAX_BODY_BYTES) chunks.push(buffer);
    size += buffer.length;
  }
  return size === 0 ? undefined : Buffer.concat(chunks).toString("utf8");
}
