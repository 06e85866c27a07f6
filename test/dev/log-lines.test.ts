/** npm start's readable log: one line per JSON log line, with what a developer looks for. */
import { describe, expect, it } from "vitest";
import { readableLine } from "../../dev/log-lines.ts";
import { createLogger } from "../../lib/shared/log.ts";
import { fakeClock } from "../support/clock.ts";

const TIME = Date.UTC(2026, 0, 1, 12, 30, 45);
/** The local time of day the line shows, however this machine's time zone is set. */
const clock = new Date(TIME).toTimeString().slice(0, 8);

function lineOf(write: (logger: ReturnType<typeof createLogger>) => void): string {
  const lines: string[] = [];
  write(createLogger((line) => lines.push(readableLine(line)), fakeClock(TIME)));
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

const request = { requestId: "r", method: "POST", sourceIp: "127.0.0.1" };
const subject = "ElXayqY3abcdefghijklmnopqrstuvwxyz0123456789";

describe("readableLine", () => {
  it("shows an issued credential: time, status, profile, key, a short subject, milliseconds", () => {
    const line = lineOf((log) =>
      log.request({
        ...request,
        outcome: "issued",
        status: 200,
        latencyMs: 12.34,
        subject,
        profile: "upload",
        prefix: "users/alice/",
        key: "users/alice/a.png",
      }),
    );
    expect(line).toBe(`${clock}  200 issued    POST profile=upload key=users/alice/a.png subject=ElXayqY3  12 ms`);
  });

  it("shows the prefix when no key narrowed the grant, and a reused credential", () => {
    const line = lineOf((log) =>
      log.request({ ...request, outcome: "issued", status: 200, latencyMs: 0.4, subject, profile: "list", prefix: "users/alice/", cached: true }),
    );
    expect(line).toBe(`${clock}  200 issued    POST profile=list prefix=users/alice/ subject=ElXayqY3 cached  0 ms`);
  });

  it("ends a refusal with its code and reason", () => {
    const line = lineOf((log) =>
      log.request({ ...request, outcome: "refused", status: 401, latencyMs: 1, code: "InvalidToken", message: "the login token has expired" }),
    );
    expect(line).toBe(`${clock}  401 refused   POST  1 ms  InvalidToken: the login token has expired`);
  });

  it("shows the COS server's calls with the policy's reason for a refusal", () => {
    const line = lineOf((log) =>
      log.event("cos_request", {
        method: "PUT",
        operation: "PutObject",
        key: "users/bob/a.png",
        status: 403,
        code: "AccessDenied",
        reason: "no statement allows it",
      }),
    );
    expect(line).toBe(`${clock}  403 COS       PutObject users/bob/a.png  AccessDenied: no statement allows it`);
  });

  it("shows other events as name=value pairs, an error level in capitals", () => {
    expect(lineOf((log) => log.event("config_error", { code: "ConfigError", message: "COS_BUCKET is required" }, "error"))).toBe(
      `${clock}  ERROR config_error  code=ConfigError message=COS_BUCKET is required`,
    );
    expect(lineOf((log) => log.event("profile_warning", { profile: "shared", rule: "shared-area" }))).toBe(
      `${clock}  profile_warning  profile=shared rule=shared-area`,
    );
  });

  it("passes a line that is not JSON through", () => {
    expect(readableLine("plain text")).toBe("plain text");
  });
});
