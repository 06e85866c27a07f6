/** lib/broker with a plain in-memory STS client and a fixed clock (no HTTP, no SCF). */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../lib/broker/config.ts";
import { type ClientAsk, createBroker, type IssueRequest } from "../../../lib/broker/issue.ts";
import { grantFor } from "../../../lib/grant/compose.ts";
import { createTokenVerifier } from "../../../lib/identity/verify.ts";
import type { BrokerError } from "../../../lib/shared/errors.ts";
import type { Audit } from "../../../lib/shared/log.ts";
import type { CredentialRequest, StsClient } from "../../../lib/sts/client.ts";
import { fakeClock } from "../../support/clock.ts";
import { codeOf } from "../../support/outcome.ts";
import { hsToken, TEST_SECRET } from "../../support/tokens.ts";

const env = {
  COS_BUCKET: "examplebucket-1250000000",
  COS_REGION: "ap-guangzhou",
  JWT_SECRET: TEST_SECRET,
  STS_SECRET_ID: "i",
  STS_SECRET_KEY: "k",
  STS_TIMEOUT_MS: "2500",
  // The tests' secret signs only beside a local STS; this client never calls it.
  STS_ENDPOINT: "http://127.0.0.1:9",
};
const config = loadConfig(env);
const NOW = Date.UTC(2026, 0, 1, 0, 0, 0);
/** A request as the HTTP layer makes it: the token, and what the client asks for. */
const asking = (token: string, ask: ClientAsk = {}): IssueRequest => ({ credential: { scheme: "Bearer", token }, ask: () => ask });

const recordingStsClient = (requests: CredentialRequest[]): StsClient => ({
  async requestCredentials(request) {
    requests.push(request);
    return {
      tmpSecretId: "AKIDtest",
      tmpSecretKey: "key",
      sessionToken: "token",
      expiredTime: NOW / 1000 + 900,
      expiration: "2026-01-01T00:15:00Z",
      requestId: "sts-req",
    };
  },
});

function setup() {
  const requests: CredentialRequest[] = [];
  const broker = createBroker({ config, stsClient: recordingStsClient(requests), verifyToken: createTokenVerifier(config.jwt!), clock: fakeClock(NOW + 400) });
  return { broker, requests };
}

describe("createBroker", () => {
  it("returns the documented response with startTime from its own clock", async () => {
    const { broker, requests } = setup();
    const audit: Audit = {};
    const response = await broker.issue(asking(await hsToken({ sub: "alice" })), audit);
    expect(response).toEqual({
      credentials: { tmpSecretId: "AKIDtest", tmpSecretKey: "key", sessionToken: "token" },
      startTime: NOW / 1000,
      expiredTime: NOW / 1000 + 900,
      expiration: "2026-01-01T00:15:00Z",
      requestId: "sts-req",
      bucket: "examplebucket-1250000000",
      region: "ap-guangzhou",
      prefix: "users/alice/",
      profile: "upload",
      allowActions: expect.arrayContaining(["name/cos:PutObject", "name/cos:AbortMultipartUpload"]),
    });
    expect(audit).toMatchObject({ profile: "upload", prefix: "users/alice/", stsRequestId: "sts-req", subject: expect.stringMatching(/^[\w-]{43}$/) });
    // No invocation deadline here: the STS client's own per-attempt timeout and attempt count apply.
    expect(requests[0]).toMatchObject({ durationSeconds: 900, budgetMs: undefined, subjectHash: audit.subject });
    expect(JSON.parse(decodeURIComponent(requests[0]!.encodedPolicy)).statement[0].resource).toEqual([
      "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/users/alice/*",
    ]);
  });

  it("gives STS the time the invocation has left, minus a margin to answer", async () => {
    const { broker, requests } = setup();
    await broker.issue(asking(await hsToken({ sub: "a" }), { remainingMs: 1500 }), {});
    await broker.issue(asking(await hsToken({ sub: "a" }), { remainingMs: 550 }), {});
    // The STS client refuses to start an attempt that cannot finish (test/unit/sts/client.test.ts).
    expect(requests.map((request) => request.budgetMs)).toEqual([1000, 50]);
  });

  it("issueFor runs the same use case for claims verified elsewhere (the check's canary)", async () => {
    const { broker, requests } = setup();
    const audit: Audit = {};
    const viaToken = await broker.issue(asking(await hsToken({ sub: "__canary" })), {});
    const direct = await broker.issueFor({ iss: "", sub: "__canary" }, { profile: "upload" }, audit);
    expect(direct).toEqual(viaToken);
    expect(audit).toMatchObject({ profile: "upload", prefix: "users/__canary/", stsRequestId: "sts-req" });
    expect(requests[1]!.encodedPolicy).toBe(requests[0]!.encodedPolicy);
    await expect(broker.issueFor({ iss: "", sub: "a/b" }, {}, {})).rejects.toMatchObject({ code: "IdentityNotAllowed" });
    expect(requests).toHaveLength(2);
  });

  it("verifies the token before it reads anything else", async () => {
    const { broker, requests } = setup();
    const audit: Audit = {};
    let asked = 0;
    const ask = () => {
      asked += 1;
      return { profile: "nope", key: "*" };
    };
    await expect(broker.issue({ credential: { scheme: "Bearer", token: "x.y.z" }, ask }, audit)).rejects.toMatchObject({ code: "InvalidToken" });
    expect(audit).toEqual({});
    expect(asked).toBe(0);
    expect(requests).toHaveLength(0);
  });
});

