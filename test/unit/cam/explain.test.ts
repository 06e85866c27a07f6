import { describe, expect, it } from "vitest";
import { describePolicy } from "../../../lib/cam/explain.ts";
import type { CamPolicy } from "../../../lib/cam/policy.ts";

const root = "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/";

describe("describePolicy", () => {
  it("says what each statement allows, with its conditions in plain words", () => {
    const policy: CamPolicy = {
      version: "2.0",
      statement: [
        {
          effect: "allow",
          action: ["name/cos:PutObject"],
          resource: [`${root}users/alice/*`],
          condition: {
            numeric_less_than_equal: { "cos:content-length": 5 * 1024 * 1024 },
            string_like: { "cos:content-type": ["image/*"] },
            ip_equal: { "qcs:ip": "203.0.113.7" },
            bool_equal: { "cos:secure-transport": "true" },
          },
        },
        { effect: "allow", action: ["name/cos:GetBucket"], resource: [root], condition: { string_like: { "cos:prefix": ["users/alice/", "users/alice/*"] } } },
        {
          effect: "deny",
          action: ["name/cos:GetObject", "name/cos:HeadObject"],
          resource: [`${root}a`, `${root}b`],
          condition: { numeric_greater_than: { "cos:x": 3 } },
        },
      ],
    };
    expect(describePolicy(policy)).toEqual([
      "can PutObject on users/alice/*, objects up to 5 MB per request, image/* only, from 203.0.113.7 only, over HTTPS only",
      "can GetBucket on bucket examplebucket-1250000000, listing only prefixes users/alice/, users/alice/*",
      "cannot GetObject, HeadObject on a, b, when numeric_greater_than cos:x 3",
    ]);
  });

  it.each([
    [1024, "1 KB"],
    [1536, "1536 bytes"],
    [3 * 1024 ** 3, "3 GB"],
    [1000, "1000 bytes"],
  ])("writes %d bytes as %s", (bytes, text) => {
    const policy: CamPolicy = {
      version: "2.0",
      statement: [
        { effect: "allow", action: ["name/cos:PutObject"], resource: ["*"], condition: { numeric_less_than_equal: { "cos:content-length": bytes } } },
      ],
    };
    expect(describePolicy(policy)[0]).toBe(`can PutObject on *, objects up to ${text} per request`);
  });
});
