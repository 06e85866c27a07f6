import { describe, expect, it } from "vitest";
import { BrokerError } from "../lib/errors.ts";
import { buildPolicy, encodePolicy, MAX_SCOPE_ITEMS, resourceOf } from "../lib/policy.ts";
import { builtInProfiles } from "../lib/profiles.ts";

const bucket = { bucket: "examplebucket-1250000000", region: "ap-guangzhou", appid: "1250000000" };
const upload = builtInProfiles.get("upload")!;
const prefix = "users/alice/";
const build = (narrowing: { key?: unknown; scope?: unknown }) => buildPolicy({ bucket, prefix, profile: upload, narrowing });
const item = (over: Record<string, unknown> = {}) => ({ action: "name/cos:PutObject", bucket: bucket.bucket, region: bucket.region, prefix: "users/alice/a.png", ...over });
const refusal = (narrowing: { key?: unknown; scope?: unknown }) => {
  try {
    build(narrowing);
    return "ok";
  } catch (error) {
    return (error as BrokerError).code;
  }
};

describe("buildPolicy", () => {
  it("grants the upload profile on the user's prefix", () => {
    const { policy, allowActions } = build({});
    expect(policy).toEqual({
      version: "2.0",
      statement: [{ effect: "allow", action: upload.actions, resource: ["qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/users/alice/*"] }],
    });
    expect(allowActions).toContain("name/cos:AbortMultipartUpload");
    expect(allowActions).toContain("name/cos:PostObject");
  });

  it("never contains principal, and encodes as STS wants", () => {
    const { policy } = build({ key: "a.png" });
    const encoded = encodePolicy(policy);
    expect(JSON.parse(decodeURIComponent(encoded))).toEqual(policy);
    expect(encoded).not.toMatch(/principal/i);
  });

  it("narrows to one object with key", () => {
    const built = build({ key: "photos/a.png" });
    expect(built.policy.statement[0]?.resource).toEqual([resourceOf(bucket, "users/alice/photos/a.png")]);
    expect(built.key).toBe("users/alice/photos/a.png");
  });

  it("narrows to exactly the scope's actions and keys", () => {
    const built = build({
      scope: [item(), item({ prefix: "users/alice/b.png" }), item({ action: "name/cos:UploadPart", prefix: "users/alice/big.bin" })],
    });
    expect(built.allowActions).toEqual(["name/cos:PutObject", "name/cos:UploadPart"]);
    expect(built.policy.statement).toEqual([
      { effect: "allow", action: ["name/cos:PutObject"], resource: [resourceOf(bucket, "users/alice/a.png"), resourceOf(bucket, "users/alice/b.png")] },
      { effect: "allow", action: ["name/cos:UploadPart"], resource: [resourceOf(bucket, "users/alice/big.bin")] },
    ]);
  });

  it.each([
    ["wildcard action", item({ action: "name/cos:*" })],
    ["bare wildcard", item({ action: "*" })],
    ["action outside the profile", item({ action: "name/cos:GetObject" })],
    ["action without the name/cos: form", item({ action: "PutObject" })],
    ["another bucket", item({ bucket: "otherbucket-1250000000" })],
    ["another region", item({ region: "ap-shanghai" })],
    ["another user's prefix (user1 vs user10 style)", item({ prefix: "users/alice1/a.png" })],
    ["a wildcard prefix", item({ prefix: "users/alice*" })],
    ["a wildcard inside the prefix", item({ prefix: "users/alice/*" })],
    ["a dot-dot escape", item({ prefix: "users/alice/../bob/a.png" })],
    ["a leading slash", item({ prefix: "/users/alice/a.png" })],
    ["the bare prefix without slash", item({ prefix: "users/alice" })],
    ["a missing prefix", item({ prefix: undefined })],
    ["a non-object item", "users/alice/a.png"],
    ["a null item", null],
  ])("refuses the whole scope when one item has %s", (_why, bad) => {
    expect(refusal({ scope: [item(), bad] })).toBe("ScopeNotAllowed");
  });

  it.each([
    ["not an array", { scope: { action: "x" } }],
    ["an empty array", { scope: [] }],
    ["too many items", { scope: Array.from({ length: MAX_SCOPE_ITEMS + 1 }, () => item()) }],
    ["both key and scope", { key: "a.png", scope: [item()] }],
  ])("answers 400 for %s", (_why, narrowing) => {
    expect(refusal(narrowing)).toBe("BadRequest");
  });

  it.each(["*", "../x", "/x", "a/./b", ""])("refuses key %j", (key) => {
    expect(refusal({ key })).toBe("ScopeNotAllowed");
  });
});
