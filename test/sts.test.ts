/** lib/sts with the real tencentcloud-sdk-nodejs-sts client against the loopback emulator. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { StsConfig } from "../lib/config.ts";
import { BrokerError } from "../lib/errors.ts";
import { encodePolicy } from "../lib/policy.ts";
import { subjectHash } from "../lib/prefix.ts";
import { createStsIssuer, federationName, sessionName, stsError } from "../lib/sts.ts";
import { startStsEmulator, type StsEmulator } from "../dev/sts-emulator/index.ts";

const policy = { version: "2.0" as const, statement: [{ effect: "allow" as const, action: ["name/cos:PutObject"], resource: ["qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/users/a/*"] }] };
const request = { policy: encodePolicy(policy), subjectHash: "AbC-_0123456789abcdefghijklmnopqrstuvwxyzAB", durationSeconds: 900, timeoutMs: 1000 };

let emulator: StsEmulator;
const config = (over: Partial<StsConfig> = {}): StsConfig => ({
  mode: "GetFederationToken",
  roleArn: undefined,
  endpoint: { host: new URL(emulator.url).host, protocol: "http://" },
  region: "ap-guangzhou",
  credentials: { kind: "explicit", secretId: emulator.keys[0]!.secretId, secretKey: emulator.keys[0]!.secretKey },
  timeoutMs: 1000,
  ...over,
});

beforeAll(async () => {
  emulator = await startStsEmulator();
});
afterAll(() => emulator.close());
afterEach(() => emulator.reset());

describe("createStsIssuer", () => {
  it("calls GetFederationToken with the encoded policy and a letters-only name", async () => {
    const issued = await createStsIssuer(config()).requestCredentials(request);
    expect(issued.tmpSecretId).toMatch(/^AKID/);
    expect(issued.requestId).toBeTruthy();
    const record = emulator.issued.get(issued.tmpSecretId)!;
    expect(record.policy).toEqual(policy);
    expect(record.name).toBe(federationName(request.subjectHash));
    expect(record.name).toMatch(/^[a-z]+$/);
  });

  it("calls AssumeRole with the execution role's key, read from the environment at each call", async () => {
    const env: Record<string, string> = {};
    const issuer = createStsIssuer(config({ mode: "AssumeRole", roleArn: "qcs::cam::uin/1:roleName/r", credentials: { kind: "execution-role" } }), env);
    for (let round = 0; round < 2; round += 1) {
      // SCF rotates the role key; the next call must use the new one.
      const role = emulator.addTemporaryKey();
      Object.assign(env, { TENCENTCLOUD_SECRETID: role.secretId, TENCENTCLOUD_SECRETKEY: role.secretKey, TENCENTCLOUD_SESSIONTOKEN: role.token });
      const issued = await issuer.requestCredentials(request);
      expect(emulator.issued.get(issued.tmpSecretId)).toMatchObject({ action: "AssumeRole", issuedBy: role.secretId, roleSessionName: sessionName(request.subjectHash) });
    }
  });

  it("turns a wrong secret into a ConfigError that does not leak it", async () => {
    const issuer = createStsIssuer(config({ credentials: { kind: "explicit", secretId: emulator.keys[0]!.secretId, secretKey: "wrong-key-material" } }));
    const error = await issuer.requestCredentials(request).catch((e: unknown) => e as BrokerError);
    expect(error).toMatchObject({ code: "ConfigError" });
    expect(`${(error as BrokerError).message} ${(error as BrokerError).detail}`).not.toContain("wrong-key-material");
    expect((error as BrokerError).detail).toContain("AuthFailure.SignatureFailure");
  });

  it("stops waiting at the deadline", async () => {
    emulator.inject({ kind: "hang" });
    const started = Date.now();
    await expect(createStsIssuer(config()).requestCredentials({ ...request, timeoutMs: 200 })).rejects.toMatchObject({ code: "UpstreamTimeout" });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("refuses an answer without credentials", async () => {
    emulator.inject({ kind: "malformed" });
    await expect(createStsIssuer(config()).requestCredentials(request)).rejects.toMatchObject({ code: "UpstreamError" });
  });
});

describe("names", () => {
  it("keeps session names in the documented charset and length", () => {
    expect(sessionName(request.subjectHash)).toMatch(/^[\w+=,.@-]{2,128}$/);
    expect(federationName(request.subjectHash)).toMatch(/^[a-z]{2,32}$/);
    expect(federationName(subjectHash({ sub: "a" }))).not.toBe(federationName(subjectHash({ sub: "b" })));
  });
});

describe("stsError", () => {
  it.each([
    [{ code: "RequestLimitExceeded" }, false, "UpstreamThrottled"],
    [{ code: "RequestLimitExceeded.UinLimitExceeded" }, false, "UpstreamThrottled"],
    [{ code: "InvalidParameter.OverLimit" }, false, "UpstreamThrottled"],
    [{ code: "AuthFailure.SecretIdNotFound" }, false, "ConfigError"],
    [{ code: "AuthFailure.TokenFailure" }, false, "ConfigError"],
    [{ code: "AuthFailure.SignatureExpire" }, false, "UpstreamError"],
    [{ code: "ResourceNotFound.RoleNotFound" }, false, "ConfigError"],
    [{ code: "InvalidParameter.GrantOtherResource" }, false, "ConfigError"],
    [{ code: "InvalidParameter.PolicyTooLong" }, false, "ConfigError"],
    [{ code: "InternalError.SystemError" }, false, "UpstreamError"],
    [{ httpCode: 503, message: "Service Unavailable" }, false, "UpstreamError"],
    [{ message: "request to http://127.0.0.1:1/ failed, reason: connect ECONNREFUSED" }, false, "UpstreamError"],
    [{ message: "network timeout at: http://127.0.0.1:1/" }, false, "UpstreamTimeout"],
    [{ message: "The user aborted a request." }, true, "UpstreamTimeout"],
  ])("maps %j (timed out: %s) to %s", (error, timedOut, code) => {
    const mapped = stsError(error, timedOut as boolean, 1000);
    expect(mapped.code).toBe(code);
    if (code === "UpstreamThrottled") expect(mapped.retryAfter).toBeGreaterThan(0);
  });
});
