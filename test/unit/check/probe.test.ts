/** lib/probe: expected verdicts derived from the policy, against the loopback COS server; and the judgement. */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CosServer, credentialsFrom, startCosServer } from "../../../dev/cos-server/index.ts";
import type { StsEmulator } from "../../../dev/sts-emulator/index.ts";
import { type CamPolicy, resourceOf } from "../../../lib/cam/policy.ts";
import { cleanupPolicy, judgeProbe, type ProbePlan, type ProbeResult, probeFence } from "../../../lib/check/probe.ts";
import { encodePolicy } from "../../../lib/grant/policy.ts";
import { createStsClient } from "../../../lib/sts/client.ts";
import { nodeTransport } from "../../../lib/sts/node-transport.ts";
import { APPID, BUCKET, REGION, startTestEmulator } from "../../support/harness.ts";

const bucket = { bucket: BUCKET, region: REGION, appid: APPID };
let emulator: StsEmulator;
let cos: CosServer;
beforeAll(async () => {
  emulator = await startTestEmulator();
  cos = await startCosServer({ credentials: credentialsFrom(emulator), region: REGION, buckets: [BUCKET] });
});
afterAll(async () => {
  await cos.close();
  await emulator.close();
});

const grant = (actions: string[], resource = "users/p/*"): CamPolicy => ({
  version: "2.0",
  statement: [{ effect: "allow", action: actions.map((action) => `name/cos:${action}`), resource: [resourceOf(bucket, resource)] }],
});

async function probe(policy: CamPolicy) {
  const key = emulator.keys[0]!;
  const sts = createStsClient(
    {
      mode: "GetFederationToken",
      roleArn: undefined,
      endpoint: { host: new URL(emulator.url).host, protocol: "http://" },
      region: REGION,
      credentials: { kind: "explicit", secretId: key.secretId, secretKey: key.secretKey },
      maxAttempts: 1,
      timeoutMs: 2000,
    },
    {},
    { transport: nodeTransport() },
  );
  const issued = await sts.requestCredentials({
    encodedPolicy: encodePolicy(policy),
    subjectHash: "c2VjcmV0LWhhc2gtb2YtdGhlLWNhbmFyeQ",
    durationSeconds: 900,
    budgetMs: 2000,
  });
  const plan: ProbePlan = { bucket, endpoint: cos.url, policy, prefix: "users/p/", outsidePrefix: "users/p-outside/" };
  return probeFence(plan, issued, { signal: new AbortController().signal, timeLeftMs: () => 5000 });
}

const summary = (results: readonly ProbeResult[]) => results.map((r) => `${r.request} ${r.expected}/${r.actual}`);

describe("probeFence", () => {
  it("derives each expectation from the policy: a read-write-delete grant leaves GetBucket as the action outside it", async () => {
    const report = await probe(grant(["PutObject", "HeadObject", "GetObject", "DeleteObject"]));
    expect(summary(report.results)).toEqual([
      "PutObject users/p/credential-check.txt allowed/allowed",
      "HeadObject users/p/credential-check.txt allowed/allowed",
      "GetBucket ?prefix=users/p/ denied/denied",
      "DeleteObject users/p/credential-check.txt allowed/allowed",
      "PutObject users/p-outside/credential-check.txt denied/denied",
    ]);
    expect(report.leftovers).toEqual([]);
    expect(judgeProbe(report).ok).toBe(true);
  });

  it("counts a 404 as allowed (authorization comes first) and leaves what it could not delete", async () => {
    const report = await probe(grant(["PutObject", "HeadObject"]));
    expect(summary(report.results)).toContain("DeleteObject users/p/credential-check.txt denied/denied");
    expect(report.leftovers).toEqual(["users/p/credential-check.txt"]);
    const read = await probe(grant(["HeadObject"], "users/p/nothing-here/*"));
    expect(read.results.every((r) => r.actual === r.expected)).toBe(true);
    const head = await probe(grant(["HeadObject"]));
    expect(head.results[1]).toMatchObject({ expected: "allowed", actual: "allowed" });
  });

  it("notes when nothing outside the profile is left to try", async () => {
    const report = await probe({
      version: "2.0",
      statement: [...grant(["PutObject", "GetObject", "DeleteObject"]).statement, ...grant(["GetBucket"], "").statement],
    });
    expect(report.results.map((r) => r.request.split(" ")[0])).toEqual(["PutObject", "HeadObject", "DeleteObject", "PutObject"]);
    expect(judgeProbe(report).detail).toContain("no action outside the profile to try");
  });

  it("sends nothing once its step has timed out", async () => {
    const controller = new AbortController();
    controller.abort();
    const plan: ProbePlan = { bucket, endpoint: cos.url, policy: grant(["PutObject"]), prefix: "users/p/", outsidePrefix: "users/q/" };
    const before = cos.calls.length;
    const report = await probeFence(
      plan,
      { tmpSecretId: "AKIDx", tmpSecretKey: "k", sessionToken: "t" },
      { signal: controller.signal, timeLeftMs: () => 1000 },
    );
    expect(report.results).toEqual([]);
    expect(cos.calls.length).toBe(before);
  });
});

