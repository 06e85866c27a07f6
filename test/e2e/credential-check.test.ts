/**
 * The timer function end to end: the broker's lib path -> STS emulator, cos-nodejs-sdk-v5 ->
 * loopback COS server (real signatures, session policies), failures -> loopback webhook.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CamPolicy } from "../../lib/cam/policy.ts";
import { type CheckStack, startCheckStack, timerEvent } from "../support/check.ts";
import { BUCKET } from "../support/harness.ts";
import { rsaKey, startKeyServer } from "../support/tokens.ts";

let stack: CheckStack;
beforeAll(async () => {
  stack = await startCheckStack();
});
afterAll(() => stack.close());
afterEach(() => {
  stack.emulator.reset();
  stack.webhook.bodies.length = 0;
  stack.bendPolicy = (policy) => policy;
});

const context = (remainingMs = 30_000) => ({ request_id: "scf-check-1", function_name: "cos-sts-broker-check", getRemainingTimeInMillis: () => remainingMs });

type Result = { name: string; status: string; detail: string; durationMs: number };

/** Runs the handler; returns its answer or its error, and the one report line. */
async function run(extra: Record<string, string> = {}, remainingMs?: number) {
  const { handle, lines } = stack.handler(extra);
  const outcome = await handle(timerEvent(), context(remainingMs)).then(
    (value) => ({ value, error: undefined }),
    (error: Error) => ({ value: undefined, error }),
  );
  const reports = lines.map((line) => JSON.parse(line) as Record<string, any>).filter((line) => line.event === "credential_check");
  expect(reports).toHaveLength(1);
  const report = reports[0]!;
  const byName = Object.fromEntries((report.results as Result[]).map((result) => [result.name, result]));
  for (const secret of stack.secrets()) {
    expect(lines.join("\n")).not.toContain(secret);
    expect(JSON.stringify(stack.webhook.bodies)).not.toContain(secret);
  }
  return { ...outcome, report, byName, lines };
}

const objectsUnder = (prefix: string) => stack.cos.storage.list(BUCKET, prefix).map((object) => object.key);

/** Adds the role's explicit deny of writes, as an account policy would. */
const denyWrites = (policy: CamPolicy): CamPolicy => ({
  ...policy,
  statement: [...policy.statement, { effect: "deny", action: ["name/cos:PutObject"], resource: ["*"] }],
});

/** What STS would grant if it ignored the broker's prefix: all of `users/`. */
const widen = (policy: CamPolicy): CamPolicy => ({
  ...policy,
  statement: policy.statement.map((statement) => ({
    ...statement,
    resource: statement.resource.map((resource) => resource.replace(/users\/__canary\/\*$/, "users/*")),
  })),
});

