import { describe, expect, it } from "vitest";
import { evaluatePolicy } from "../../../lib/cam/evaluate.ts";
import { resourceOf } from "../../../lib/cam/policy.ts";
import { buildPolicy, encodePolicy, longestPolicyLength, MAX_SCOPE_ITEMS, type Narrowing } from "../../../lib/grant/policy.ts";
import { compilePrefixTemplate } from "../../../lib/grant/prefix.ts";
import { builtInProfiles, type Profile } from "../../../lib/grant/profiles.ts";
import { codeOf } from "../../support/outcome.ts";

const bucket = { bucket: "examplebucket-1250000000", region: "ap-guangzhou", appid: "1250000000" };
const upload = builtInProfiles.get("upload")!;
const prefix = "users/alice/";
const refusal = (narrowing: { key?: unknown; scope?: unknown }) => codeOf(() => build(narrowing));
const build = (narrowing: { key?: unknown; scope?: unknown }) => buildPolicy({ bucket, prefix, profile: upload, narrowing });
const item = (over: Record<string, unknown> = {}) => ({
  action: "name/cos:PutObject",
  bucket: bucket.bucket,
  region: bucket.region,
  prefix: "users/alice/a.png",
  ...over,
});

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

const profile = (over: Partial<Profile>): Profile => ({ name: "custom", actions: ["name/cos:GetObject"], resources: ["*"], conditions: {}, ...over });
const buildWith = (p: Profile, narrowing: Narrowing = {}, sourceIp?: string) => buildPolicy({ bucket, prefix, profile: p, narrowing, sourceIp });