describe("judgeProbe", () => {
  const result = (over: Partial<ProbeResult>): ProbeResult => ({
    request: "PutObject users/p/x",
    expected: "allowed",
    actual: "allowed",
    answer: "HTTP 2xx",
    mustDeny: false,
    ...over,
  });
  const outsideProfile = result({ request: "GetObject users/p/x", expected: "denied", actual: "denied", mustDeny: true });

  it("passes when every answer is what the policy says and one allow proves the credential", () => {
    expect(judgeProbe({ results: [result({}), outsideProfile], leftovers: [], triedOutsideProfile: true })).toEqual({
      ok: true,
      detail: "PutObject users/p/x allowed; GetObject users/p/x denied",
    });
  });

  it("fails on a denial that should have been an allow, or an allow that should have been a denial", () => {
    expect(judgeProbe({ results: [result({ actual: "denied" }), outsideProfile], leftovers: [], triedOutsideProfile: true })).toEqual({
      ok: false,
      detail: "PutObject users/p/x denied, expected allowed; as expected: GetObject users/p/x denied",
    });
    const leak = judgeProbe({ results: [result({}), { ...outsideProfile, actual: "allowed" }], leftovers: [], triedOutsideProfile: true });
    expect(leak.ok).toBe(false);
    expect(leak.detail).toMatch(/^GetObject users\/p\/x allowed, expected denied;/);
  });

  it("fails when the policy itself allows what must be refused, even if COS agrees with it", () => {
    const wide = judgeProbe({ results: [result({}), result({ request: "PutObject users/q/x", mustDeny: true })], leftovers: [], triedOutsideProfile: true });
    expect(wide.ok).toBe(false);
    expect(wide.detail).toContain("PutObject users/q/x allowed, expected denied, and the issued policy itself allows it");
  });

  it("fails on an error answer, and when nothing shows the credential works", () => {
    expect(
      judgeProbe({ results: [result({ actual: "error", answer: "HTTP 403 SignatureDoesNotMatch" }), outsideProfile], leftovers: [], triedOutsideProfile: true })
        .detail,
    ).toMatch(/^PutObject users\/p\/x failed \(HTTP 403 SignatureDoesNotMatch\), expected allowed/);
    const nothing = judgeProbe({ results: [result({ expected: "denied", actual: "denied" }), outsideProfile], leftovers: [], triedOutsideProfile: true });
    expect(nothing.ok).toBe(false);
    expect(nothing.detail).toContain("allows none of the probe's requests");
  });
});

describe("judgeProbe, for any answers", () => {
  const answer = fc.constantFrom("allowed" as const, "denied" as const);
  const anyResult = fc.record({
    request: fc.constantFrom("PutObject users/p/x", "GetObject users/p/x", "PutObject users/q/x"),
    expected: answer,
    actual: fc.oneof(answer, fc.constant("error" as const)),
    answer: fc.constant("HTTP 2xx"),
    mustDeny: fc.boolean(),
  });

  it("passes only when nothing outside the fence was allowed, every answer matched, and one allow proved the credential", () => {
    fc.assert(
      fc.property(fc.array(anyResult, { maxLength: 6 }), fc.boolean(), (results, triedOutsideProfile) => {
        const { ok } = judgeProbe({ results, leftovers: [], triedOutsideProfile });
        const fenced = results.every((r) => !r.mustDeny || (r.expected === "denied" && r.actual === "denied"));
        const matched = results.every((r) => r.actual === r.expected);
        const proven = results.some((r) => r.expected === "allowed" && r.actual === "allowed");
        expect(ok).toBe(fenced && matched && proven);
      }),
    );
  });
});

describe("cleanupPolicy", () => {
  it("grants DeleteObject on exactly the given objects", () => {
    expect(cleanupPolicy(bucket, ["users/p/a", "users/q/a"])).toEqual({
      version: "2.0",
      statement: [{ effect: "allow", action: ["name/cos:DeleteObject"], resource: [resourceOf(bucket, "users/p/a"), resourceOf(bucket, "users/q/a")] }],
    });
  });
});
