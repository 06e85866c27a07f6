/**
 * The scheduled check with WeChat login on: it proves WeChat accepts the broker's appid and
 * secret (a made-up code is refused as such), and with WeChat login alone its canary is a
 * WeChat user, fenced into wx/__canary/ (docs/scheduled-check.md).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CheckStack, startCheckStack, timerEvent } from "../support/check.ts";
import { startTestWechat, type TestWechat, WECHAT_APPID } from "../support/wechat.ts";

let stack: CheckStack;
let wechat: TestWechat;
beforeAll(async () => {
  [stack, wechat] = await Promise.all([startCheckStack(), startTestWechat()]);
});
afterAll(async () => {
  await Promise.all([stack?.close(), wechat?.emulator.close()]);
});

type Result = { name: string; status: string; detail: string };

async function run(extra: Record<string, string>) {
  const { handle, lines } = stack.handler({ ...wechat.env, ...extra });
  await handle(timerEvent(), { request_id: "scf-check-wx", getRemainingTimeInMillis: () => 30_000 }).catch(() => undefined);
  const report = lines.map((line) => JSON.parse(line) as { event?: string; results?: Result[] }).find((line) => line.event === "credential_check")!;
  expect(lines.join("\n")).not.toContain(wechat.env.WECHAT_APP_SECRET);
  return Object.fromEntries(report.results!.map((result) => [result.name, result]));
}

describe("the credential check with WeChat login", () => {
  it("passes when WeChat accepts the appid and the secret, asking with a code no user has", async () => {
    const before = wechat.emulator.calls.length;
    const byName = await run({});
    expect(byName["WeChat login"]).toMatchObject({ status: "pass", detail: expect.stringContaining(`accepts WECHAT_APPID ${WECHAT_APPID} and its secret`) });
    expect(wechat.emulator.calls.slice(before)).toEqual([{ appid: WECHAT_APPID, errcode: 40029 }]);
  });

  it("fails, naming the variables, when WeChat refuses the secret", async () => {
    const byName = await run({ WECHAT_APP_SECRET: randomBytes(16).toString("hex") });
    expect(byName["WeChat login"]).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/^ConfigError: WeChat refused the broker's WECHAT_APPID or WECHAT_APP_SECRET/),
    });
  });

  it("with WeChat login alone, fences a WeChat canary into its own folder", async () => {
    const byName = await run({ JWT_SECRET: "" });
    expect(byName.issuance).toMatchObject({ status: "pass", detail: expect.stringContaining("credentials for wx/__canary/") });
    expect(byName["fence probe"]).toMatchObject({
      status: "pass",
      detail: expect.stringContaining("PutObject wx/__canary-outside/credential-check.txt denied"),
    });
    expect(byName["identity provider keys"]).toMatchObject({ status: "skipped", detail: "not configured: only WeChat login is on" });
  });
});
