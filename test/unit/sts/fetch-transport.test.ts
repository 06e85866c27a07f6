/** lib/sts/fetch-transport.ts against a loopback server, through the global fetch: what it sends, what it hands back, timeouts, failures (pooling connections is the runtime's fetch's own). */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchTransport } from "../../../lib/sts/fetch-transport.ts";
import { type SignedRequest, TransportTimeout } from "../../../lib/sts/tc3.ts";

type Route = (req: IncomingMessage, body: string, res: ServerResponse) => void;
const routes: Record<string, Route> = {
  "/echo": (req, body, res) => res.writeHead(200, "Fine", { "Content-Type": "application/json" }).end(JSON.stringify({ headers: req.headers, body })),
  "/html": (_req, _body, res) => res.writeHead(502, "Bad Gateway", { "Content-Type": "text/html" }).end("<h1>Bad Gateway</h1>"),
  "/moved": (_req, _body, res) => res.writeHead(302, "Found", { Location: "/echo" }).end(),
  "/hang": () => {},
  "/slow-body": (_req, _body, res) => res.writeHead(200, { "Content-Type": "application/json" }).write('{"partial":'),
};

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => routes[req.url ?? ""]?.(req, body, res));
  });
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

/** As signStsCall makes it: Host among the signed headers. */
const post = (path: string, body = '{"Name":"é"}'): SignedRequest => ({
  url: `${base}${path}`,
  method: "POST",
  headers: { Host: base.slice("http://".length), "Content-Type": "application/json", "X-TC-Action": "AssumeRole" },
  body,
});
const roomy = 5000;

describe("fetchTransport", () => {
  it("sends the signed headers and body, the Host the URL's own, the length in bytes", async () => {
    const answer = await fetchTransport()(post("/echo"), roomy);
    expect([answer.status, answer.statusText]).toEqual([200, "Fine"]);
    const echoed = JSON.parse(answer.body) as { headers: Record<string, string>; body: string };
    expect(echoed.body).toBe('{"Name":"é"}');
    expect(echoed.headers).toMatchObject({
      host: base.slice("http://".length),
      "content-type": "application/json",
      "x-tc-action": "AssumeRole",
      "content-length": "13",
    });
  });

  it("hands back a non-2xx answer, and a redirect, with status text and body, for the client to judge", async () => {
    expect(await fetchTransport()(post("/html"), roomy)).toEqual({ status: 502, statusText: "Bad Gateway", body: "<h1>Bad Gateway</h1>" });
    expect((await fetchTransport()(post("/moved"), roomy)).status).toBe(302);
  });

  it("gives up when its time runs out, before the answer or while its body streams, with a TransportTimeout", async () => {
    await expect(fetchTransport()(post("/hang"), 100)).rejects.toThrow(new TransportTimeout(`request to ${base}/hang got no answer within 100 ms`));
    await expect(fetchTransport()(post("/slow-body"), 100)).rejects.toBeInstanceOf(TransportTimeout);
  });

  it("reports a network failure naming the URL and the system error, nothing else", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(fetchTransport()({ ...post("/"), url }, roomy)).rejects.toThrow(new RegExp(`^request to ${url} failed, reason: connect ECONNREFUSED`));
  });

  it("sends through the fetch it is handed", async () => {
    const seen: string[] = [];
    const answer = await fetchTransport(async (input, init) => {
      seen.push(`${init?.method} ${String(input)}`);
      return new Response("{}", { status: 200, statusText: "OK" });
    })(post("/anywhere"), roomy);
    expect(answer).toEqual({ status: 200, statusText: "OK", body: "{}" });
    expect(seen).toEqual([`POST ${base}/anywhere`]);
  });
});
