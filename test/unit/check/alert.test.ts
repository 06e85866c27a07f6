/** lib/alert against a loopback webhook receiver. */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { alertBody, MAX_ALERT_BYTES, sendAlert, truncateUtf8 } from "../../../lib/check/alert.ts";
import type { AlertTarget } from "../../../lib/check/config.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../../support/webhook.ts";

let receiver: WebhookReceiver;
let target: AlertTarget;
const deadline = () => Date.now() + 10_000;

beforeEach(async () => {
  receiver = await startWebhookReceiver();
  target = { url: new URL(receiver.url), format: "wecom" };
});
afterEach(() => receiver.close());

describe("alertBody", () => {
  it("speaks WeCom's text message and Slack's incoming-webhook shape", () => {
    expect(JSON.parse(alertBody("wecom", "hi"))).toEqual({ msgtype: "text", text: { content: "hi" } });
    expect(JSON.parse(alertBody("slack", "hi"))).toEqual({ text: "hi" });
  });

  it("keeps the text under WeCom's 2048-byte limit without splitting a character", () => {
    const content = JSON.parse(alertBody("wecom", "检查失败".repeat(400))).text.content as string;
    expect(Buffer.byteLength(content)).toBeLessThanOrEqual(MAX_ALERT_BYTES);
    expect(content.endsWith("...")).toBe(true);
    expect(content).not.toContain("\uFFFD");
    expect(truncateUtf8("short", 10)).toBe("short");
  });

  it("always yields JSON of the right shape, within the limit, holding a prefix of the message", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 3000 }), fc.constantFrom("wecom" as const, "slack" as const), (message, format) => {
        const parsed = JSON.parse(alertBody(format, message));
        const content: string = format === "slack" ? parsed.text : parsed.text.content;
        expect(Object.keys(parsed)).toEqual(format === "slack" ? ["text"] : ["msgtype", "text"]);
        expect(Buffer.byteLength(content)).toBeLessThanOrEqual(MAX_ALERT_BYTES);
        expect(message.startsWith(content) || (content.endsWith("...") && message.startsWith(content.slice(0, -3)))).toBe(true);
      }),
    );
  });
});

describe("sendAlert", () => {
  it("posts once when the robot answers errcode 0", async () => {
    const result = await sendAlert(target, "check failed", { deadline: deadline() });
    expect(result).toEqual({ sent: true, attempts: 1, detail: "HTTP 200" });
    expect(receiver.bodies).toEqual([{ msgtype: "text", text: { content: "check failed" } }]);
  });

  it("retries a 5xx, a reset connection and a busy robot, then succeeds", async () => {
    receiver.replies.push({ status: 502 }, "reset");
    expect(await sendAlert(target, "x", { deadline: deadline() })).toMatchObject({ sent: true, attempts: 3 });
    receiver.replies.push({ status: 200, body: '{"errcode":-1,"errmsg":"system busy"}' });
    expect(await sendAlert(target, "x", { deadline: deadline() })).toMatchObject({ sent: true, attempts: 2 });
  });

  it("gives up after three attempts", async () => {
    receiver.replies.push({ status: 500 }, { status: 503 }, { status: 500 }, { status: 200 });
    expect(await sendAlert(target, "x", { deadline: deadline() })).toEqual({ sent: false, attempts: 3, detail: "HTTP 500" });
  });

  it("does not retry what a retry cannot fix: a 4xx, or a WeCom error code", async () => {
    receiver.replies.push({ status: 400, body: "invalid_payload" });
    expect(await sendAlert({ ...target, format: "slack" }, "x", { deadline: deadline() })).toEqual({ sent: false, attempts: 1, detail: "HTTP 400" });
    receiver.replies.push({ status: 200, body: '{"errcode":93000,"errmsg":"invalid webhook url"}' });
    expect(await sendAlert(target, "x", { deadline: deadline() })).toEqual({ sent: false, attempts: 1, detail: "errcode 93000" });
  });

  it("times out a hung robot and stops at the deadline, never naming the URL", async () => {
    receiver.replies.push("hang", "hang", "hang");
    const started = Date.now();
    const result = await sendAlert(target, "x", { deadline: started + 1500 });
    expect(result.sent).toBe(false);
    expect(result.detail).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(5000);
    expect(JSON.stringify(result)).not.toContain("test-robot-key");
  });

  it("reports an unreachable robot as a network error", async () => {
    await receiver.close();
    const result = await sendAlert(target, "x", { deadline: Date.now() + 3000 });
    expect(result).toMatchObject({ sent: false, detail: "network error" });
    expect(result.attempts).toBeGreaterThan(1);
  });
});
