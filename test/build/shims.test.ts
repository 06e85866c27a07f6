/**
 * The bundle's shims (scripts/shims/): the node-fetch stand-in against loopback servers (the
 * request and response surface the STS SDK uses, timeouts, aborts, agents, failures), and
 * the json-bigint and form-data stand-ins against what they replace.
 */
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import FormData from "../../scripts/shims/form-data.ts";
import jsonBigint from "../../scripts/shims/json-bigint.ts";
import fetch, { AbortError, FetchError } from "../../scripts/shims/node-fetch.ts";
import { SSEResponseModel } from "../../scripts/shims/sse-response-model.ts";
import * as CommonRoot from "../../scripts/shims/tencentcloud-sdk-nodejs-common.ts";

type Route = (req: IncomingMessage, body: string, res: ServerResponse) => void;
const routes: Record<string, Route> = {
  "/echo": (req, body, res) =>
    res
      .writeHead(200, "Fine", { "Content-Type": "application/json", "X-TC-TraceId": "t-1" })
      .end(JSON.stringify({ method: req.method, headers: req.headers, body })),
  "/html": (_req, _body, res) => res.writeHead(502, { "Content-Type": "text/html" }).end("<h1>Bad Gateway</h1>"),
  "/hang": () => {},
  "/slow-body": (_req, _body, res) => res.writeHead(200, { "Content-Type": "application/json" }).write('{"partial":'),
};

describe("node-fetch shim", () => {
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

  it("sends method, headers and body as the SDK gives them, and reads status, headers and JSON back", async () => {
    const response = await fetch(`${base}/echo`, {
      method: "post",
      headers: { "X-TC-Timestamp": 1767225600, "X-TC-Token": undefined, "Content-Type": "application/json" },
      body: '{"Name":"é"}',
    });
    expect([response.status, response.statusText, response.ok]).toEqual([200, "Fine", true]);
    expect(response.headers.get("x-tc-traceid")).toBe("t-1");
    expect(response.headers.get("X-Missing")).toBeNull();
    const echoed = (await response.json()) as { method: string; headers: Record<string, string>; body: string };
    expect(echoed.method).toBe("POST");
    expect(echoed.body).toBe('{"Name":"é"}');
    // Content-Length counts bytes, not characters.
    expect(echoed.headers).toMatchObject({ "x-tc-timestamp": "1767225600", "content-length": "13", accept: "*/*" });
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

  it("keeps one connection for requests in a row, where node-fetch opened one per request", async () => {
    const before = connections;
    await (await fetch(`${base}/echo`)).text();
    await (await fetch(`${base}/echo`)).text();
    expect(connections - before).toBeLessThanOrEqual(1);
  });

  it("retries once on a new connection when a kept-alive one turns out closed", async () => {
    await (await fetch(`${base}/echo`)).text();
    dropNextReused = true;
    const before = connections;
    const response = await fetch(`${base}/echo`, { method: "POST", body: "again" });
    expect(((await response.json()) as { body: string }).body).toBe("again");
    expect(connections - before).toBe(1);
    expect(dropNextReused).toBe(false);
  });

  it("sends through the agent it is given (how https-proxy-agent gets in)", async () => {
    const agent = new Agent();
    let created = 0;
    const original = agent.createConnection.bind(agent);
    agent.createConnection = ((...args: Parameters<typeof original>) => {
      created++;
      return original(...args);
    }) as typeof agent.createConnection;
    await (await fetch(`${base}/echo`, { agent })).text();
    expect(created).toBe(1);
    agent.destroy();
  });

  it("reports network failures as node-fetch does, with the system error code", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(fetch(url)).rejects.toMatchObject({ type: "system", code: "ECONNREFUSED", message: expect.stringMatching(/^request to .* failed, reason: /) });
  });
});

describe("json-bigint and form-data shims", () => {
  it("serialize STS parameters (printable strings and numbers) to the very bytes json-bigint did", () => {
    // json-bigint is the SDK's own dependency; required from where the SDK finds it.
    const sdkRequire = createRequire(createRequire(import.meta.url).resolve("tencentcloud-sdk-nodejs-common"));
    const original = (sdkRequire("json-bigint") as (options: object) => { stringify(value: unknown): string })({ useNativeBigInt: true });
    const shim = jsonBigint();
    const text = fc.stringMatching(/^[\x20-\x7e]*$/);
    const params = fc.dictionary(text, fc.oneof(text, fc.integer(), fc.double({ noNaN: true }), fc.array(text), fc.dictionary(text, text)));
    fc.assert(fc.property(params, (value) => shim.stringify(value) === original.stringify(value)));
  });

  it("stand in for form-data only to refuse multipart loudly", () => {
    expect(() => new FormData()).toThrow(/multipart requests are not supported/);
  });
});

describe("the SDK's package root and SSE reader", () => {
  it("give sts_client.js the same AbstractClient the full root exports", () => {
    const sdkRequire = createRequire(import.meta.url);
    expect(CommonRoot.AbstractClient).toBe((sdkRequire("tencentcloud-sdk-nodejs-common") as typeof CommonRoot).AbstractClient);
  });

  it("refuse an event-stream answer loudly (no STS action gives one)", () => {
    expect(() => new SSEResponseModel()).toThrow(/event-stream answers are not supported/);
  });
});
