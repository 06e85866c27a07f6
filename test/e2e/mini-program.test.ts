/**
 * The mini-program example's wiring (examples/mini-program/utils/broker.js) with the real
 * cos-wx-sdk-v5 in Node, on a stand-in for the WeChat runtime (support/wx.ts): uploadFile
 * takes its default path, PostObject through wx.uploadFile, signed with the credentials the
 * broker issues, into the loopback COS server.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AT, BUCKET, type CosStack, startCosStack } from "../support/cos.ts";
import { hsToken } from "../support/tokens.ts";
import { installWx } from "../support/wx.ts";

const require = createRequire(import.meta.url);
let stack: CosStack;
let work: string;
let photo: string;
let COS: new (options: Record<string, unknown>) => { uploadFile(params: Record<string, unknown>, callback: (error: any, data: any) => void): void };
let wiring: {
  brokerAuthorization(options: Record<string, unknown>): unknown;
  requestCredentials(options: Record<string, unknown>): Promise<Record<string, any>>;
};

beforeAll(async () => {
  stack = await startCosStack();
  const cos = new URL(stack.cos.url);
  installWx({ hostname: cos.hostname, port: Number(cos.port) });
  COS = require("cos-wx-sdk-v5");
  wiring = require("../../examples/mini-program/utils/broker.js");
  work = mkdtempSync(join(tmpdir(), "wx-"));
  photo = join(work, "photo.jpg");
  writeFileSync(photo, Buffer.from("a small photo"));
});
afterAll(async () => {
  await stack?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function uploader(token: string, options: { scopeLimit?: boolean } = {}) {
  const errors: string[] = [];
  const wx = (globalThis as unknown as { wx: { request: unknown } }).wx;
  const cos = new COS({
    getAuthorization: wiring.brokerAuthorization({
      request: wx.request,
      brokerUrl: `${stack.broker.url}/`,
      token: () => token,
      onError: (message: string) => errors.push(message),
      ...options,
    }),
  });
  const upload = (key: string) =>
    new Promise<{ error?: { statusCode?: number; error?: { Code?: string } }; data?: Record<string, unknown> }>((resolve) =>
      cos.uploadFile({ ...AT, Key: key, FilePath: photo }, (error, data) => resolve({ error, data })),
    );
  return { upload, errors };
}

describe("the mini-program example with cos-wx-sdk-v5", () => {
  it("uploads into the user's folder with PostObject", async () => {
    const alice = await hsToken({ sub: "alice" });
    const session = await wiring.requestCredentials({
      request: (globalThis as any).wx.request,
      brokerUrl: `${stack.broker.url}/`,
      token: alice,
      profile: "upload",
    });
    expect(session.prefix).toBe("users/alice/");
    const { upload } = uploader(alice);
    const from = stack.cos.calls.length;
    const result = await upload(`${session.prefix}photo.jpg`);
    expect(result.error).toBeFalsy();
    expect(stack.cos.storage.get(BUCKET, "users/alice/photo.jpg").body.toString()).toBe("a small photo");
    expect(stack.cos.calls.slice(from).map((call) => [call.operation, call.status])).toEqual([["PostObject", 200]]);
  });

  it("works with ScopeLimit: the credential names exactly the PostObject key", async () => {
    const { upload } = uploader(await hsToken({ sub: "alice" }), { scopeLimit: true });
    expect((await upload("users/alice/scoped.jpg")).error).toBeFalsy();
    const policy = [...stack.emulator.issued.values()].at(-1)!.policy as { statement: { action: string[]; resource: string[] }[] };
    expect(policy.statement).toEqual([
      { effect: "allow", action: ["name/cos:PostObject"], resource: [expect.stringMatching(/:examplebucket-1250000000\/users\/alice\/scoped\.jpg$/)] },
    ]);
  });

  it("is refused outside the user's folder, by COS", async () => {
    const result = await uploader(await hsToken({ sub: "alice" })).upload("users/bob/photo.jpg");
    expect(result.error).toMatchObject({ statusCode: 403, error: { Code: "AccessDenied" } });
  });

  it("reports the broker's refusal in words", async () => {
    const { upload, errors } = uploader("not-a-token");
    expect((await upload("users/alice/x.jpg")).error).toBeTruthy();
    expect(errors).toEqual(["Your login has expired or was not accepted. Sign in again."]);
  });
});
