import { describe, expect, it } from "vitest";
import { createApp } from "../../../lib/broker/app.ts";
import { createLogger } from "../../../lib/shared/log.ts";
import { nodeTransport } from "../../../lib/sts/node-transport.ts";
import { capturingSink } from "../../support/capture.ts";

const valid = { COS_BUCKET: "b-1250000000", COS_REGION: "ap-guangzhou", JWT_SECRET: "s".repeat(32), STS_SECRET_ID: "i", STS_SECRET_KEY: "k" };
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

  it("logs the configuration error once and refuses every request with it", async () => {
    const lines: string[] = [];
    const app = createApp({ env: { COS_REGION: "ap-guangzhou" }, logger: createLogger(capturingSink((line) => lines.push(line))) });
    expect(app.ok).toBe(false);
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ event: "config_error", code: "ConfigError", message: expect.stringContaining("COS_BUCKET") }),
    ]);
    for (const method of ["POST", "OPTIONS"]) {
      const response = await app.handle({ ...request, method });
      expect(response.status).toBe(500);
      expect(JSON.parse(response.body).error.message).toContain("COS_BUCKET is required");
    }
  });
});
