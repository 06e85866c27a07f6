/** What `npm start` serves around the broker when it is not on embedded defaults: no dev tokens. */
import { describe, expect, it } from "vitest";
import { DEV_JWT_SECRET } from "../../dev/defaults.ts";
import { startDevStack } from "../../dev/stack.ts";
import type { Env } from "../../lib/shared/env.ts";
import { testLogger } from "../support/harness.ts";

async function devTokenRoute(env: Env) {
  const stack = await startDevStack(env, { logger: testLogger() });
  try {
    const config = (await (await fetch(`${stack.site.url}config.json`)).json()) as { devTokens: boolean };
    const minted = await fetch(`${stack.site.url}dev-token?sub=alice`);
    return { served: minted.status, devTokens: config.devTokens, broker: stack.broker.app };
  } finally {
    await stack.close();
  }
}

describe("the dev stack", () => {
  it("beside real STS refuses the dev secret and serves no /dev-token", async () => {
    const real = { COS_BUCKET: "examplebucket-1250000000", COS_REGION: "ap-guangzhou", STS_SECRET_ID: "AKIDexample", STS_SECRET_KEY: "example-key" };
    const { served, devTokens, broker } = await devTokenRoute({ ...real, JWT_SECRET: DEV_JWT_SECRET });
    expect(served).toBe(404);
    expect(devTokens).toBe(false);
    expect(broker.ok).toBe(false);
    expect(!broker.ok && broker.error.message).toMatch(/^JWT_SECRET is a secret published in this repository/);
  });

  it("beside the emulator, with a key set instead of the dev secret, serves no /dev-token", async () => {
    const { served, devTokens } = await devTokenRoute({ JWT_JWKS_URL: "http://127.0.0.1:9/jwks.json" });
    expect(served).toBe(404);
    expect(devTokens).toBe(false);
  });

  it("on embedded defaults serves /dev-token", async () => {
    const { served, devTokens } = await devTokenRoute({});
    expect(served).toBe(200);
    expect(devTokens).toBe(true);
  });
});