describe("the credential check, all green", () => {
  it("passes every check, reports them in one line, cleans up and alerts nobody", async () => {
    const { value, error, report, byName } = await run();
    expect(error).toBeUndefined();
    expect(value).toMatchObject({ ok: true });
    expect(report).toMatchObject({ level: "info", outcome: "passed", requestId: "scf-check-1", trigger: "cos-sts-broker-check timer every-5-minutes" });
    expect((report.results as Result[]).map((result) => [result.name, result.status])).toEqual([
      ["configuration", "pass"],
      ["issuance", "pass"],
      ["credential sanity", "pass"],
      ["fence probe", "pass"],
      ["identity provider keys", "skipped"],
      ["WeChat login", "skipped"],
    ]);
    for (const result of report.results as Result[]) expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(byName.issuance!.detail).toMatch(/'upload' credentials for users\/__canary\//);
    expect(byName["credential sanity"]!.detail).toMatch(/valid \d+ s of the 900 s asked for; clock skew -?\d+\.\d s \(limit 30 s\)/);
    // Derived from the upload profile: writing is allowed, reading and deleting are not.
    expect(byName["fence probe"]!.detail).toContain("PutObject users/__canary/credential-check.txt allowed");
    expect(byName["fence probe"]!.detail).toContain("HeadObject users/__canary/credential-check.txt denied");
    expect(byName["fence probe"]!.detail).toContain("GetObject users/__canary/credential-check.txt denied");
    expect(byName["fence probe"]!.detail).toContain("PutObject users/__canary-outside/credential-check.txt denied");
    expect(byName["fence probe"]!.detail).toContain("cleanup: deleted users/__canary/credential-check.txt");
    expect(byName["identity provider keys"]!.detail).toBe("not configured: login tokens are verified with JWT_SECRET");
    expect(objectsUnder("users/")).toEqual([]);
    expect(stack.webhook.bodies).toEqual([]);
  });

  it("issues through STS every time: no run is answered from an earlier one", async () => {
    await run();
    await run();
    // Per run: the canary's credential, then the delete-only one for the cleanup.
    expect(stack.emulator.stsCallCount("GetFederationToken")).toBe(4);
  });

  it("probes with the canary identity and profile it is told to use", async () => {
    const { byName, error } = await run({ CHECK_SUBJECT: "probe-bot", PREFIX_TEMPLATE: "tenants/{tenant}/{sub}/", CHECK_CLAIMS: '{"tenant":"acme"}' });
    expect(error).toBeUndefined();
    expect(byName.configuration!.detail).toContain("canary prefix tenants/acme/probe-bot/");
    expect(byName["fence probe"]!.detail).toContain("PutObject tenants/acme/probe-bot-outside/credential-check.txt denied");
  });
});

describe("the credential check, failing", () => {
  it("fails issuance when STS refuses the key, alerts, and throws after the report", async () => {
    stack.emulator.inject({ kind: "error", code: "AuthFailure.SecretIdNotFound" });
    const { error, report, byName } = await run();
    expect(error?.message).toMatch(/^credential check failed: issuance, credential sanity, fence probe/);
    expect(report).toMatchObject({ level: "error", outcome: "failed" });
    expect(byName.issuance).toMatchObject({ status: "fail", detail: expect.stringContaining("AuthFailure.SecretIdNotFound") });
    expect(byName["credential sanity"]).toMatchObject({ status: "not-run", detail: "needs 'issuance', which did not pass" });
    expect(byName["fence probe"]!.status).toBe("not-run");
    expect(stack.webhook.bodies).toHaveLength(1);
    const alert = stack.webhook.bodies[0] as { msgtype: string; text: { content: string } };
    expect(alert.msgtype).toBe("text");
    expect(alert.text.content).toContain("credential check failed");
    expect(alert.text.content).toContain("- issuance: FAILED: ConfigError: STS refused the broker's configuration (AuthFailure.SecretIdNotFound)");
    expect(alert.text.content).toContain("cos-sts-broker-check timer every-5-minutes, request scf-check-1");
  });

  it("fails the probe when COS denies the write inside the prefix", async () => {
    stack.bendPolicy = denyWrites;
    const { error, byName } = await run({ ALERT_WEBHOOK_FORMAT: "slack" });
    expect(error?.message).toBe("credential check failed: fence probe; see the credential_check log line");
    expect(byName["fence probe"]).toMatchObject({ status: "fail" });
    expect(byName["fence probe"]!.detail).toMatch(/^PutObject users\/__canary\/credential-check.txt denied, expected allowed; as expected: /);
    expect(stack.webhook.bodies).toHaveLength(1);
    expect((stack.webhook.bodies[0] as { text: string }).text).toContain(
      "- fence probe: FAILED: PutObject users/__canary/credential-check.txt denied, expected allowed",
    );
  });

  it("fails the probe when COS allows the write outside the prefix, and removes what it wrote there", async () => {
    stack.bendPolicy = widen;
    const { error, byName } = await run();
    expect(error).toBeInstanceOf(Error);
    expect(byName["fence probe"]!.detail).toMatch(/^PutObject users\/__canary-outside\/credential-check.txt allowed, expected denied; /);
    expect(byName["fence probe"]!.detail).toContain("cleanup: deleted users/__canary/credential-check.txt, users/__canary-outside/credential-check.txt");
    expect(objectsUnder("users/")).toEqual([]);
    expect((stack.webhook.bodies[0] as { text: { content: string } }).text.content).toContain(
      "users/__canary-outside/credential-check.txt allowed, expected denied",
    );
  });

  it("reports within budget when STS hangs: the step times out, the others are reported", async () => {
    stack.emulator.inject({ kind: "hang" });
    const started = Date.now();
    const { error, report, byName } = await run({ CHECK_BUDGET_MS: "3000", CHECK_STEP_TIMEOUT_MS: "1000" });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(error).toBeInstanceOf(Error);
    expect(report.durationMs).toBeLessThan(3000);
    expect(byName.issuance).toMatchObject({ status: "fail", detail: expect.stringMatching(/did not (answer|finish) within \d+ ms/) });
    expect(byName["fence probe"]!.status).toBe("not-run");
    expect(byName["identity provider keys"]!.status).toBe("skipped");
    expect(stack.webhook.bodies).toHaveLength(1);
  });

  it("fails a probe that hangs at its step timeout, and still runs the checks after it", async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const keys = await startKeyServer([(await rsaKey()).publicJwk]);
    try {
      const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const { byName } = await run({ COS_ENDPOINT: endpoint, CHECK_STEP_TIMEOUT_MS: "1000", JWT_SECRET: "", JWT_JWKS_URL: keys.jwksUrl });
      expect(byName["fence probe"]).toMatchObject({ status: "fail", detail: "did not finish within 1000 ms" });
      expect(byName["identity provider keys"]!.status).toBe("pass");
    } finally {
      silent.closeAllConnections();
      silent.close();
      await keys.close();
    }
  });

  it("bounds the run by the invocation's remaining time too", async () => {
    stack.emulator.inject({ kind: "hang" });
    const { report, byName } = await run({}, 1500);
    expect(report.durationMs).toBeLessThan(1500);
    expect(byName.issuance!.status).toBe("fail");
  });

  it("fails the configuration check with the broker's own start-up rules", async () => {
    const { error, byName } = await run({ COS_BUCKET: "" });
    expect(error).toBeInstanceOf(Error);
    expect(byName.configuration).toMatchObject({ status: "fail", detail: expect.stringContaining("COS_BUCKET is required") });
    expect(
      Object.values(byName)
        .slice(1)
        .map((result) => result.status),
    ).toEqual(["not-run", "not-run", "not-run", "not-run", "not-run"]);
    expect(stack.emulator.stsCallCount()).toBe(0);
    expect(stack.webhook.bodies).toHaveLength(1);
  });

  it("fails the configuration check on its own settings, naming the variable", async () => {
    const { error, byName } = await run({ CHECK_BUDGET_MS: "5" });
    expect(error).toBeInstanceOf(Error);
    expect(byName.configuration!.detail).toContain("CHECK_BUDGET_MS must be a whole number");
    expect(byName.configuration!.detail).not.toContain(stack.webhook.url);
  });

  it("names CHECK_PROFILE when it names no profile", async () => {
    const { byName } = await run({ CHECK_PROFILE: "nope" });
    expect(byName.issuance!.detail).toBe("CHECK_PROFILE 'nope': ScopeNotAllowed: no such profile; the profiles are upload, read, list, read-write, delete");
    expect(stack.emulator.stsCallCount()).toBe(0);
  });
});

