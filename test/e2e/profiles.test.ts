/**
 * Every built-in and the example custom profiles, end to end: SCF event -> handler -> STS
 * SDK -> loopback STS emulator. The policy STS recorded is then put to the evaluator with the
 * requests COS would see, so each profile is checked for what it actually lets a client do.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type EvaluationRequest, evaluatePolicy } from "../../lib/cam/evaluate.ts";
import type { CamPolicy } from "../../lib/cam/policy.ts";
import { subjectHash } from "../../lib/grant/prefix.ts";
import { builtInProfiles } from "../../lib/grant/profiles.ts";
import { APPID, apiGatewayEvent, BUCKET, bearer, context, functionUrlEvent, type Harness, parse, REGION, startHarness } from "../support/harness.ts";
import { hsToken } from "../support/tokens.ts";

const ROOT = `qcs::cos:${REGION}:uid/${APPID}:${BUCKET}/`;
const HTTPS = { "cos:secure-transport": "true" };

async function issue(h: Harness, body: object, sub = "alice", event = functionUrlEvent) {
  const response = await h.handler(event({ headers: bearer(await hsToken({ sub })), body: JSON.stringify(body) }), context());
  const parsed = parse(response);
  const policy = response.statusCode === 200 ? (h.emulator.issued.get(parsed.credentials.tmpSecretId)!.policy as CamPolicy) : undefined;
  return { status: response.statusCode, body: parsed, policy };
}

/** Would COS allow `action` on `key` (a `cos:prefix` for GetBucket) under this policy? */
function allows(policy: CamPolicy | undefined, action: string, key: string, context: EvaluationRequest["context"] = HTTPS): boolean {
  const bucketLevel = action === "GetBucket";
  const resource = ROOT + (bucketLevel ? "" : key);
  return evaluatePolicy(policy!, { action: `name/cos:${action}`, resource, context: { ...context, ...(bucketLevel ? { "cos:prefix": key } : {}) } }).allowed;
}

describe("built-in profiles end to end", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it.each([
    [
      "upload",
      [
        ["PutObject", "users/alice/a.png"],
        ["UploadPart", "users/alice/big.bin"],
        ["PostObject", "users/alice/p.jpg"],
      ],
      [
        ["GetObject", "users/alice/a.png"],
        ["PutObject", "users/bob/a.png"],
        ["PutObject", "users/alice1/a.png"],
      ],
    ],
    [
      "read",
      [
        ["GetObject", "users/alice/a.png"],
        ["HeadObject", "users/alice/x/y"],
        ["OptionsObject", "users/alice/a"],
      ],
      [
        ["PutObject", "users/alice/a.png"],
        ["GetObject", "users/bob/a.png"],
        ["DeleteObject", "users/alice/a"],
      ],
    ],
    [
      "list",
      [
        ["GetBucket", "users/alice/"],
        ["GetBucket", "users/alice/photos/"],
      ],
      [
        ["GetBucket", "users/"],
        ["GetBucket", "users/alice"],
        ["GetBucket", "users/alice1/"],
        ["GetObject", "users/alice/a"],
      ],
    ],
    [
      "read-write",
      [
        ["PutObject", "users/alice/a"],
        ["GetObject", "users/alice/a"],
        ["CompleteMultipartUpload", "users/alice/b"],
      ],
      [
        ["DeleteObject", "users/alice/a"],
        ["GetObject", "users/bob/a"],
      ],
    ],
    [
      "delete",
      [["DeleteObject", "users/alice/a.png"]],
      [
        ["DeleteObject", "users/bob/a.png"],
        ["GetObject", "users/alice/a.png"],
        ["PutObject", "users/alice/a.png"],
      ],
    ],
  ])("issues %s and its policy allows exactly what it should", async (name, allowed, denied) => {
    const { status, body, policy } = await issue(h, { profile: name });
    expect(status).toBe(200);
    expect(body).toMatchObject({ profile: name, prefix: "users/alice/", allowActions: builtInProfiles.get(name)!.actions });
    for (const [action, key] of allowed) expect(allows(policy, action!, key!), `${action} ${key}`).toBe(true);
    for (const [action, key] of denied) expect(allows(policy, action!, key!), `${action} ${key}`).toBe(false);
  });
});

