/** lib/alert against a loopback webhook receiver. */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { alertBody, MAX_ALERT_BYTES, sendAlert, truncateUtf8 } from "../../../lib/check/alert.ts";
import type { AlertTarget } from "../../../lib/check/config.ts";
import { after, systemClock } from "../../../lib/shared/clock.ts";
import { fakeClock } from "../../support/clock.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../../support/webhook.ts";

let receiver: WebhookReceiver;
let target: AlertTarget;
/** The backoff on a clock that moves only when the code sleeps, with a fixed jitter and the deadline `ms` off. */
const paced = (ms = 10_000, clock = fakeClock()) => ({ deadline: after(clock.monotonic(), ms), clock, random: () => 0.5 });

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
    const result = await sendAlert(target, "check failed", paced());
    expect(result).toEqual({ sent: true, attempts: 1, detail: "HTTP 200" });
    expect(receiver.bodies).toEqual([{ msgtype: "text", text: { content: "check failed" } }]);
  });

  it("retries a 5xx, a reset connection and a busy robot, then succeeds", async () => {
    receiver.replies.push({ status: 502 }, "reset");
    const clock = fakeClock();
    expect(await sendAlert(target, "x", paced(10_000, clock))).toMatchObject({ sent: true, attempts: 3 });
    // 250 ms, then 500 ms, each times a jitter in [0.5, 1): 0.75 here.
    expect(clock.slept).toEqual([187.5, 375]);
    receiver.replies.push({ status: 200, body: '{"errcode":-1,"errmsg":"system busy"}' });
    expect(await sendAlert(target, "x", paced())).toMatchObject({ sent: true, attempts: 2 });
  });

  it("gives up after three attempts", async () => {
    receiver.replies.push({ status: 500 }, { status: 503 }, { status: 500 }, { status: 200 });
    expect(await sendAlert(target, "x", paced())).toEqual({ sent: false, attempts: 3, detail: "HTTP 500" });
  });

  it("does not start a pause that would end past the deadline", async () => {
    receiver.replies.push({ status: 500 }, { status: 500 }, { status: 500 });
    const clock = fakeClock();
    expect(await sendAlert(target, "x", paced(400, clock))).toEqual({ sent: false, attempts: 2, detail: "HTTP 500" });
    expect(clock.slept).toEqual([187.5]);
  });

  it("does not retry what a retry cannot fix: a 4xx, or a WeCom error code", async () => {
    receiver.replies.push({ status: 400, body: "invalid_payload" });
    expect(await sendAlert({ ...target, format: "slack" }, "x", paced())).toEqual({ sent: false, attempts: 1, detail: "HTTP 400" });
    receiver.replies.push({ status: 200, body: '{"errcode":93000,"errmsg":"invalid webhook url"}' });
    expect(await sendAlert(target, "x", paced())).toEqual({ sent: false, attempts: 1, detail: "errcode 93000" });
  });

  // A real socket timeout: the real clock, and a short deadline.
  it("times out a hung robot and stops at the deadline, never naming the URL", async () => {
    receiver.replies.push("hang", "hang", "hang");
    const started = systemClock.monotonic();
    const result = await sendAlert(target, "x", { deadline: after(started, 300) });
    expect(result).toMatchObject({ sent: false, attempts: 1, detail: "timeout" });
    // An attempt's own timeout is 3 s: the deadline cut it short.
    expect(systemClock.monotonic() - started).toBeLessThan(3000);
    expect(JSON.stringify(result)).not.toContain("test-robot-key");
  });

  it("reports an unreachable robot as a network error", async () => {
    await receiver.close();
    const result = await sendAlert(target, "x", paced());
    expect(result).toMatchObject({ sent: false, detail: "network error" });
    expect(result.attempts).toBeGreaterThan(1);
  });
});
