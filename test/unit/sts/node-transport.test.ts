/** lib/sts/node-transport.ts against loopback servers: what it sends, what it hands back, timeouts, kept-alive connections, failures, http_proxy. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeTransport } from "../../../lib/sts/node-transport.ts";
import { type SignedRequest, TransportTimeout } from "../../../lib/sts/tc3.ts";
import { fakeClock } from "../../support/clock.ts";
import { startConnectProxy } from "../../support/proxy.ts";

type Route = (req: IncomingMessage, body: string, res: ServerResponse) => void;
const routes: Record<string, Route> = {
  "/echo": (req, body, res) => res.writeHead(200, "Fine", { "Content-Type": "application/json" }).end(JSON.stringify({ headers: req.headers, body })),
  "/html": (_req, _body, res) => res.writeHead(502, "Bad Gateway", { "Content-Type": "text/html" }).end("<h1>Bad Gateway</h1>"),
  "/hang": () => {},
  "/slow-body": (_req, _body, res) => res.writeHead(200, { "Content-Type": "application/json" }).write('{"partial":'),
};

let server: Server;
let base: string;
let connections = 0;
/** Drop the next request that arrives on a connection already used, as a server that timed it out would. */
let dropNextReused = false;
const served = new WeakSet<object>();

beforeAll(async () => {
  server = createServer((req, res) => {
    if (served.has(req.socket) && dropNextReused) {
      dropNextReused = false;
      return void req.socket.resetAndDestroy();
    }
    served.add(req.socket);
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => routes[req.url ?? ""]?.(req, body, res));
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
);

const post = (path: string, body = '{"Name":"é"}'): SignedRequest => ({
  url: `${base}${path}`,
  method: "POST",
  headers: { "Content-Type": "application/json", "X-TC-Action": "AssumeRole" },
  body,
});
const roomy = () => 5000;

describe("nodeTransport", () => {
  it("sends the signed headers and body as they are, with the length in bytes", async () => {
    const answer = await nodeTransport({})(post("/echo"), roomy());
    expect([answer.status, answer.statusText]).toEqual([200, "Fine"]);
    const echoed = JSON.parse(answer.body) as { headers: Record<string, string>; body: string };
    expect(echoed.body).toBe('{"Name":"é"}');
    expect(echoed.headers).toMatchObject({ "content-type": "application/json", "x-tc-action": "AssumeRole", "content-length": "13" });
  });

  it("hands back a non-2xx answer with its status text and body, for the client to judge", async () => {
    expect(await nodeTransport({})(post("/html"), roomy())).toEqual({ status: 502, statusText: "Bad Gateway", body: "<h1>Bad Gateway</h1>" });
  });

  it("gives up when its time runs out, before the answer or while its body streams, with a TransportTimeout", async () => {
    const transport = nodeTransport({});
    await expect(transport(post("/hang"), 100)).rejects.toThrow(new TransportTimeout(`request to ${base}/hang got no answer within 100 ms`));
    await expect(transport(post("/slow-body"), 100)).rejects.toBeInstanceOf(TransportTimeout);
  });

  it("keeps one connection for calls in a row", async () => {
    const transport = nodeTransport({});
    const before = connections;
    await transport(post("/echo"), roomy());
    await transport(post("/echo"), roomy());
    expect(connections - before).toBe(1);
  });

  it("does not reuse a connection idle for longer than a few seconds", async () => {
    const clock = fakeClock();
    const transport = nodeTransport({}, clock);
    const before = connections;
    await transport(post("/echo"), roomy());
    clock.advance(3000);
    await transport(post("/echo"), roomy());
    expect(connections - before).toBe(1);
    clock.advance(4001);
    await transport(post("/echo"), roomy());
    expect(connections - before).toBe(2);
  });

  it("retries once on a new connection when a kept-alive one turns out closed", async () => {
    const transport = nodeTransport({});
    await transport(post("/echo"), roomy());
    dropNextReused = true;
    const before = connections;
    const answer = await transport(post("/echo", "again"), roomy());
    expect((JSON.parse(answer.body) as { body: string }).body).toBe("again");
    expect(connections - before).toBe(1);
    expect(dropNextReused).toBe(false);
  });

  it("reports a network failure naming the URL and the system error, nothing else", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(nodeTransport({})({ ...post("/"), url }, roomy())).rejects.toThrow(new RegExp(`^request to ${url} failed, reason: connect ECONNREFUSED`));
  });

  it("goes through http_proxy when it is set, read at each call, with a new tunnel per call", async () => {
    const proxy = await startConnectProxy();
    const env: Record<string, string> = {};
    const transport = nodeTransport(env);
    try {
      await transport(post("/echo"), roomy());
      expect(proxy.tunnels).toEqual([]);
      env.http_proxy = proxy.url;
      await transport(post("/echo"), roomy());
      await transport(post("/echo"), roomy());
      expect(proxy.tunnels).toEqual([base.slice("http://".length), base.slice("http://".length)]);
    } finally {
      await proxy.close();
    }
  });
});
