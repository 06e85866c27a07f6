import { describe, expect, it } from "vitest";
import { CHECK_VARIABLES, DEFAULT_CHECK_BUDGET_MS, DEFAULT_MAX_SKEW_SECONDS, DEFAULT_STEP_TIMEOUT_MS, loadCheckConfig } from "../../../lib/check/config.ts";
import { BrokerError } from "../../../lib/shared/errors.ts";

const refusal = (env: Record<string, string>) => {
  try {
    loadCheckConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe("ConfigError");
    return (error as BrokerError).message;
  }
  throw new Error("expected a ConfigError");
};

describe("loadCheckConfig", () => {
  it("has defaults for everything, and no alert without a webhook", () => {
    expect(loadCheckConfig({ CHECK_SUBJECT: "", ALERT_WEBHOOK_URL: " " })).toEqual({
      subject: "__canary",
      claims: {},
      profile: "upload",
      budgetMs: DEFAULT_CHECK_BUDGET_MS,
      stepTimeoutMs: DEFAULT_STEP_TIMEOUT_MS,
      maxSkewSeconds: DEFAULT_MAX_SKEW_SECONDS,
      alert: undefined,
    });
  });

  it("reads every variable", () => {
    const config = loadCheckConfig({
      CHECK_SUBJECT: "probe-bot",
      CHECK_CLAIMS: '{"tenant":"acme"}',
      CHECK_PROFILE: "read",
      CHECK_BUDGET_MS: "5000",
      CHECK_STEP_TIMEOUT_MS: "1500",
      CHECK_MAX_SKEW_SECONDS: "10",
      ALERT_WEBHOOK_URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
    });
    expect(config).toMatchObject({
      subject: "probe-bot",
      claims: { tenant: "acme" },
      profile: "read",
      budgetMs: 5000,
      stepTimeoutMs: 1500,
      maxSkewSeconds: 10,
    });
    expect(config.alert?.format).toBe("wecom");
  });

  it("picks the alert body by the webhook's host unless told", () => {
    expect(loadCheckConfig({ ALERT_WEBHOOK_URL: "https://hooks.slack.com/services/T0/B0/X" }).alert?.format).toBe("slack");
    expect(loadCheckConfig({ ALERT_WEBHOOK_URL: "https://oapi.dingtalk.com/robot/send?access_token=x" }).alert?.format).toBe("wecom");
    expect(loadCheckConfig({ ALERT_WEBHOOK_URL: "https://chat.example.com/hooks/x", ALERT_WEBHOOK_FORMAT: "Slack" }).alert?.format).toBe("slack");
    expect(refusal({ ALERT_WEBHOOK_FORMAT: "teams" })).toContain("ALERT_WEBHOOK_FORMAT must be wecom or slack");
  });

  it("refuses a webhook that is not https (except loopback) without echoing it", () => {
    const secret = "http://chat.example.com/hook?key=very-secret-robot-key";
    const message = refusal({ ALERT_WEBHOOK_URL: secret });
    expect(message).toContain("ALERT_WEBHOOK_URL must use https");
    expect(message).not.toContain("very-secret-robot-key");
    expect(refusal({ ALERT_WEBHOOK_URL: "not a url key=very-secret" })).not.toContain("very-secret");
    expect(loadCheckConfig({ ALERT_WEBHOOK_URL: "http://127.0.0.1:9/hook" }).alert?.url.port).toBe("9");
  });

  it("refuses out-of-range numbers, naming the variable", () => {
    expect(refusal({ CHECK_BUDGET_MS: "999" })).toContain("CHECK_BUDGET_MS must be a whole number from 1000");
    expect(refusal({ CHECK_BUDGET_MS: "20s" })).toContain("CHECK_BUDGET_MS");
    expect(refusal({ CHECK_STEP_TIMEOUT_MS: "0" })).toContain("CHECK_STEP_TIMEOUT_MS");
    expect(refusal({ CHECK_MAX_SKEW_SECONDS: "-1" })).toContain("CHECK_MAX_SKEW_SECONDS");
  });

  it("refuses CHECK_CLAIMS that are not an object of strings, or that set sub", () => {
    expect(refusal({ CHECK_CLAIMS: "tenant=acme" })).toContain("CHECK_CLAIMS is not JSON");
    expect(refusal({ CHECK_CLAIMS: '["acme"]' })).toContain("is not a JSON object");
    expect(refusal({ CHECK_CLAIMS: '{"tenant":1}' })).toContain("not a string");
    expect(refusal({ CHECK_CLAIMS: '{"sub":"x"}' })).toContain("CHECK_SUBJECT");
  });

  it("reads exactly the variables it lists", () => {
    const read = new Set<string>();
    const env = new Proxy({} as Record<string, string | undefined>, {
      get: (_target, name) => {
        if (typeof name === "string") read.add(name);
        return undefined;
      },
    });
    loadCheckConfig(env);
    expect([...read].sort()).toEqual([...CHECK_VARIABLES].sort());
  });
});
