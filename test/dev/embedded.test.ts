/** The embedded cloud `npm start` runs on: its COS server and WeChat emulator prefer the ports next to the broker's. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedCloud } from "../../dev/embedded.ts";
import { ledgered } from "../support/capture.ts";

describe("startEmbeddedCloud", () => {
  let holder: Server;
  let held: number;
  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((done) => holder.listen(0, "127.0.0.1", done));
    held = (holder.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((done) => holder.close(() => done())));

  it("runs the WeChat emulator for the dev mini-program, and takes any free port when a preferred one is taken", async () => {
    const cloud = await startEmbeddedCloud({}, { emulator: ledgered(), cosPort: held, wechat: { port: held } });
    try {
      expect([cloud.cos?.port, cloud.wechat?.port]).not.toContain(held);
      expect(cloud.env).toMatchObject({ WECHAT_APPID: "wx0000000000000000", WECHAT_API_ENDPOINT: cloud.wechat?.url, COS_ENDPOINT: cloud.cos?.url });
    } finally {
      await cloud.close();
    }
  });

  it("runs no WeChat emulator when a real app secret is configured", async () => {
    const cloud = await startEmbeddedCloud({ WECHAT_APPID: "wx1234567890abcdef", WECHAT_APP_SECRET: "f".repeat(32) }, { emulator: ledgered() });
    try {
      expect(cloud.wechat).toBeUndefined();
      expect(cloud.env.WECHAT_API_ENDPOINT).toBeUndefined();
    } finally {
      await cloud.close();
    }
  });
});
