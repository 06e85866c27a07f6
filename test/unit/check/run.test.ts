/** lib/check's pure parts: the credential sanity rules and the alert text. Runs end to end are in credential-check.test.ts. */
import { describe, expect, it } from "vitest";
import { alertMessage, checkLifetime, type Issued } from "../../../lib/check/run.ts";

const NOW = Date.UTC(2026, 0, 1);
const issued = (over: { expiredTime?: number; expiration?: string; duration?: number; sessionToken?: string } = {}): Issued => {
  const expiredTime = over.expiredTime ?? NOW / 1000 + 900;
  return {
    response: {
      credentials: { tmpSecretId: "AKIDx", tmpSecretKey: "key", sessionToken: over.sessionToken ?? "token" },
      startTime: NOW / 1000,
      expiredTime,
      expiration: over.expiration ?? new Date(expiredTime * 1000).toISOString(),
      requestId: "r",
      bucket: "b-1",
      region: "ap-guangzhou",
      prefix: "users/__canary/",
      profile: "upload",
      allowActions: [],
    },
    request: { encodedPolicy: "", subjectHash: "h", durationSeconds: over.duration ?? 900, budgetMs: 1000 },
    atMs: NOW,
  };
};

describe("checkLifetime", () => {
  it("passes a credential that lives as long as asked, within the skew limit", () => {
    expect(checkLifetime(issued({ expiredTime: NOW / 1000 + 905 }), 30)).toEqual({
      status: "pass",
      detail: "valid 905 s of the 900 s asked for; clock skew 5.0 s (limit 30 s)",
    });
  });

  it("fails past the limit either way, saying what it may mean", () => {
    expect(checkLifetime(issued({ expiredTime: NOW / 1000 + 931 }), 30)).toMatchObject({
      status: "fail",
      detail: expect.stringContaining("STS granted more than asked, or this clock is behind STS's"),
    });
    expect(checkLifetime(issued({ expiredTime: NOW / 1000 + 3600 }), 30).status).toBe("fail");
    expect(checkLifetime(issued({ expiredTime: NOW / 1000 + 869 }), 30)).toMatchObject({
      status: "fail",
      detail: expect.stringContaining("clock skew -31.0 s"),
    });
    expect(checkLifetime(issued({ expiredTime: NOW / 1000 + 869 }), 60).status).toBe("pass");
  });

  it("fails an empty token and an Expiration that contradicts ExpiredTime", () => {
    expect(checkLifetime(issued({ sessionToken: "" }), 30)).toEqual({ status: "fail", detail: "STS returned an empty key, secret or token" });
    expect(checkLifetime(issued({ expiration: "2030-01-01T00:00:00Z" }), 30).detail).toContain("disagree");
    expect(checkLifetime(issued({ expiration: "soon" }), 30).status).toBe("fail");
  });
});

describe("alertMessage", () => {
  it("names what failed or did not run, and where", () => {
    const message = alertMessage(
      {
        startedAt: "2026-01-01T00:00:00.000Z",
        results: [
          { name: "configuration", status: "pass", durationMs: 1, detail: "fine" },
          { name: "issuance", status: "fail", durationMs: 2, detail: "UpstreamTimeout: STS did not answer within 500 ms" },
          { name: "fence probe", status: "not-run", durationMs: 0, detail: "needs 'issuance', which did not pass" },
          { name: "identity provider keys", status: "skipped", durationMs: 0, detail: "not configured" },
        ],
      },
      { trigger: "timer every-5-minutes", requestId: "req-9" },
    );
    expect(message).toBe(
      [
        "cos-sts-broker credential check failed at 2026-01-01T00:00:00.000Z (timer every-5-minutes, request req-9)",
        "- issuance: FAILED: UpstreamTimeout: STS did not answer within 500 ms",
        "- fence probe: not run: needs 'issuance', which did not pass",
      ].join("\n"),
    );
  });
});
