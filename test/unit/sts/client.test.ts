/** lib/sts's client and its node transport against the loopback emulator. */

import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type PermanentKey, type StsEmulator, startStsEmulator } from "../../../dev/sts-emulator/index.ts";
import { encodePolicy } from "../../../lib/grant/policy.ts";
import { subjectHash } from "../../../lib/grant/prefix.ts";
import { BrokerError } from "../../../lib/shared/errors.ts";
import { createStsClient, federationName, isTransient, type StsDeps, sessionName, stsError } from "../../../lib/sts/client.ts";
import { nodeTransport } from "../../../lib/sts/node-transport.ts";
import type { StsConfig } from "../../../lib/sts/settings.ts";
import { ledgered } from "../../support/capture.ts";
import { fakeClock } from "../../support/clock.ts";

const policy = {
  version: "2.0" as const,
  statement: [
    { effect: "allow" as const, action: ["name/cos:PutObject"], resource: ["qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/users/a/*"] },
  ],
};
const request = { encodedPolicy: encodePolicy(policy), subjectHash: "AbC-_0123456789abcdefghijklmnopqrstuvwxyzAB", durationSeconds: 900, budgetMs: 1000 };

let emulator: StsEmulator;
const config = (over: Partial<StsConfig> = {}): StsConfig => ({
  mode: "GetFederationToken",
  roleArn: undefined,
  endpoint: { host: new URL(emulator.url).host, protocol: "http://" },
  region: "ap-guangzhou",
  credentials: { kind: "explicit", secretId: emulator.keys[0]!.secretId, secretKey: emulator.keys[0]!.secretKey },
  timeoutMs: 1000,
  maxAttempts: 3,
  ...over,
});

/** The client as the broker wires it, over the node transport. */
const stsClient = (over: StsConfig, env: Record<string, string> = {}, deps: Partial<StsDeps> = {}) =>
  createStsClient(over, env, { transport: nodeTransport(env), ...deps });

beforeAll(async () => {
  emulator = await startStsEmulator(ledgered());
});
afterAll(() => emulator.close());
afterEach(() => emulator.reset());

describe("createStsClient", () => {
  it("calls GetFederationToken with the encoded policy and a letters-only name", async () => {
    const issued = await stsClient(config()).requestCredentials(request);
    expect(issued.tmpSecretId).toMatch(/^AKID/);
    expect(issued.requestId).toBeTruthy();
    const record = emulator.issued.get(issued.tmpSecretId)!;
    expect(record.policy).toEqual(policy);
    expect(record.name).toBe(federationName(request.subjectHash));
    expect(record.name).toMatch(/^[a-z]+$/);
  });

  it("calls AssumeRole with the execution role's key, read from the environment at each call", async () => {
    const env: Record<string, string> = {};
    const sts = stsClient(config({ mode: "AssumeRole", roleArn: "qcs::cam::uin/1:roleName/r", credentials: { kind: "execution-role" } }), env);
    for (let round = 0; round < 2; round += 1) {
      // SCF rotates the role key; the next call must use the new one.
      const role = emulator.addTemporaryKey();
      Object.assign(env, { TENCENTCLOUD_SECRETID: role.secretId, TENCENTCLOUD_SECRETKEY: role.secretKey, TENCENTCLOUD_SESSIONTOKEN: role.token });
      const issued = await sts.requestCredentials(request);
      expect(emulator.issued.get(issued.tmpSecretId)).toMatchObject({
        action: "AssumeRole",
        issuedBy: role.secretId,
        roleSessionName: sessionName(request.subjectHash),
      });
    }
  });

  it("turns a wrong secret into a ConfigError that does not leak it", async () => {
    const sts = stsClient(config({ credentials: { kind: "explicit", secretId: emulator.keys[0]!.secretId, secretKey: "wrong-key-material" } }));
    const error = await sts.requestCredentials(request).catch((e: unknown) => e as BrokerError);
    expect(error).toMatchObject({ code: "ConfigError" });
    expect(`${(error as BrokerError).message} ${(error as BrokerError).detail}`).not.toContain("wrong-key-material");
    expect((error as BrokerError).detail).toContain("AuthFailure.SignatureFailure");
  });

  it("stops waiting at the deadline", async () => {
    emulator.inject({ kind: "hang" });
    // A call that kept waiting would run into the test's own timeout; the message names the budget it kept to.
    const error = await stsClient(config())
      .requestCredentials({ ...request, budgetMs: 200 })
      .catch((e: unknown) => e as BrokerError);
    expect(error).toMatchObject({ code: "UpstreamTimeout", message: expect.stringContaining("within 200 ms") });
    expect(emulator.calls).toHaveLength(1);
  });

  it("refuses an answer without credentials", async () => {
    emulator.inject({ kind: "malformed" });
    await expect(stsClient(config(), {}, { clock: fakeClock(Date.now()) }).requestCredentials(request)).rejects.toMatchObject({ code: "UpstreamError" });
  });
});

