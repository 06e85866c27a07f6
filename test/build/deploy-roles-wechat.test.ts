/**
 * The COS role `npm run deploy --create-roles` writes (scripts/deploy/roles.ts) covers WeChat
 * users' area too: AssumeRole credentials are the role's rights intersected with the broker's
 * policy, so a role without `wx/` would refuse every WeChat user's upload.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../lib/broker/config.ts";
import { loadCheckConfig } from "../../lib/check/config.ts";
import type { Env } from "../../lib/shared/env.ts";
import { desiredRoles } from "../../scripts/deploy/roles.ts";

const ROLE = "qcs::cam::uin/100000000001:roleName/cos-sts-broker-uploader";
const base: Env = {
  COS_BUCKET: "examplebucket-1250000000",
  COS_REGION: "ap-guangzhou",
  STS_ROLE_ARN: ROLE,
  TENCENTCLOUD_SECRETID: "id",
  TENCENTCLOUD_SECRETKEY: "key",
  TENCENTCLOUD_SESSIONTOKEN: "token",
  WECHAT_APPID: "wx1234567890abcdef",
  WECHAT_APP_SECRET: randomBytes(16).toString("hex"),
};

/** The COS role's statements, resource -> actions. */
function cosRole(env: Env): Map<string, string[]> {
  const [, target] = desiredRoles("cos-sts-broker-exec", ROLE, { config: loadConfig(env), check: loadCheckConfig(env) });
  const policy = target?.policy as { statement: { action: string[]; resource: string[] }[] };
  return new Map(policy.statement.map((statement) => [statement.resource[0]!.replace(/^.*examplebucket-1250000000\//, ""), statement.action]));
}

describe("the COS role with WeChat login on", () => {
  it("covers both sources' areas beside each other", () => {
    const role = cosRole({ ...base, JWT_SECRET: randomBytes(32).toString("base64") });
    expect(role.get("users/*")).toContain("name/cos:PutObject");
    expect(role.get("wx/*")).toContain("name/cos:PutObject");
    expect(role.get("users/__canary/credential-check.txt")).toEqual(["name/cos:DeleteObject"]);
  });

  it("covers only WeChat users' area with WeChat login alone, and the check's WeChat canary", () => {
    const role = cosRole(base);
    expect(role.has("users/*")).toBe(false);
    expect(role.get("wx/*")).toContain("name/cos:PutObject");
    expect(role.get("wx/__canary/credential-check.txt")).toEqual(["name/cos:DeleteObject"]);
  });
});
