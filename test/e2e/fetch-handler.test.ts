/**
 * What only the Fetch handler (functions/fetch) does: where the client's address comes from on
 * each runtime. Its answers are the contract suite's (test/e2e/contract.test.ts); the built
 * module runs under Node and Deno in test/build/fetch-bundle.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFetchHandler } from "../../functions/fetch/index.ts";
import { type Harness, startHarness, testLogger } from "../support/harness.ts";
import { hsToken } from "../support/tokens.ts";

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(() => harness.close());

async function sourceIpOf(options: Parameters<typeof createFetchHandler>[0], connection?: unknown, headers: Record<string, string> = {}) {
  const lines: string[] = [];
  const handler = createFetchHandler({ env: harness.env, logger: testLogger((line) => lines.push(line)), ...options });
  const request = new Request("http://broker.test/", { method: "POST", headers: { authorization: `Bearer ${await hsToken()}`, ...headers } });
  expect((await handler.fetch(request, connection)).status).toBe(200);
  return JSON.parse(lines.at(-1)!).sourceIp as string | null;
}

describe("the client's address", () => {
  it("is what the runtime says: Deno's remoteAddr, Bun's requestIP", async () => {
    expect(await sourceIpOf({}, { remoteAddr: { transport: "tcp", hostname: "203.0.113.9", port: 1 } })).toBe("203.0.113.9");
    expect(await sourceIpOf({}, { requestIP: () => ({ address: "198.51.100.2", family: "IPv4", port: 1 }) })).toBe("198.51.100.2");
  });

  it("is unknown where the runtime says nothing, and never read from a header the client wrote", async () => {
    expect(await sourceIpOf({}, undefined, { "x-forwarded-for": "6.6.6.6", "cf-connecting-ip": "6.6.6.6" })).toBeNull();
  });

  it("is what clientAddress reads, where the platform's edge sets a header of its own", async () => {
    const fromEdge = (request: Request) => request.headers.get("cf-connecting-ip");
    expect(await sourceIpOf({ clientAddress: fromEdge }, undefined, { "cf-connecting-ip": "192.0.2.44" })).toBe("192.0.2.44");
  });
});
