import { describe, expect, it } from "vitest";
import { BrokerError, isBrokerError } from "../../../lib/shared/errors.ts";

describe("BrokerError", () => {
  it("carries a stable code, retry hint and a log-only detail", () => {
    const error = new BrokerError("UpstreamThrottled", "slow down", { retryAfter: 1, detail: "code=RequestLimitExceeded" });
    expect(error).toBeInstanceOf(Error);
    expect(isBrokerError(error)).toBe(true);
    expect(isBrokerError(new Error("x"))).toBe(false);
    expect({ code: error.code, retryAfter: error.retryAfter, detail: error.detail, message: error.message }).toEqual({
      code: "UpstreamThrottled",
      retryAfter: 1,
      detail: "code=RequestLimitExceeded",
      message: "slow down",
    });
  });
});