describe("the identity provider check", () => {
  it("counts the JWKS's signing keys, and fails when the JWKS is down", async () => {
    const keys = await startKeyServer([(await rsaKey("k1")).publicJwk, (await rsaKey("k2", "PS256")).publicJwk]);
    try {
      const ok = await run({ JWT_SECRET: "", JWT_JWKS_URL: keys.jwksUrl });
      expect(ok.byName["identity provider keys"]).toMatchObject({ status: "pass", detail: `2 signing key(s) of 2 at ${keys.jwksUrl}` });
      const discovered = await run({ JWT_SECRET: "", JWT_ISSUER: keys.url });
      expect(discovered.byName["identity provider keys"]!.detail).toBe(`2 signing key(s) of 2 at ${keys.jwksUrl}, found by OIDC discovery`);
      keys.down = true;
      const down = await run({ JWT_SECRET: "", JWT_JWKS_URL: keys.jwksUrl });
      expect(down.error).toBeInstanceOf(Error);
      expect(down.byName["identity provider keys"]).toMatchObject({
        status: "fail",
        detail: "UpstreamError: the identity provider's signing keys could not be fetched (key source answered HTTP 503)",
      });
      expect(down.byName["fence probe"]!.status).toBe("pass");
      keys.down = false;
      keys.keys = [{ kty: "oct", k: "c2VjcmV0", alg: "HS256" }];
      const unusable = await run({ JWT_SECRET: "", JWT_JWKS_URL: keys.jwksUrl });
      expect(unusable.byName["identity provider keys"]).toMatchObject({
        status: "fail",
        detail: `${keys.jwksUrl} holds 1 key(s), none usable to sign login tokens`,
      });
      // One fetch per run, the failed one while down included: the check reads past any cache.
      expect(keys.fetches).toBe(4);
    } finally {
      await keys.close();
    }
  });
});

describe("the timer adapter", () => {
  it("refuses an event that is not a timer's, without checking anything", async () => {
    const { handle, lines } = stack.handler();
    for (const event of [{ httpMethod: "POST", path: "/" }, null, "Timer", { Type: "timer" }]) {
      await expect(handle(event, context())).resolves.toEqual({
        ok: false,
        error: { code: "BadRequest", message: expect.stringContaining("timer trigger events only") },
      });
    }
    expect(stack.emulator.stsCallCount()).toBe(0);
    expect(lines.map((line) => JSON.parse(line).event)).toEqual(Array(4).fill("credential_check_refused"));
  });
});
