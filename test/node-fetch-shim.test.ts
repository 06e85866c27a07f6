/**
 * The node-fetch stand-in (scripts/shims/node-fetch.ts) against loopback servers: the
 * request and response surface the STS SDK uses, timeouts, aborts, agents, failures.
 */
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import FormData from "../scripts/shims/form-data.ts";
import fetch, { AbortError, FetchError } from "../scripts/shims/node-fetch.ts";

type Route = (req: IncomingMessage, body: string, res: ServerResponse) => void;
const routes: Record<string, Route> = {
  "/echo": (req, body, res) => res.writeHead(200, "Fine", { "Content-Type": "application/json", "X-TC-TraceId": "t-1" }).end(JSON.stringify({ method: req.method, headers: req.headers, body })),
  "/html": (_req, _body, res) => res.writeHead(502, { "Content-Type": "text/html" }).end("<h1>Bad Gateway</h1>"),
  "/hang": () => {},
  "/slow-body": (_req, _body, res) => res.writeHead(200, { "Content-Type": "application/json" }).write('{"partial":'),
};

describe("node-fetch shim", () => {
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
  afterAll(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));

  it("sends method, headers and body as the SDK gives them, and reads status, headers and JSON back", async () => {
    const response = await fetch(`${base}/echo`, { method: "post", headers: { "X-TC-Timestamp": 1767225600, "X-TC-Token": undefined, "Content-Type": "application/json" }, body: '{"Name":"é"}' });
    expect([response.status, response.statusText, response.ok]).toEqual([200, "Fine", true]);
    expect(response.headers.get("x-tc-traceid")).toBe("t-1");
    expect(response.headers.get("X-Missing")).toBeNull();
    const echoed = (await response.json()) as { method: string; headers: Record<string, string>; body: string };
    expect(echoed.method).toBe("POST");
    expect(echoed.body).toBe('{"Name":"é"}');
    // node-fetch v2 closes the connection when no agent is given, and counts bytes, not characters.
    expect(echoed.headers).toMatchObject({ "x-tc-timestamp": "1767225600", "content-length": "13", connection: "close", accept: "*/*" });
    expect(echoed.headers).not.toHaveProperty("x-tc-token");
  });

  it("hands back non-2xx answers for the SDK to judge, with text() and a readable body", async () => {
    const response = await fetch(`${base}/html`);
    expect([response.status, response.ok]).toEqual([502, false]);
    expect(await response.text()).toBe("<h1>Bad Gateway</h1>");
  });

  it("names the URL when the body is not JSON", async () => {
    const response = await fetch(`${base}/html`);
    await expect(response.json()).rejects.toMatchObject({ name: "FetchError", type: "invalid-json", message: expect.stringContaining(`${base}/html`) });
  });

  it("gives up at `timeout` with node-fetch's request-timeout error, before and during the body", async () => {
    await expect(fetch(`${base}/hang`, { timeout: 100 })).rejects.toMatchObject({ type: "request-timeout", message: `network timeout at: ${base}/hang` });
    const response = await fetch(`${base}/slow-body`, { timeout: 100 });
    await expect(response.json()).rejects.toBeInstanceOf(FetchError);
  });

  it("stops on abort, and does not start when the signal is already aborted", async () => {
    const controller = new AbortController();
    const pending = fetch(`${base}/hang`, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    await expect(fetch(`${base}/echo`, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError", message: "The user aborted a request." });
  });

  it("sends through the agent it is given (how https-proxy-agent gets in), keeping the connection open", async () => {
    const agent = new Agent({ keepAlive: true });
    let connections = 0;
    const original = agent.createConnection.bind(agent);
    agent.createConnection = ((...args: Parameters<typeof original>) => (connections++, original(...args))) as typeof agent.createConnection;
    const first = (await (await fetch(`${base}/echo`, { agent })).json()) as { headers: Record<string, string> };
    await (await fetch(`${base}/echo`, { agent })).text();
    expect(first.headers.connection).toBe("keep-alive");
    expect(connections).toBe(1);
    agent.destroy();
  });

  it("reports network failures as node-fetch does, with the system error code", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(fetch(url)).rejects.toMatchObject({ type: "system", code: "ECONNREFUSED", message: expect.stringMatching(/^request to .* failed, reason: /) });
  });

  it("stands in for form-data only to refuse multipart loudly", () => {
    expect(() => new FormData()).toThrow(/multipart requests are not supported/);
  });
});