describe("grantFor and the broker with profiles", () => {
  const profiles = JSON.stringify({
    avatar: { actions: ["PutObject"], prefix: "avatars/{sub}/", extensions: ["png"], durationSeconds: 600, conditions: { maxBytes: 1024 } },
    pinned: { actions: ["GetObject"], conditions: { pinSourceIp: true } },
  });
  const custom = loadConfig({ ...env, STS_PROFILES: profiles });
  const alice = { sub: "alice" };
  it("chooses the key for a filename, scopes the grant to it and returns it", async () => {
    const requests: CredentialRequest[] = [];
    const broker = createBroker({
      config: custom,
      stsClient: recordingStsClient(requests),
      verifyToken: createTokenVerifier(custom.jwt!),
      clock: fakeClock(NOW),
    });
    const response = await broker.issue(asking(await hsToken(alice), { profile: "avatar", filename: "Me.PNG" }), {});
    expect(response.key).toMatch(/^avatars\/alice\/2026\/01\/[\w-]{22}\.png$/);
    expect(response.prefix).toBe("avatars/alice/");
    expect(requests[0]?.durationSeconds).toBe(600);
    const policy = JSON.parse(decodeURIComponent(requests[0]!.encodedPolicy));
    expect(policy.statement[0].resource).toEqual([`qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/${response.key}`]);
  });

  it("echoes the full object key of every narrowed grant, and none for the whole prefix or a scope", async () => {
    const broker = createBroker({ config: custom, stsClient: recordingStsClient([]), verifyToken: createTokenVerifier(custom.jwt!), clock: fakeClock(NOW) });
    const token = await hsToken(alice);
    expect((await broker.issue(asking(token, { key: "photos/a.png" }), {})).key).toBe("users/alice/photos/a.png");
    expect(await broker.issue(asking(token), {})).not.toHaveProperty("key");
    const scope = [{ action: "name/cos:PutObject", bucket: custom.bucket, region: custom.region, prefix: "users/alice/a.png" }];
    expect(await broker.issue(asking(token, { scope }), {})).not.toHaveProperty("key");
  });

  it.each<[string, object, string]>([
    ["filename with key", { profile: "avatar", filename: "a.png", key: "a.png" }, "BadRequest"],
    ["filename with scope", { profile: "avatar", filename: "a.png", scope: [] }, "BadRequest"],
    ["key on a profile that chooses keys", { profile: "avatar", key: "a.png" }, "ScopeNotAllowed"],
    ["no filename on a profile that chooses keys", { profile: "avatar" }, "ScopeNotAllowed"],
    ["filename on a profile that does not choose keys", { profile: "upload", filename: "a.png" }, "ScopeNotAllowed"],
    ["an extension off the list", { profile: "avatar", filename: "a.gif" }, "ScopeNotAllowed"],
    ["a malformed filename", { profile: "avatar", filename: "a/b.png" }, "BadRequest"],
    ["a pinned profile without a source IP", { profile: "pinned" }, "ScopeNotAllowed"],
    ["a pinned profile with a source IP that is not one", { profile: "pinned", sourceIp: "unknown" }, "ScopeNotAllowed"],
  ])("refuses %s before STS", (_why, request, code) => {
    expect(codeOf(() => grantFor(custom, alice, request, NOW))).toBe(code);
  });

  it("pins to the caller's address, written canonically", () => {
    const grant = grantFor(custom, alice, { profile: "pinned", sourceIp: "::ffff:203.0.113.7" }, NOW);
    expect(grant.policy.statement[0]?.condition).toEqual({ ip_equal: { "qcs:ip": "203.0.113.7" } });
  });

  it("measures the encoded policy: 400 when the request's scope makes it too long", () => {
    const scope = Array.from({ length: 40 }, (_, i) => ({
      action: "name/cos:PutObject",
      bucket: config.bucket,
      region: config.region,
      prefix: `users/alice/file-${i}.png`,
    }));
    expect(codeOf(() => grantFor(config, alice, { scope: scope.slice(0, 5) }, NOW))).toBe("ok");
    const error = (() => {
      try {
        grantFor(config, alice, { scope }, NOW);
      } catch (caught) {
        return caught as BrokerError;
      }
    })();
    expect(error).toMatchObject({ code: "BadRequest", message: expect.stringMatching(/makes the policy \d+ characters URL-encoded, over the limit of 2048/) });
  });

  it("blames an unusually long identity, not the request, when the profile alone does not fit", () => {
    const tight = loadConfig({ ...env, STS_MAX_POLICY_LENGTH: "1024" });
    expect(codeOf(() => grantFor(tight, { sub: "a".repeat(128) }, { profile: "read-write" }, NOW))).toBe("ok");
    expect(codeOf(() => grantFor(tight, { sub: "中".repeat(128) }, { profile: "read-write" }, NOW))).toBe("IdentityNotAllowed");
  });

  it("fills the audit as far as it got", () => {
    const audit = {};
    expect(codeOf(() => grantFor(custom, alice, { profile: "pinned" }, NOW, audit))).toBe("ScopeNotAllowed");
    expect(audit).toEqual({ profile: "pinned", prefix: "users/alice/" });
  });
});
