/**
 * The mini-program example's own page code (examples/mini-program/pages/upload/upload.js) with
 * the real cos-wx-sdk-v5 and the client helper, on a stand-in for the WeChat runtime
 * (support/wx.ts), against the broker, the WeChat login emulator and the loopback COS server:
 * wx.login's code becomes the user's folder `wx/<openid>/`, uploads go with putObject, the
 * list profile lists the folder, and COS refuses any other user's.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { requestCredentials } from "../../client/index.js";
import config from "../../examples/mini-program/config.js";
import { fencesOf, ROOT } from "../docs/blocks.ts";
import { BUCKET, type CosStack, startCosStack } from "../support/cos.ts";
import { hsToken } from "../support/tokens.ts";
import { startTestWechat, type TestWechat } from "../support/wechat.ts";
import { installWx, loadPage, type PageInstance, type WxControl } from "../support/wx.ts";

let stack: CosStack;
let wechat: TestWechat;
let phone: WxControl;
let uploadPage: { open(): PageInstance };
let work: string;
let photo: string;

beforeAll(async () => {
  wechat = await startTestWechat();
  stack = await startCosStack({ env: wechat.env });
  const cos = new URL(stack.cos.url);
  phone = installWx({ cos: { hostname: cos.hostname, port: Number(cos.port) } });
  uploadPage = await loadPage("../../examples/mini-program/pages/upload/upload.js");
  work = mkdtempSync(join(tmpdir(), "wx-"));
  photo = join(work, "photo.jpg");
  writeFileSync(photo, Buffer.from("a small photo"));
});
afterAll(async () => {
  await Promise.all([stack?.close(), wechat?.emulator.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** config.js pointed at this run's servers, as a developer points it at what npm start prints. */
beforeEach(() => {
  Object.assign(config, {
    brokerUrl: `${stack.broker.url}/`,
    cos: { Domain: `{Bucket}.cos.{Region}.localhost:${stack.cos.port}`, Protocol: "http:" },
    devLogin: undefined,
  });
  wechat.emulator.clearFaults();
});

/** Taps "Choose a photo and upload", and resolves once the upload the choice started has finished. */
function chooseAndUpload(page: PageInstance): Promise<void> {
  const upload = page.upload;
  return new Promise((resolve, reject) => {
    page.upload = (...args: unknown[]) => {
      const finished = upload.apply(page, args) as Promise<void>;
      finished.then(resolve, reject);
      return finished;
    };
    page.chooseAndUpload();
  });
}

/** The page opened by a WeChat user: wx.login gives a fresh code for `openid` each time. */
async function signedIn(openid: string): Promise<PageInstance> {
  phone.login = () => wechat.emulator.mint(openid);
  const page = uploadPage.open();
  await page.onLoad();
  return page;
}

describe("the mini-program example", () => {
  it("signs in with wx.login, uploads with putObject into wx/<openid>/ and lists it", async () => {
    const page = await signedIn("o_alice");
    expect(page.data).toMatchObject({ signedIn: true, prefix: "wx/o_alice/", failed: false, files: [] });

    const from = stack.cos.calls.length;
    phone.chosen = photo;
    await chooseAndUpload(page);
    expect(page.data.status).toBe("Uploaded wx/o_alice/photo.jpg");
    expect(stack.cos.storage.get(BUCKET, "wx/o_alice/photo.jpg").body.toString()).toBe("a small photo");
    expect(stack.cos.calls.slice(from).map((call) => [call.operation, call.status])).toEqual([
      ["PutObject", 200],
      ["GetBucket", 200],
    ]);
    expect(page.data).toMatchObject({ percent: 100, failed: false, files: [{ name: "photo.jpg", size: 13 }] });
  });

  it("is refused another user's folder, by COS, and says so", async () => {
    const page = await signedIn("o_alice");
    await page.upload(photo, "wx/o_bob/photo.jpg");
    expect(page.data).toMatchObject({ status: "Access denied: you may not use that folder.", failed: true, percent: 0 });
    expect(stack.cos.calls.at(-1)).toMatchObject({ operation: "PutObject", code: "AccessDenied" });
    expect(() => stack.cos.storage.get(BUCKET, "wx/o_bob/photo.jpg")).toThrow();

    await page.listFiles("wx/o_bob/");
    expect(stack.cos.calls.at(-1)).toMatchObject({ operation: "GetBucket", code: "AccessDenied" });
  });

  it("signs each user into their own folder, and a login-token user with the same id elsewhere", async () => {
    expect((await signedIn("o_bob")).data.prefix).toBe("wx/o_bob/");
    const token = await hsToken({ sub: "o_alice" });
    expect((await requestCredentials({ url: `${stack.broker.url}/`, token: () => token })).prefix).toBe("users/o_alice/");
  });

  it("shows WeChat's refusal of a blocked user in words", async () => {
    wechat.emulator.inject("blocked", { times: 1 });
    const page = await signedIn("o_mallory");
    expect(page.data).toMatchObject({ signedIn: false, failed: true });
    expect(page.data.status).toMatch(/^This WeChat account may not use the storage: /);
  });

  it("shows the broker's refusal of a later credential, through the SDK, with the broker's code", async () => {
    const page = await signedIn("o_alice");
    wechat.emulator.inject("blocked");
    await page.upload(photo);
    expect(page.data).toMatchObject({ failed: true, status: expect.stringMatching(/^This WeChat account may not use the storage: WeChat does not allow/) });
  });

  it("shows a failed wx.login in words", async () => {
    phone.login = () => {
      throw new Error("no network");
    };
    const page = uploadPage.open();
    await page.onLoad();
    expect(page.data).toMatchObject({ signedIn: false, failed: true, status: "WeChat login failed: wx.login failed: login:fail no network" });
  });

  it("signs in through npm start's WeChat emulator with config.devLogin", async () => {
    config.devLogin = { emulator: wechat.emulator.url, openid: "o_carol" };
    const page = uploadPage.open();
    await page.onLoad();
    expect(page.data).toMatchObject({ signedIn: true, prefix: "wx/o_carol/" });
  });

  it("runs the README's ten lines as a user copies them", async () => {
    const block = fencesOf("README.md", readFileSync(join(ROOT, "README.md"), "utf8")).find(
      (fence) => fence.lang === "js" && fence.text.includes("wechat: true"),
    );
    const replaced: [string, string][] = [
      ['"https://your-broker.example.com/"', JSON.stringify(`${stack.broker.url}/`)],
      ['from "cos-sts-broker-client"', `from ${JSON.stringify(pathToFileURL(join(ROOT, "client/index.js")).href)}`],
      ['from "cos-wx-sdk-v5"', `from ${JSON.stringify(pathToFileURL(join(ROOT, "node_modules/cos-wx-sdk-v5/index.js")).href)}`],
    ];
    let source = block?.text ?? "";
    for (const [from, to] of replaced) {
      expect(source).toContain(from);
      source = source.replace(from, to);
    }
    const file = join(work, "ten-lines.mjs");
    writeFileSync(file, source);
    const { uploadPhoto } = (await import(file)) as { uploadPhoto(path: string): Promise<unknown> };

    phone.login = () => wechat.emulator.mint("o_erin");
    await uploadPhoto(photo);
    expect(stack.cos.storage.get(BUCKET, "wx/o_erin/photo.jpg").body.toString()).toBe("a small photo");
    phone.login = () => "not-a-code-wechat-gave";
    await expect(uploadPhoto(photo)).rejects.toMatchObject({ name: "BrokerError", status: 401, code: "InvalidToken" });
  });
});