describe("retries", () => {
  type Fault = Parameters<StsEmulator["inject"]>[0];
  /** A fixed jitter on a clock that moves only when the code sleeps: a test sees the schedule without sleeping it. */
  const recorded = (random = 0.5) => {
    const clock = fakeClock(Date.now());
    const deps = { random: () => random, clock };
    return { waits: clock.slept, deps };
  };

  it.each<[string, Fault]>([
    ["an HTTP 502", { kind: "http", status: 502 }],
    ["an HTTP 503", { kind: "http", status: 503 }],
    ["a connection reset", { kind: "reset" }],
    ["a malformed answer", { kind: "malformed" }],
    ["throttling", { kind: "throttle" }],
    ["InvalidParameter.OverLimit", { kind: "error", code: "InvalidParameter.OverLimit" }],
    ["InternalError.SystemError", { kind: "error", code: "InternalError.SystemError" }],
    ["a bare InternalError", { kind: "error", code: "InternalError" }],
  ])("retries %s and then succeeds", async (_why, fault) => {
    emulator.inject(fault, { times: 2 });
    const { waits, deps } = recorded(0.5);
    const issued = await stsClient(config(), {}, deps).requestCredentials(request);
    expect(issued.tmpSecretId).toMatch(/^AKID/);
    expect(emulator.calls).toHaveLength(3);
    expect(emulator.stsCallCount()).toBe(1);
    // Full jitter over a doubling window: half of 100 ms, then half of 200 ms.
    expect(waits).toEqual([50, 100]);
  });

  it("retries a per-attempt timeout", async () => {
    emulator.inject({ kind: "hang" }, { times: 1 });
    const issued = await stsClient(config({ timeoutMs: 200 }), {}, recorded().deps).requestCredentials(request);
    expect(issued.tmpSecretId).toMatch(/^AKID/);
    expect(emulator.calls).toHaveLength(2);
  });

  it.each([
    "AuthFailure.SecretIdNotFound",
    "AuthFailure.SignatureFailure",
    "AuthFailure.SignatureExpire",
    "ResourceNotFound.RoleNotFound",
    "InvalidParameter.GrantOtherResource",
    "InvalidParameter.PolicyTooLong",
    "UnauthorizedOperation",
  ])("never retries %s", async (code) => {
    emulator.inject({ kind: "error", code });
    const { waits, deps } = recorded();
    await expect(stsClient(config(), {}, deps).requestCredentials(request)).rejects.toBeInstanceOf(BrokerError);
    expect(emulator.calls).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it("gives up after maxAttempts with the last failure's status and Retry-After", async () => {
    emulator.inject({ kind: "throttle" });
    const { waits, deps } = recorded(0.999);
    const error = (await stsClient(config({ maxAttempts: 4 }), {}, deps)
      .requestCredentials(request)
      .catch((e: unknown) => e)) as BrokerError;
    expect(error).toMatchObject({ code: "UpstreamThrottled", retryAfter: 1 });
    expect(error.detail).toContain("attempts=4");
    expect(emulator.calls).toHaveLength(4);
    expect(waits.map(Math.round)).toEqual([100, 200, 400]);
  });

  it("caps the backoff window at one second", async () => {
    emulator.inject({ kind: "http", status: 500 });
    const { waits, deps } = recorded(0.999);
    // A budget that fits the four waits: the clock moves by each one.
    await expect(stsClient(config({ maxAttempts: 5 }), {}, deps).requestCredentials({ ...request, budgetMs: 5000 })).rejects.toMatchObject({
      code: "UpstreamError",
    });
    expect(waits.map(Math.round)).toEqual([100, 200, 400, 799]);
  });

  it("makes one attempt when maxAttempts is 1", async () => {
    emulator.inject({ kind: "reset" });
    await expect(stsClient(config({ maxAttempts: 1 }), {}, recorded().deps).requestCredentials(request)).rejects.toMatchObject({ code: "UpstreamError" });
    expect(emulator.calls).toHaveLength(1);
  });

  it("keeps every attempt and wait inside the total deadline", async () => {
    emulator.inject({ kind: "hang" });
    const sts = stsClient(config({ timeoutMs: 300, maxAttempts: 5 }), {}, { random: () => 0 });
    const error = await sts.requestCredentials({ ...request, budgetMs: 700 }).catch((e: unknown) => e as BrokerError);
    expect(error).toMatchObject({ code: "UpstreamTimeout" });
    // 300 + 300 ms leave under 100 ms: a third attempt could not finish, so it is never started.
    expect(emulator.calls).toHaveLength(2);
  });

  it("does not wait out a backoff that would end past the deadline", async () => {
    emulator.inject({ kind: "http", status: 502 });
    const { waits, deps } = recorded(0.999);
    const error = await stsClient(config(), {}, deps)
      .requestCredentials({ ...request, budgetMs: 150 })
      .catch((e: unknown) => e as BrokerError);
    expect(error).toMatchObject({ code: "UpstreamError" });
    expect(emulator.calls).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it("does not call STS at all without time for one attempt", async () => {
    await expect(stsClient(config()).requestCredentials({ ...request, budgetMs: 50 })).rejects.toMatchObject({ code: "UpstreamTimeout" });
    expect(emulator.calls).toHaveLength(0);
  });
});

describe("isTransient", () => {
  it.each([
    [{ message: "network timeout at: http://127.0.0.1:1/" }, false, true],
    [{ message: "The user aborted a request." }, true, true],
    [{ message: "request to http://127.0.0.1:1/ failed, reason: read ECONNRESET" }, false, true],
    [{ message: "invalid json response body at http://127.0.0.1:1/" }, false, true],
    [{ httpCode: 502, message: "Bad Gateway" }, false, true],
    [{ httpCode: 429, message: "Too Many Requests" }, false, true],
    [{ httpCode: 404, message: "Not Found" }, false, false],
    [{ code: "RequestLimitExceeded.UinLimitExceeded" }, false, true],
    [{ code: "InternalError.DbError" }, false, true],
    [{ code: "InternalErrorX" }, false, false],
    [{ code: "AuthFailure.SignatureExpire" }, false, false],
    [{ code: "InvalidParameter" }, false, false],
  ])("%j (timed out: %s) -> %s", (error, timedOut, transient) => {
    expect(isTransient(error, timedOut)).toBe(transient);
  });
});

describe("names", () => {
  it("keeps session names in the documented charset and length", () => {
    expect(sessionName(request.subjectHash)).toMatch(/^[\w+=,.@-]{2,128}$/);
    expect(federationName(request.subjectHash)).toMatch(/^[a-z]{2,32}$/);
    expect(federationName(subjectHash({ sub: "a" }))).not.toBe(federationName(subjectHash({ sub: "b" })));
  });
});

describe("lifetimes: GetFederationToken gives a sub-account's key 129600 s, the root account's 7200 s", () => {
  const key = (subAccount: boolean): PermanentKey => ({
    secretId: `AKID${randomBytes(16).toString("hex")}`,
    secretKey: randomBytes(16).toString("hex"),
    uin: subAccount ? "100000000002" : "100000000001",
    appid: "1250000000",
    subAccount,
  });
  let keyed: StsEmulator;
  beforeAll(async () => {
    keyed = await startStsEmulator({ ...ledgered(), keys: [key(false), key(true)] });
  });
  afterAll(() => keyed.close());
  const clientFor = (which: PermanentKey) =>
    stsClient(
      config({
        endpoint: { host: new URL(keyed.url).host, protocol: "http://" },
        credentials: { kind: "explicit", secretId: which.secretId, secretKey: which.secretKey },
      }),
    );
  const long = { ...request, durationSeconds: 129_600 };

  it("issues 129600 s to a sub-account's key", async () => {
    await clientFor(keyed.keys[1]!).requestCredentials(long);
    expect(keyed.calls.at(-1)).toMatchObject({ action: "GetFederationToken", handled: true, params: { DurationSeconds: 129_600 } });
    expect(keyed.calls.at(-1)?.error).toBeUndefined();
  });

  it("says which limit applies when STS refuses the root account's key more than 7200 s", async () => {
    const root = clientFor(keyed.keys[0]!);
    await expect(root.requestCredentials({ ...request, durationSeconds: 7200 })).resolves.toBeDefined();
    const error = (await root.requestCredentials(long).catch((caught: unknown) => caught)) as BrokerError;
    expect(error).toMatchObject({ code: "ConfigError" });
    expect(error.message).toBe(
      "STS refused credentials for 129600 s (InvalidParameter.OverTimeError): GetFederationToken allows at most 129600 s with a sub-account's key, " +
        "7200 s with the root account's; lower STS_DURATION_SECONDS or the profile's durationSeconds, or use a sub-account's key",
    );
    expect(keyed.calls.filter((call) => call.error === "InvalidParameter.OverTimeError")).toHaveLength(1);
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
    [{ code: "InvalidParameter.OverTimeError" }, false, "ConfigError"],
    [{ code: "InternalError.SystemError" }, false, "UpstreamError"],
    [{ httpCode: 503, message: "Service Unavailable" }, false, "UpstreamError"],
    [{ httpCode: 429, message: "Too Many Requests" }, false, "UpstreamThrottled"],
    [{ message: "request to http://127.0.0.1:1/ failed, reason: connect ECONNREFUSED" }, false, "UpstreamError"],
    [{ message: "network timeout at: http://127.0.0.1:1/" }, false, "UpstreamTimeout"],
    [{ message: "The user aborted a request." }, true, "UpstreamTimeout"],
  ])("maps %j (timed out: %s) to %s", (error, timedOut, code) => {
    const mapped = stsError(error, timedOut as boolean, 1000);
    expect(mapped.code).toBe(code);
    if (code === "UpstreamThrottled") expect(mapped.retryAfter).toBeGreaterThan(0);
  });
});