describe("buildPolicy with profiles", () => {
  it.each([
    ["read", ["GetObject", "HeadObject", "OptionsObject"]],
    [
      "read-write",
      [
        "PutObject",
        "PostObject",
        "InitiateMultipartUpload",
        "ListMultipartUploads",
        "ListParts",
        "UploadPart",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
        "GetObject",
        "HeadObject",
        "OptionsObject",
      ],
    ],
    ["delete", ["DeleteObject"]],
  ])("grants built-in %s on the whole prefix in one statement", (name, actions) => {
    const { policy } = buildWith(builtInProfiles.get(name)!);
    expect(policy.statement).toEqual([{ effect: "allow", action: actions.map((a) => `name/cos:${a}`), resource: [resourceOf(bucket, "users/alice/*")] }]);
  });

  it("grants list as GetBucket on the bucket root, fenced by cos:prefix in both forms", () => {
    const { policy } = buildWith(builtInProfiles.get("list")!);
    expect(policy.statement).toEqual([
      {
        effect: "allow",
        action: ["name/cos:GetBucket"],
        resource: [resourceOf(bucket, "")],
        condition: { string_like: { "cos:prefix": ["users/alice/", "users/alice/*"] } },
      },
    ]);
  });

  it("expands resource patterns under the prefix, for objects and for listing", () => {
    const { policy } = buildWith(profile({ actions: ["name/cos:GetObject", "name/cos:GetBucket"], resources: ["photos/*", "avatar.*"] }));
    expect(policy.statement).toEqual([
      { effect: "allow", action: ["name/cos:GetObject"], resource: [resourceOf(bucket, "users/alice/photos/*"), resourceOf(bucket, "users/alice/avatar.*")] },
      {
        effect: "allow",
        action: ["name/cos:GetBucket"],
        resource: [resourceOf(bucket, "")],
        condition: { string_like: { "cos:prefix": ["users/alice/photos/", "users/alice/photos/*", "users/alice/avatar.*"] } },
      },
    ]);
  });

  it("narrows only within the profile's patterns, and only its object actions", () => {
    const photos = profile({ actions: ["name/cos:GetObject", "name/cos:GetBucket"], resources: ["photos/*"] });
    expect(buildWith(photos, { key: "photos/2026/a.png" })).toMatchObject({ allowActions: ["name/cos:GetObject"], key: "users/alice/photos/2026/a.png" });
    expect(codeOf(() => buildWith(photos, { key: "docs/a.png" }))).toBe("ScopeNotAllowed");
    expect(codeOf(() => buildWith(photos, { scope: [item({ action: "name/cos:GetObject", prefix: "users/alice/docs/a" })] }))).toBe("ScopeNotAllowed");
    expect(codeOf(() => buildWith(photos, { scope: [item({ action: "name/cos:GetBucket", prefix: "users/alice/photos/" })] }))).toBe("ScopeNotAllowed");
    expect(codeOf(() => buildWith(builtInProfiles.get("list")!, { key: "a" }))).toBe("ScopeNotAllowed");
  });

  it("scopes a chosen key to exactly that object", () => {
    const built = buildWith(profile({ actions: ["name/cos:PutObject"] }), { chosenKey: "users/alice/2026/01/r.png" });
    expect(built.policy.statement[0]?.resource).toEqual([resourceOf(bucket, "users/alice/2026/01/r.png")]);
    expect(built.key).toBe("users/alice/2026/01/r.png");
    expect(codeOf(() => buildWith(profile({ actions: ["name/cos:PutObject"] }), { chosenKey: "users/bob/r.png" }))).toBe("ScopeNotAllowed");
  });

  it("puts each condition only on the actions whose requests carry its key", () => {
    const all = profile({
      actions: [...builtInProfiles.get("read-write")!.actions, "name/cos:GetBucket"],
      conditions: { maxBytes: 1024, contentTypes: ["image/*"], pinSourceIp: true, httpsOnly: true },
    });
    const { policy } = buildWith(all, {}, "203.0.113.7");
    const everywhere = { ip_equal: { "qcs:ip": "203.0.113.7" }, bool_equal: { "cos:secure-transport": "true" } };
    const byAction = Object.fromEntries(policy.statement.flatMap((s) => s.action.map((a) => [a.replace("name/cos:", ""), s.condition])));
    expect(byAction.PutObject).toEqual({
      numeric_less_than_equal: { "cos:content-length": 1024 },
      string_like: { "cos:content-type": ["image/*"] },
      ...everywhere,
    });
    expect(byAction.PostObject).toEqual(byAction.PutObject);
    expect(byAction.UploadPart).toEqual({ numeric_less_than_equal: { "cos:content-length": 1024 }, ...everywhere });
    expect(byAction.InitiateMultipartUpload).toEqual({ string_like: { "cos:content-type": ["image/*"] }, ...everywhere });
    for (const action of ["GetObject", "HeadObject", "ListParts", "CompleteMultipartUpload", "AbortMultipartUpload"])
      expect(byAction[action]).toEqual(everywhere);
    expect(byAction.GetBucket).toEqual({ string_like: { "cos:prefix": ["users/alice/", "users/alice/*"] }, ...everywhere });
    expect(policy.statement).toHaveLength(5);
  });

  it("lets the evaluator see the point of that: a chunked PUT is refused, a GET needs no length", () => {
    const { policy } = buildWith(profile({ actions: ["name/cos:PutObject", "name/cos:GetObject"], conditions: { maxBytes: 1024 } }));
    const at = (action: string, context: Record<string, string>) =>
      evaluatePolicy(policy, { action: `name/cos:${action}`, resource: resourceOf(bucket, "users/alice/a"), context }).allowed;
    expect(at("PutObject", { "cos:content-length": "1024" })).toBe(true);
    expect(at("PutObject", { "cos:content-length": "1025" })).toBe(false);
    expect(at("PutObject", {})).toBe(false);
    expect(at("GetObject", {})).toBe(true);
  });

  it("refuses a source-IP pin when the caller's IP is unknown", () => {
    expect(codeOf(() => buildWith(profile({ conditions: { pinSourceIp: true } })))).toBe("ScopeNotAllowed");
  });

  it("measures the longest policy a profile can produce, for the startup lint", () => {
    const template = compilePrefixTemplate("users/{sub}/");
    const upload = builtInProfiles.get("upload")!;
    const longest = longestPolicyLength(bucket, upload, template);
    expect(longest).toBeGreaterThan(encodePolicy(build({}).policy).length + 100);
    const pinned = { ...upload, conditions: { pinSourceIp: true } };
    expect(longestPolicyLength(bucket, pinned, template)).toBeGreaterThan(longest + 39);
    const chooser = profile({ actions: ["name/cos:PutObject"], extensions: ["png"] });
    expect(longestPolicyLength(bucket, chooser, template)).toBeGreaterThan(longestPolicyLength(bucket, { ...chooser, extensions: undefined }, template));
  });
});
