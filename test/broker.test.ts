/** lib/broker with a plain in-memory issuer and a fixed clock (no HTTP, no SCF). */
import { describe, expect, it } from "vitest";
import { createTokenVerifier } from "../lib/auth.ts";
import { createBroker, type Audit } from "../lib/broker.ts";
import { loadConfig } from "../lib/config.ts";
import type { CredentialIssuer, CredentialRequest } from "../lib/sts.ts";
import { hsToken, TEST_SECRET } from "./support/tokens.ts";

const config = loadConfig({ COS_BUCKET: "examplebucket-1250000000", COS_REGION: "ap-guangzhou", JWT_SECRET: TEST_SECRET, STS_SECRET_ID: "i", STS_SECRET_KEY: "k", STS_TIMEOUT_MS: "2500" });
const NOW = Date.UTC(2026, 0, 1, 0, 0, 0);

function setup() {
  const requests: CredentialRequest[] = [];
  const issuer: CredentialIssuer = {
    async requestCredentials(request) {
      requests.push(request);
      return { tmpSecretId: "AKIDtest", tmpSecretKey: "key", sessionToken: "token", expiredTime: NOW / 1000 + 900, expiration: "2026-01-01T00:15:00Z", requestId: "sts-req" };
    },
  };
  const broker = createBroker({ config, issuer, verifyToken: createTokenVerifier(config.jwt), now: () => NOW + 400 });
  return { broker, requests };
}

describe("createBroker", () => {
  it("returns the documented response with startTime from its own clock", async () => {
    const { broker, requests } = setup();
    const audit: Audit = {};
    const response = await broker.issue({ token: await hsToken({ sub: "alice" }) }, audit);
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
    // No invocation deadline here: the issuer's own per-attempt timeout and attempt count apply.
    expect(requests[0]).toMatchObject({ durationSeconds: 900, timeoutMs: undefined, subjectHash: audit.subject });
    expect(JSON.parse(decodeURIComponent(requests[0]!.policy)).statement[0].resource).toEqual([
      "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/users/alice/*",
    ]);
  });

  it("gives STS the time the invocation has left, minus a margin to answer", async () => {
    const { broker, requests } = setup();
    await broker.issue({ token: await hsToken({ sub: "a" }), remainingMs: 1500 }, {});
    await broker.issue({ token: await hsToken({ sub: "a" }), remainingMs: 550 }, {});
    // The issuer refuses to start an attempt that cannot finish (test/sts.test.ts).
    expect(requests.map((request) => request.timeoutMs)).toEqual([1000, 50]);
  });

  it("verifies the token before looking at anything else", async () => {
    const { broker, requests } = setup();
    const audit: Audit = {};
    await expect(broker.issue({ token: "x.y.z", profile: "nope", key: "*" }, audit)).rejects.toMatchObject({ code: "InvalidToken" });
    expect(audit).toEqual({});
    expect(requests).toHaveLength(0);
  });
});
