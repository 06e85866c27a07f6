import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../lib/broker/app.ts";
import { createLogger } from "../../../lib/shared/log.ts";
import { nodeTransport } from "../../../lib/sts/node-transport.ts";
import { capturingSink } from "../../support/capture.ts";

const valid = {
  COS_BUCKET: "b-1250000000",
  COS_REGION: "ap-guangzhou",
  JWT_SECRET: randomBytes(32).toString("base64"),
  STS_SECRET_ID: "i",
  STS_SECRET_KEY: "k",
};
const request = { method: "POST", path: "/", headers: {}, query: {}, body: undefined, requestId: "r1" };

describe("createApp", () => {
  it("wires a working handler from a valid environment", async () => {
    const app = createApp({ env: valid, logger: createLogger(capturingSink(() => {})), stsTransport: nodeTransport({}) });
    expect(app.ok).toBe(true);
    expect((await app.handle(request)).status).toBe(401);
  });

  it("needs a way to reach STS from its adapter: a transport, or a whole client", () => {
    expect(() => createApp({ env: valid, logger: createLogger(capturingSink(() => {})) })).toThrow(/needs an stsClient or an stsTransport/);
  });

  it("logs every configuration problem once, at level error, and refuses every request with them", async () => {
    const lines: string[] = [];
    const app = createApp({ env: { COS_REGION: "ap-guangzhou" }, logger: createLogger(capturingSink((line) => lines.push(line))) });
    expect(app.ok).toBe(false);
    const logged = lines.map((line) => JSON.parse(line));
    expect(logged).toEqual([expect.objectContaining({ level: "error", event: "config_error", code: "ConfigError" })]);
    // No bucket, no JWT source, no STS key: all three in the one line, not one per restart.
    expect(logged[0].message).toMatch(/^3 configuration problems: COS_BUCKET is required.* \| STS_SECRET_ID is not set.* \| JWT_SECRET is not set/);
    for (const method of ["POST", "OPTIONS"]) {
      const response = await app.handle({ ...request, method });
      expect(response.status).toBe(500);
      expect(JSON.parse(response.body).error.message).toBe(logged[0].message);
    }
  });
});