describe("the example custom profiles end to end (STS_PROFILES_FILE=examples/profiles.json)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { STS_PROFILES_FILE: "examples/profiles.json" } });
  });
  afterAll(() => h.close());
  afterEach(() => h.emulator.reset());

  it("warned at cold start about the shared area, and started", () => {
    const warning = h.logLines.map((line) => JSON.parse(line)).find((entry) => entry.event === "profile_warning");
    expect(warning).toMatchObject({ profile: "public-read", rule: "shared-area", message: expect.stringContaining("'public/'") });
  });

  it("avatar: chooses the key, returns it, and scopes size, type and HTTPS to that one object for 600 s", async () => {
    const { status, body, policy } = await issue(h, { profile: "avatar", filename: "Me.PNG" });
    expect(status).toBe(200);
    const prefix = `avatars/${subjectHash({ sub: "alice" })}/`;
    expect(body.prefix).toBe(prefix);
    expect(body.key).toMatch(new RegExp(`^${prefix}\\d{4}/\\d{2}/[\\w-]{22}\\.png$`));
    expect(h.emulator.calls.at(-1)?.params).toMatchObject({ DurationSeconds: 600 });
    const upload = { ...HTTPS, "cos:content-type": "image/png", "cos:content-length": "4096" };
    expect(allows(policy, "PutObject", body.key, upload)).toBe(true);
    expect(allows(policy, "PostObject", body.key, upload)).toBe(true);
    expect(allows(policy, "PutObject", body.key, { ...upload, "cos:secure-transport": "false" })).toBe(false);
    expect(allows(policy, "PutObject", body.key, { ...upload, "cos:content-type": "text/html" })).toBe(false);
    expect(allows(policy, "PutObject", body.key, { ...upload, "cos:content-length": String(5 * 1024 * 1024 + 1) })).toBe(false);
    expect(allows(policy, "PutObject", `${prefix}other.png`, upload)).toBe(false);
  });

  it("avatar: refuses a key of the client's choosing and an extension off the list, before STS", async () => {
    expect((await issue(h, { profile: "avatar", key: "me.png" })).status).toBe(403);
    expect((await issue(h, { profile: "avatar", filename: "me.svg" })).body.error.code).toBe("ScopeNotAllowed");
    expect((await issue(h, { profile: "avatar", filename: "../../me.png" })).body.error.code).toBe("BadRequest");
    expect(h.emulator.stsCallCount()).toBe(0);
  });

  it("photos: only under photos/, with the upload conditions on uploads alone", async () => {
    const { status, policy } = await issue(h, { profile: "photos" });
    expect(status).toBe(200);
    const jpeg = { ...HTTPS, "cos:content-type": "image/jpeg", "cos:content-length": "1000" };
    expect(allows(policy, "PutObject", "users/alice/photos/2026/a.jpg", jpeg)).toBe(true);
    expect(allows(policy, "PutObject", "users/alice/docs/a.jpg", jpeg)).toBe(false);
    expect(allows(policy, "PutObject", "users/alice/photos/a.pdf", { ...jpeg, "cos:content-type": "application/pdf" })).toBe(false);
    expect(allows(policy, "GetObject", "users/alice/photos/a.jpg")).toBe(true);
    expect((await issue(h, { profile: "photos", key: "photos/a.jpg" })).status).toBe(200);
    expect((await issue(h, { profile: "photos", key: "docs/a.jpg" })).status).toBe(403);
  });

  it("public-read: the same shared area for every user, reading only", async () => {
    for (const sub of ["alice", "bob"]) {
      const { body, policy } = await issue(h, { profile: "public-read" }, sub);
      expect(body.prefix).toBe("public/");
      expect(allows(policy, "GetObject", "public/logo.png")).toBe(true);
      expect(allows(policy, "PutObject", "public/logo.png")).toBe(false);
    }
  });

  it("keeps the built-ins it did not touch and drops the one it set to false", async () => {
    expect((await issue(h, { profile: "read" })).status).toBe(200);
    expect((await issue(h, { profile: "delete" })).body.error.code).toBe("ScopeNotAllowed");
  });
});

describe("guards end to end", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { STS_PROFILES: JSON.stringify({ pinned: { actions: ["GetObject", "PutObject"], conditions: { pinSourceIp: true } } }) } });
  });
  afterAll(() => h.close());
  afterEach(() => h.emulator.reset());

  it("pins credentials to the source IP of either trigger", async () => {
    const viaUrl = await issue(h, { profile: "pinned" }, "alice", (options) => functionUrlEvent({ ...options, sourceIp: "203.0.113.9" }));
    expect(viaUrl.policy?.statement[0]?.condition).toEqual({ ip_equal: { "qcs:ip": "203.0.113.9" } });
    expect(allows(viaUrl.policy, "GetObject", "users/alice/a", { ...HTTPS, "qcs:ip": "203.0.113.9" })).toBe(true);
    expect(allows(viaUrl.policy, "GetObject", "users/alice/a", { ...HTTPS, "qcs:ip": "198.51.100.1" })).toBe(false);
    const viaGateway = await issue(h, { profile: "pinned" }, "alice", apiGatewayEvent);
    expect(viaGateway.policy?.statement[0]?.condition).toEqual({ ip_equal: { "qcs:ip": "198.51.100.4" } });
  });

  it("refuses to pin when the trigger gives no source IP", async () => {
    const event = { httpMethod: "POST", path: "/", headers: bearer(await hsToken({ sub: "alice" })), body: '{"profile":"pinned"}' };
    const response = await h.handler(event, context());
    expect(response.statusCode).toBe(403);
    expect(parse(response).error.message).toMatch(/source IP is unknown/);
    expect(h.emulator.stsCallCount()).toBe(0);
  });

  it("refuses a scope that would make the policy too long with 400, before STS", async () => {
    const scope = Array.from({ length: 60 }, (_, i) => ({ action: "name/cos:PutObject", bucket: BUCKET, region: REGION, prefix: `users/alice/f${i}.png` }));
    const { status, body } = await issue(h, { scope });
    expect(status).toBe(400);
    expect(body.error.message).toMatch(/over the limit of 2048/);
    expect(h.emulator.stsCallCount()).toBe(0);
  });

  it("refuses to start on a profile that breaks a lint rule: every request is a 500 naming profile and rule", async () => {
    const broken = await startHarness({ env: { STS_PROFILES: JSON.stringify({ everything: { actions: ["name/cos:*"] } }) } });
    try {
      const response = await broken.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub: "alice" })) }), context());
      expect(response.statusCode).toBe(500);
      expect(parse(response).error).toEqual({
        code: "ConfigError",
        message: expect.stringMatching(/^STS_PROFILES: profile 'everything' breaks rule wildcard-action/),
      });
      expect(broken.emulator.stsCallCount()).toBe(0);
    } finally {
      await broken.close();
    }
  });
});
