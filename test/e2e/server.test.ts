/**
 * What the server (functions/server) adds around the broker, over real sockets: who the client
 * is behind proxies, the health path, the caps and timeouts on what a client sends, keep-alive,
 * and a shutdown that lets requests finish. The broker's own answers are the contract suite's
 * (test/e2e/contract.test.ts), run against this server as against the other adapters.
 */
import { once } from "node:events";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type BrokerServer, startServer } from "../../functions/server/index.ts";
import { loadServerSettings } from "../../functions/server/settings.ts";
import type { Env } from "../../lib/shared/env.ts";
import { skippingClock } from "../support/clock.ts";
import { brokerEnv, type Harness, startHarness, testLogger } from "../support/harness.ts";
import { hsToken } from "../support/tokens.ts";

let harness: Harness | undefined;
let server: BrokerServer | undefined;
let lines: string[] = [];

afterEach(async () => {
  await server?.close();
  await harness?.close();
  server = harness = undefined;
  lines = [];
});

async function start(serverEnv: Env = {}, brokerExtra: Env = {}): Promise<BrokerServer> {
  harness = await startHarness();
  const settings = { ...loadServerSettings(serverEnv), host: "127.0.0.1", port: 0 };
  server = await startServer({
    env: brokerEnv(harness.emulator, brokerExtra),
    settings,
    logger: testLogger((line) => lines.push(line)),
    clock: skippingClock(),
  });
  return server;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function send(options: { method?: string; path?: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${server!.origin}${options.path ?? "/"}`, { method: options.method ?? "POST", headers: options.headers, agent: false }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Raw bytes on a socket; resolves with everything the server wrote before it closed. */
function raw(bytes: string, { keepOpen = false } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server!.port, "127.0.0.1", () => (keepOpen ? socket.write(bytes) : socket.end(bytes)));
    let received = "";
    socket.on("data", (chunk) => (received += chunk.toString()));
    socket.on("close", () => resolve(received));
    socket.on("error", reject);
  });
}

const requestLines = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === "request");

describe("the client's address", () => {
  const ask = async (forwardedFor?: string) => {
    await send({ headers: { authorization: `Bearer ${await hsToken()}`, ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}) } });
    return requestLines().at(-1)?.sourceIp;
  };

  it("is the socket's peer, whatever X-Forwarded-For says, unless TRUST_PROXY says otherwise", async () => {
    await start();
    expect(await ask()).toBe("127.0.0.1");
    expect(await ask("203.0.113.9")).toBe("127.0.0.1");
  });

  it("with TRUST_PROXY=1, is the address the one proxy in front appended, never one the client wrote before it", async () => {
    await start({ TRUST_PROXY: "1" });
    expect(await ask("198.51.100.7")).toBe("198.51.100.7");
    expect(await ask("6.6.6.6, 198.51.100.7")).toBe("198.51.100.7");
    // No header: the proxy's own address is all there is.
    expect(await ask()).toBe("127.0.0.1");
  });

  it("with TRUST_PROXY=2, skips two hops from the socket", async () => {
    await start({ TRUST_PROXY: "2" });
    expect(await ask("6.6.6.6, 198.51.100.7, 10.0.0.2")).toBe("198.51.100.7");
  });

  it("with TRUST_PROXY naming the proxies' addresses, is the first hop that is not one of them; one that is no address is unknown", async () => {
    await start({ TRUST_PROXY: "127.0.0.1, 10.0.0.0/8" });
    expect(await ask("6.6.6.6, 198.51.100.7, 10.1.2.3")).toBe("198.51.100.7");
    expect(await ask("10.9.9.9")).toBe("10.9.9.9");
    expect(await ask("not-an-ip, 10.1.2.3")).toBeNull();
  });
});

describe("the health path", () => {
  it("answers 200 with nothing to read in it, and writes no log line", async () => {
    await start();
    const answer = await send({ method: "GET", path: "/healthz" });
    expect(answer).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    expect(answer.headers["cache-control"]).toBe("no-store");
    expect((await send({ method: "HEAD", path: "/healthz" })).status).toBe(200);
    expect(requestLines()).toEqual([]);
  });

  it("answers 503 while the broker's configuration is refused, naming nothing", async () => {
    await start({}, { COS_BUCKET: "" });
    expect(await send({ method: "GET", path: "/healthz" })).toMatchObject({ status: 503, body: '{"status":"unavailable"}' });
  });
});

describe("what a client may send", () => {
  it("headers over 32 KB: 413 PayloadTooLarge in the broker's shape, one log line, and the connection closes", async () => {
    await start();
    const answer = await raw(`GET /?${"a".repeat(33 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`, { keepOpen: true });
    expect(answer).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
    expect(answer).toContain("Connection: close");
    expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))).toEqual({
      error: { code: "PayloadTooLarge", message: expect.stringContaining("32 KB") },
      requestId: expect.any(String),
    });
    expect(requestLines()).toEqual([expect.objectContaining({ status: 413, code: "PayloadTooLarge", sourceIp: "127.0.0.1" })]);
  });

  it("a request that is not HTTP: 400 BadRequest", async () => {
    await start();
    const answer = await raw("HELLO\r\n\r\n", { keepOpen: true });
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(answer).toContain('"code":"BadRequest"');
  });

  it("a body over the limit, however long: 413 as soon as the limit is passed, the rest unread, the connection closed", async () => {
    await start();
    const token = await hsToken();
    // Declares 100 MB and sends 20 KB: the answer comes without the rest ever arriving.
    const answer = await raw(`POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 104857600\r\n\r\n${"x".repeat(20_000)}`, {
      keepOpen: true,
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/Connection: close/i);
    expect(harness!.emulator.stsCallCount()).toBe(0);
  });

  it("a client that stalls mid-request is cut off at REQUEST_TIMEOUT_MS with 408", async () => {
    await start({ REQUEST_TIMEOUT_MS: "1000" });
    const started = Date.now();
    const answer = await raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", { keepOpen: true });
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    // A real socket timeout is the thing under test; Node checks once a second.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(lines.map((line) => JSON.parse(line).event)).toContain("client_timeout");
  });
});

describe("keep-alive", () => {
  it("answers several requests on one connection, and closes it after KEEP_ALIVE_TIMEOUT_MS idle", async () => {
    await start({ KEEP_ALIVE_TIMEOUT_MS: "1000" });
    const twice = `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`;
    const started = Date.now();
    const answer = await raw(twice, { keepOpen: true });
    expect(answer.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe("shutting down", () => {
  it("stops accepting, lets a request in flight finish, and reports it finished", async () => {
    await start({ SHUTDOWN_TIMEOUT_MS: "5000" });
    harness!.emulator.inject({ kind: "delay", ms: 300 }, { times: 1 });
    const token = await hsToken();
    const arrived = once(server!.server, "request");
    const inFlight = send({ headers: { authorization: `Bearer ${token}` } });
    await arrived;
    const outcome = server!.shutdown();
    await expect(send({ method: "GET", path: "/healthz" })).rejects.toThrow(/ECONNREFUSED/);
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.headers.connection).toBe("close");
    expect(await outcome).toEqual({ finished: 1, cut: 0 });
  });

  it("cuts a request still running at SHUTDOWN_TIMEOUT_MS, and says so", async () => {
    await start({ SHUTDOWN_TIMEOUT_MS: "200" });
    harness!.emulator.inject({ kind: "hang" });
    const token = await hsToken();
    const arrived = once(server!.server, "request");
    const inFlight = send({ headers: { authorization: `Bearer ${token}` } }).catch((error: Error) => error);
    await arrived;
    expect(await server!.shutdown()).toEqual({ finished: 0, cut: 1 });
    expect(await inFlight).toBeInstanceOf(Error);
  });
});

describe("the request id", () => {
  it("is the front end's when REQUEST_ID_HEADER names it and it looks like an id; a fresh one otherwise", async () => {
    await start({ REQUEST_ID_HEADER: "X-Scf-Request-Id" });
    const given = await send({ headers: { "x-scf-request-id": "b9c6f3a0-1e2d-4c5b-8a79-0f1e2d3c4b5a" } });
    expect(JSON.parse(given.body).requestId).toBe("b9c6f3a0-1e2d-4c5b-8a79-0f1e2d3c4b5a");
    const odd = await send({ headers: { "x-scf-request-id": "<script>" } });
    expect(JSON.parse(odd.body).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("its settings", () => {
  it("refuses bad values all at once, each naming its variable and the fix", () => {
    expect(() => loadServerSettings({ PORT: "http", TRUST_PROXY: "proxy.example", REQUEST_ID_HEADER: "a b", SHUTDOWN_TIMEOUT_MS: "-1" })).toThrow(
      /4 configuration problems: PORT must be .*\| TRUST_PROXY has no address or CIDR range in 'proxy\.example'.*\| REQUEST_ID_HEADER is not a header name.*\| SHUTDOWN_TIMEOUT_MS/,
    );
    expect(loadServerSettings({})).toEqual({
      port: 9000,
      host: "0.0.0.0",
      trustProxy: { hops: 0 },
      keepAliveTimeoutMs: 5000,
      requestTimeoutMs: 10_000,
      shutdownTimeoutMs: 10_000,
    });
  });
});
