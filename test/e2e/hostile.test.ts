/**
 * What may widen no grant, through the real handler (docs/contract.md, How users are kept
 * apart; docs/identity-providers.md, What a token must be): every forged token, widening
 * claim and scope escape is refused with a 4xx, and STS is never called. Forgeries against
 * JWT_SECRET run through every adapter, in test/e2e/contract.test.ts.
 */
import { createHmac, createPublicKey } from "node:crypto";
import { SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BUCKET, bearer, context, functionUrlEvent, type Harness, parse, REGION, startHarness } from "../support/harness.ts";
import { hsToken, type KeyPairInfo, type KeyServer, rawToken, rsaKey, signWith, startKeyServer, TEST_SECRET } from "../support/tokens.ts";

const now = () => Math.floor(Date.now() / 1000);

async function expectRefused(h: Harness, event: Record<string, unknown>, status: number, code: string) {
  const response = await h.handler(event, context());
  expect(response.statusCode, response.body).toBe(status);
  expect(parse(response).error.code).toBe(code);
  expect(response.body).not.toMatch(/tmpSecret|sessionToken|at .*\.ts:\d+/);
  expect(h.emulator.stsCallCount()).toBe(0);
}

describe("forged tokens against a JWKS", () => {
  let h: Harness;
  let keys: KeyServer;
  let key: KeyPairInfo;
  beforeAll(async () => {
    key = await rsaKey("main");
    keys = await startKeyServer([key.publicJwk]);
    h = await startHarness({ env: { JWT_SECRET: "", JWT_JWKS_URL: keys.jwksUrl } });
  });
  afterAll(async () => {
    await h.close();
    await keys.close();
  });
  afterEach(() => h.emulator.reset());

  it("issues for a token signed by the JWKS key (control)", async () => {
    expect((await h.handler(functionUrlEvent({ headers: bearer(await signWith(key)) }), context())).statusCode).toBe(200);
    h.emulator.reset();
  });

  it("refuses HS256 signed with the RSA public key (HS/RS confusion)", async () => {
    const pem = String(createPublicKey({ key: { ...key.publicJwk }, format: "jwk" }).export({ type: "spki", format: "pem" }));
    expect(pem).toContain("BEGIN PUBLIC KEY");
    for (const material of [pem, JSON.stringify(key.publicJwk)]) {
      const token = await new SignJWT({ sub: "mallory", exp: now() + 60 })
        .setProtectedHeader({ alg: "HS256", kid: "main" })
        .sign(new TextEncoder().encode(material));
      await expectRefused(h, functionUrlEvent({ headers: bearer(token) }), 401, "InvalidToken");
    }
  });

  it("refuses an HS256 token signed with a shared client secret", async () => {
    const unsigned = rawToken({ alg: "HS256", kid: "main" }, { sub: "mallory", exp: now() + 60 }).slice(0, -1);
    const token = `${unsigned}.${createHmac("sha256", TEST_SECRET).update(unsigned).digest("base64url")}`;
    await expectRefused(h, functionUrlEvent({ headers: bearer(token) }), 401, "InvalidToken");
  });

  it("takes no key from jku, x5u or jwk headers", async () => {
    const attacker = await rsaKey("main");
    for (const header of [{ jku: `${keys.url}/evil.json` }, { x5u: `${keys.url}/evil.pem` }, { jwk: attacker.publicJwk }]) {
      await expectRefused(h, functionUrlEvent({ headers: bearer(await signWith(attacker, { sub: "mallory" }, header)) }), 401, "InvalidToken");
    }
  });
});

describe("claims and requests that try to widen the grant", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { PREFIX_TEMPLATE: "tenants/{tenant}/users/{sub}/" } });
  });
  afterAll(() => h.close());
  afterEach(() => h.emulator.reset());

  it.each([
    ["user1*", "acme"],
    ["..", "acme"],
    ["alice", "acme/../other"],
    ["alice", "*"],
    ["alice", ""],
    ["a%2F..%2Fb", "acme"],
    ["x".repeat(129), "acme"],
  ])("refuses sub %j / tenant %j with 403 IdentityNotAllowed", async (sub, tenant) => {
    await expectRefused(h, functionUrlEvent({ headers: bearer(await hsToken({ sub, tenant })) }), 403, "IdentityNotAllowed");
  });

  it("suggests {sub_hash}", async () => {
    const response = await h.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub: "a/b", tenant: "acme" })) }), context());
    expect(parse(response).error.message).toContain("{sub_hash}");
  });

  const scopeItem = (over: Record<string, unknown>) => ({
    action: "name/cos:PutObject",
    bucket: BUCKET,
    region: REGION,
    prefix: "tenants/acme/users/user1/a.png",
    ...over,
  });
  it.each<[string, Record<string, unknown>]>([
    ["key with a wildcard", { key: "*" }],
    ["key that climbs out", { key: "../../user10/a.png" }],
    ["key with a leading slash", { key: "/tenants/acme/users/user10/a.png" }],
    ["key with a question mark", { key: "a?.png" }],
    ["scope on user10 (the official check's user1 vs user10 hole)", { scope: [scopeItem({ prefix: "tenants/acme/users/user10/a.png" })] }],
    ["scope on user1* ", { scope: [scopeItem({ prefix: "tenants/acme/users/user1*" })] }],
    ["scope with a wildcard action", { scope: [scopeItem({ action: "name/cos:*" })] }],
    ["scope with an action outside the profile", { scope: [scopeItem({ action: "name/cos:DeleteObject" })] }],
    ["scope on another bucket", { scope: [scopeItem({ bucket: "victim-1250000000" })] }],
    ["scope on another region", { scope: [scopeItem({ region: "ap-beijing" })] }],
    ["one bad item among good ones", { scope: [scopeItem({}), scopeItem({ prefix: "tenants/other/users/user1/a.png" })] }],
    ["an unknown profile", { profile: "read-everything" }],
  ])("refuses %s with 403 ScopeNotAllowed", async (_why, body) => {
    await expectRefused(
      h,
      functionUrlEvent({ headers: bearer(await hsToken({ sub: "user1", tenant: "acme" })), body: JSON.stringify(body) }),
      403,
      "ScopeNotAllowed",
    );
  });
});
