import { describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/shared/log.ts";
import { fakeClock } from "../../support/clock.ts";

describe("createLogger", () => {
  it("writes one JSON line per entry with time and level", () => {
    const lines: string[] = [];
    const logger = createLogger((line) => lines.push(line), fakeClock(Date.UTC(2026, 0, 1)));
    logger.request({ requestId: "r", outcome: "failed", status: 502, method: "POST", latencyMs: 3, code: "UpstreamError" });
    logger.event("profile_warning", { profile: "p" });
    logger.event("config_error", { code: "ConfigError" }, "error");
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0]!)).toEqual({
      time: "2026-01-01T00:00:00.000Z",
      level: "error",
      event: "request",
      requestId: "r",
      outcome: "failed",
      status: 502,
      method: "POST",
      latencyMs: 3,
      code: "UpstreamError",
      subject: null,
      profile: null,
      prefix: null,
      key: null,
      stsRequestId: null,
      cached: null,
      sourceIp: null,
    });
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: "info", event: "profile_warning" });
    expect(JSON.parse(lines[2]!)).toMatchObject({ level: "error", event: "config_error" });
    expect(lines.every((line) => !line.includes("\n"))).toBe(true);
  });

  it("cuts the fields a client chooses (method, source IP) to a bounded length", () => {
    const lines: string[] = [];
    const logger = createLogger((line) => lines.push(line), fakeClock(Date.UTC(2026, 0, 1)));
    logger.request({ requestId: "r", outcome: "refused", status: 405, method: "X".repeat(10_000), latencyMs: 1, sourceIp: "1".repeat(10_000) });
    logger.request({ requestId: "r", outcome: "refused", status: 405, method: "PATCH", latencyMs: 1, sourceIp: "2001:db8::1" });
    const [long, short] = lines.map((line) => JSON.parse(line) as { method: string; sourceIp: string });
    expect(long).toMatchObject({ method: `${"X".repeat(15)}…`, sourceIp: `${"1".repeat(63)}…` });
    expect(short).toMatchObject({ method: "PATCH", sourceIp: "2001:db8::1" });
  });

  it("writes the credential check's report as one line, at error level when it failed", () => {
    const lines: string[] = [];
    const logger = createLogger((line) => lines.push(line), fakeClock(Date.UTC(2026, 0, 1)));
    const results = [{ name: "issuance", status: "fail", durationMs: 5, detail: "UpstreamTimeout: STS did not answer within 500 ms" }];
    logger.check({ outcome: "failed", durationMs: 7, requestId: "r", trigger: "timer t", results });
    logger.check({ outcome: "passed", durationMs: 7, results: [] });
    expect(JSON.parse(lines[0]!)).toEqual({
      time: "2026-01-01T00:00:00.000Z",
      level: "error",
      event: "credential_check",
      outcome: "failed",
      durationMs: 7,
      requestId: "r",
      trigger: "timer t",
      results,
    });
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: "info", outcome: "passed" });
  });
});
