import { createHmac } from "node:crypto";
import fc from "fast-check";
import { exportSPKI, generateKeyPair, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JwtConfig } from "../../../lib/identity/settings.ts";
import { createTokenVerifier, MAX_TOKEN_BYTES } from "../../../lib/identity/verify.ts";
import type { BrokerError } from "../../../lib/shared/errors.ts";
import { fakeClock } from "../../support/clock.ts";
import { outcomeOf } from "../../support/outcome.ts";
import { hsToken, type KeyPairInfo, type KeyServer, rawToken, rsaKey, secretBytes, signWith, startKeyServer, TEST_SECRET } from "../../support/tokens.ts";

const rules = { issuers: undefined, audience: undefined, requiredClaims: new Map(), maxLifetimeSeconds: 86_400, clockToleranceSeconds: 30 };
const secretConfig = (over: Partial<JwtConfig> = {}): JwtConfig => ({ ...rules, secret: secretBytes(), keySet: undefined, ...over });
const jwksConfig = (url: string, over: Partial<JwtConfig> = {}): JwtConfig => ({
  ...rules,
  secret: undefined,
  keySet: { source: "jwks", url: new URL(url) },
  ...over,
});
const discoveryConfig = (issuer: string): JwtConfig => ({ ...rules, issuers: [issuer], secret: undefined, keySet: { source: "discovery", issuer } });
const now = () => Math.floor(Date.now() / 1000);

describe("createTokenVerifier with JWT_SECRET", () => {
  const verify = createTokenVerifier(secretConfig());

  it("accepts a valid HS256/384/512 token and returns its claims", async () => {
    for (const alg of ["HS256", "HS384", "HS512"]) {
      await expect(verify(await hsToken({ sub: "alice", role: "x" }, { alg }))).resolves.toMatchObject({ sub: "alice", role: "x" });
    }
  });

  it.each<[string, () => Promise<string>]>([
    ["alg none", async () => rawToken({ alg: "none" }, { sub: "alice", exp: now() + 60 })],
    ["alg none with a signature", async () => rawToken({ alg: "none" }, { sub: "alice", exp: now() + 60 }, "c2ln")],
    ["a wrong secret", () => hsToken({ sub: "alice" }, { secret: "another-secret-that-is-long-enough-0123456789" })],
    ["an expired token", () => hsToken({ sub: "alice", exp: now() - 120 })],
    ["nbf in the future", () => hsToken({ sub: "alice", nbf: now() + 300 })],
    ["no exp", () => hsToken({ sub: "alice" }, { exp: null })],
    ["a string exp", () => hsToken({ sub: "alice", exp: String(now() + 60) as unknown as number })],
    ["no sub", () => hsToken({ name: "alice" })],
    ["a numeric sub", () => hsToken({ sub: 42 as unknown as string })],
    ["an object sub", () => hsToken({ sub: { id: "alice" } as unknown as string })],
    ["an empty sub", () => hsToken({ sub: "" })],
    [
      "a tampered payload",
      async () => {
        const [h, , s] = (await hsToken({ sub: "alice" })).split(".");
        return `${h}.${Buffer.from(JSON.stringify({ sub: "bob", exp: now() + 60 })).toString("base64url")}.${s}`;
      },
    ],
    [
      "an unknown crit header",
      async () => {
        const unsigned = rawToken({ alg: "HS256", crit: ["x-unknown"], "x-unknown": 1 }, { sub: "alice", exp: now() + 60 }).slice(0, -1);
        return `${unsigned}.${createHmac("sha256", TEST_SECRET).update(unsigned).digest("base64url")}`;
      },
    ],
    ["garbage", async () => "not-a-jwt"],
    ["two segments", async () => "a.b"],
    ["empty segments", async () => ".."],
    ["a JWE-shaped token", async () => "a.b.c.d.e"],
    ["an oversize token", () => hsToken({ sub: "alice", pad: "x".repeat(MAX_TOKEN_BYTES) })],
  ])("refuses %s with InvalidToken", async (_why, make) => {
    expect(await outcomeOf(verify(await make()))).toBe("InvalidToken");
  });

  it("refuses an RS256 token when configured for HS", async () => {
    const key = await rsaKey();
    expect(await outcomeOf(verify(await signWith(key)))).toBe("InvalidToken");
  });

  it("checks iss and aud when configured", async () => {
    const strict = createTokenVerifier(secretConfig({ issuers: ["https://id.example"], audience: ["app"] }));
    await expect(strict(await hsToken({ sub: "a", iss: "https://id.example", aud: "app" }))).resolves.toBeTruthy();
    for (const claims of [
      { sub: "a", iss: "https://evil.example", aud: "app" },
      { sub: "a", iss: "https://id.example", aud: "other" },
      { sub: "a", aud: "app" },
    ]) {
      expect(await outcomeOf(strict(await hsToken(claims)))).toBe("InvalidToken");
    }
  });

  it("allows a small clock skew, no more", async () => {
    expect(await outcomeOf(verify(await hsToken({ sub: "a", exp: now() - 10 })))).toBe("ok");
    expect(await outcomeOf(verify(await hsToken({ sub: "a", nbf: now() + 10 })))).toBe("ok");
    expect(await outcomeOf(verify(await hsToken({ sub: "a", exp: now() - 90 })))).toBe("InvalidToken");
  });

  it("uses the injected clock", async () => {
    const later = createTokenVerifier(secretConfig(), { clock: fakeClock(Date.now() + 3600_000) });
    expect(await outcomeOf(later(await hsToken({ sub: "a", exp: now() + 600 })))).toBe("InvalidToken");
  });

  it("property: arbitrary strings never verify and never throw anything but InvalidToken", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: "binary" }), fc.stringMatching(/^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/)), async (token) => {
        expect(await outcomeOf(verify(token))).toBe("InvalidToken");
      }),
      { numRuns: 300 },
    );
  });
});

describe("the HS* path agrees with jose's jwtVerify", () => {
  const issuer = "https://id.example";
  const verify = createTokenVerifier(secretConfig({ issuers: [issuer], audience: ["app"] }));
  const b64 = (value: string | Buffer) => Buffer.from(value).toString("base64url");
  /** Mostly the honest value, sometimes a hostile one, sometimes absent. */
  const mostly = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>) =>
    fc.oneof({ weight: 6, arbitrary: good }, { weight: 2, arbitrary: bad }, { weight: 1, arbitrary: fc.constant(undefined) });
  const at = (min: number, max: number) => fc.integer({ min, max }).map((offset) => now() + offset);
  const claims = fc.oneof(
    {
      weight: 9,
      arbitrary: fc.record({
        sub: mostly(fc.constant("alice"), fc.constantFrom("", 7, null)),
        exp: mostly(at(60, 3600), fc.oneof(at(-3600, -31), fc.constant("soon"))),
        nbf: mostly(at(-3600, 0), at(31, 3600)),
        iat: mostly(at(-60, 0), fc.constant("x")),
        iss: mostly(fc.constant(issuer), fc.constant("https://evil.example")),
        aud: mostly(fc.constantFrom("app", ["app", "x"]), fc.constant("other")),
      }),
    },
    { weight: 1, arbitrary: fc.jsonValue() },
  );
  const header = fc.oneof(
    {
      weight: 9,
      arbitrary: fc.record({
        alg: mostly(fc.constantFrom("HS256", "HS384", "HS512"), fc.constantFrom("none", "RS256", "hs256", "HS1")),
        typ: fc.constantFrom(undefined, "JWT", "at+jwt"),
        kid: fc.option(fc.string(), { nil: undefined }),
        crit: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(["b64"], ["exp"], []) }),
        b64: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.boolean() }),
      }),
    },
    { weight: 1, arbitrary: fc.jsonValue() },
  );
  const digestOf = (alg: unknown) => (alg === "HS384" || alg === "HS512" ? `sha${alg.slice(2)}` : "sha256");
  const signature = (alg: unknown, signingInput: string) =>
    fc.oneof(
      { weight: 6, arbitrary: fc.constant(b64(createHmac(digestOf(alg), TEST_SECRET).update(signingInput).digest())) },
      { weight: 1, arbitrary: fc.constant(b64(createHmac(digestOf(alg), "another secret entirely").update(signingInput).digest())) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 80 }).map((bytes) => b64(Buffer.from(bytes))) },
      { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
    );
  const token = fc.tuple(header, claims).chain(([h, p]) => {
    const signingInput = `${b64(JSON.stringify(h) ?? "")}.${b64(JSON.stringify(p) ?? "")}`;
    return fc.tuple(
      fc.constant(h),
      signature((h as { alg?: unknown } | null)?.alg, signingInput).map((sig) => `${signingInput}.${sig}`),
    );
  });

  it("property: never accepts what jwtVerify refuses, and accepts what it accepts (bar JWS extensions)", async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(token, async ([h, jwt]) => {
        const ours = await verify(jwt).then(
          (payload) => ({ ok: true as const, payload }),
          () => ({ ok: false as const }),
        );
        const theirs = await jwtVerify(jwt, secretBytes(), {
          algorithms: ["HS256", "HS384", "HS512"],
          issuer,
          audience: ["app"],
          clockTolerance: 30,
          requiredClaims: ["exp", "sub"],
        }).then(
          ({ payload }) => ({ ok: typeof payload.sub === "string" && payload.sub !== "", payload }),
          () => ({ ok: false as const, payload: undefined }),
        );
        if (ours.ok) {
          accepted += 1;
          expect(theirs.ok).toBe(true);
          expect(ours.payload).toEqual(theirs.payload);
        }
        const extended = typeof h === "object" && h !== null && ("crit" in h || "b64" in h);
        if (!extended) expect(ours.ok).toBe(theirs.ok);
      }),
      { numRuns: 1500 },
    );
    // The generators must reach the accepting path often enough to mean something.
    expect(accepted).toBeGreaterThan(10);
  });
});

describe("createTokenVerifier with a JWKS", () => {
  let server: KeyServer;
  let key: KeyPairInfo;
  let verify: ReturnType<typeof createTokenVerifier>;

  beforeAll(async () => {
    key = await rsaKey("k1");
    server = await startKeyServer([key.publicJwk]);
    verify = createTokenVerifier(jwksConfig(server.jwksUrl));
  });
  afterAll(() => server.close());

  it("accepts a token signed by a key in the set", async () => {
    await expect(verify(await signWith(key, { sub: "alice" }))).resolves.toMatchObject({ sub: "alice" });
  });

  it("accepts ES256 and EdDSA keys too", async () => {
    for (const alg of ["ES256", "EdDSA"]) {
      const other = await rsaKey(`k-${alg}`, alg);
      server.keys = [...server.keys, other.publicJwk];
      const fresh = createTokenVerifier(jwksConfig(server.jwksUrl));
      await expect(fresh(await signWith(other))).resolves.toMatchObject({ sub: "alice" });
    }
  });

  it("refuses HS256 signed with the public key (algorithm confusion)", async () => {
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    const pem = await exportSPKI(publicKey);
    const jwkJson = JSON.stringify(key.publicJwk);
    for (const material of [pem, jwkJson, key.publicJwk.n ?? ""]) {
      const token = await new SignJWT({ sub: "mallory", exp: now() + 60 })
        .setProtectedHeader({ alg: "HS256", kid: "k1" })
        .sign(new TextEncoder().encode(material));
      expect(await outcomeOf(verify(token))).toBe("InvalidToken");
    }
  });

  it("refuses an HS256 token signed with a shared secret", async () => {
    expect(await outcomeOf(verify(await hsToken({ sub: "alice" }, { secret: TEST_SECRET, header: { kid: "k1" } })))).toBe("InvalidToken");
  });

  it("ignores key locations in the token header (jwk, jku, x5u)", async () => {
    const attacker = await rsaKey("k1");
    const fetchesBefore = server.fetches;
    for (const header of [{ jwk: attacker.publicJwk }, { jku: "http://127.0.0.1:1/evil.json" }, { x5u: "http://127.0.0.1:1/evil.pem" }]) {
      expect(await outcomeOf(verify(await signWith(attacker, { sub: "mallory" }, header)))).toBe("InvalidToken");
    }
    // At most the one cooldown-bounded refetch for the unknown key material.
    expect(server.fetches - fetchesBefore).toBeLessThanOrEqual(1);
  });

  it("refuses a token whose kid is not in the set", async () => {
    const stranger = await rsaKey("unknown");
    expect(await outcomeOf(verify(await signWith(stranger)))).toBe("InvalidToken");
  });

  it("answers UpstreamError, never a pass, when the JWKS cannot be fetched", async () => {
    const down = createTokenVerifier(jwksConfig("http://127.0.0.1:9/jwks.json"));
    expect(await outcomeOf(down(await signWith(key)))).toBe("UpstreamError");
  });
});

describe("createTokenVerifier with OIDC discovery", () => {
  let server: KeyServer;
  let key: KeyPairInfo;

  beforeAll(async () => {
    key = await rsaKey("d1", "ES256");
    server = await startKeyServer([key.publicJwk]);
  });
  afterAll(() => server.close());

  it("finds the JWKS from the issuer's discovery document, once", async () => {
    const verify = createTokenVerifier(discoveryConfig(server.url));
    for (let i = 0; i < 3; i += 1) {
      await expect(verify(await signWith(key, { sub: "alice", iss: server.url }))).resolves.toMatchObject({ sub: "alice" });
    }
    expect(server.discoveryFetches).toBe(1);
    expect(await outcomeOf(verify(await signWith(key, { sub: "alice", iss: "https://other.example" })))).toBe("InvalidToken");
  });

  it("refuses a discovery document that names another issuer", async () => {
    const verify = createTokenVerifier(discoveryConfig(`${server.url}/tenant`));
    expect(await outcomeOf(verify(await signWith(key, { sub: "alice", iss: `${server.url}/tenant` })))).toBe("UpstreamError");
  });
});

describe("the broker's own claim rules", () => {
  const verifyWith = (over: Partial<JwtConfig>) => createTokenVerifier(secretConfig(over));

  it("JWT_REQUIRED_CLAIMS: each claim must be written as the value given, a string, a number or a boolean", async () => {
    const verify = verifyWith({
      requiredClaims: new Map([
        ["token_use", "id"],
        ["email_verified", "true"],
        ["tier", "3"],
      ]),
    });
    const honest = { sub: "a", token_use: "id", email_verified: true, tier: 3 };
    expect(await outcomeOf(verify(await hsToken(honest)))).toBe("ok");
    expect(await outcomeOf(verify(await hsToken({ ...honest, email_verified: "true", tier: "3" })))).toBe("ok");
    for (const claims of [
      { ...honest, token_use: "access" },
      { ...honest, email_verified: false },
      { ...honest, token_use: ["id"] },
      { ...honest, token_use: { id: true } },
      { ...honest, tier: 3.5 },
      { sub: "a", email_verified: true, tier: 3 },
    ]) {
      expect(await outcomeOf(verify(await hsToken(claims))), JSON.stringify(claims)).toBe("InvalidToken");
    }
    await expect(verify(await hsToken({ ...honest, token_use: "access" }))).rejects.toThrow("token 'token_use' claim does not have the required value");
  });

  it("JWT_MAX_TOKEN_LIFETIME_SECONDS: a token may not live longer, nor be issued in the future", async () => {
    const verify = verifyWith({ maxLifetimeSeconds: 3600 });
    const iat = now();
    expect(await outcomeOf(verify(await hsToken({ sub: "a", iat, exp: iat + 3600 })))).toBe("ok");
    expect(await outcomeOf(verify(await hsToken({ sub: "a", iat: iat + 20, exp: iat + 600 })))).toBe("ok");
    expect(await outcomeOf(verify(await hsToken({ sub: "a", exp: iat + 3500 })))).toBe("ok");
    for (const [why, claims] of [
      ["exp in milliseconds", { sub: "a", iat, exp: iat * 1000 }],
      ["one second too long", { sub: "a", iat, exp: iat + 3601 }],
      ["issued in the future", { sub: "a", iat: iat + 120, exp: iat + 600 }],
      ["no iat, and alive too long from now", { sub: "a", exp: iat + 7200 }],
    ] as const) {
      expect(await outcomeOf(verify(await hsToken(claims))), why).toBe("InvalidToken");
    }
  });

  it("JWT_CLOCK_TOLERANCE_SECONDS: the skew allowed on exp, nbf and iat", async () => {
    const strict = verifyWith({ clockToleranceSeconds: 0 });
    expect(await outcomeOf(strict(await hsToken({ sub: "a", exp: now() - 5 })))).toBe("InvalidToken");
    expect(await outcomeOf(strict(await hsToken({ sub: "a", nbf: now() + 5 })))).toBe("InvalidToken");
    expect(await outcomeOf(verifyWith({})(await hsToken({ sub: "a", exp: now() - 5 })))).toBe("ok");
  });

  it("names the identity by the first issuer of JWT_ISSUER, whichever spelling the token carries", async () => {
    const verify = verifyWith({ issuers: ["https://accounts.google.com", "accounts.google.com"] });
    for (const iss of ["https://accounts.google.com", "accounts.google.com"]) {
      await expect(verify(await hsToken({ sub: "110169484474386276334", iss }))).resolves.toMatchObject({ iss: "https://accounts.google.com" });
    }
    expect(await outcomeOf(verify(await hsToken({ sub: "1", iss: "https://accounts.google.com/" })))).toBe("InvalidToken");
  });

  it("takes the token's iss without JWT_ISSUER, and none as the empty issuer", async () => {
    const verify = verifyWith({});
    await expect(verify(await hsToken({ sub: "a", iss: "https://id.example" }))).resolves.toMatchObject({ iss: "https://id.example", sub: "a" });
    await expect(verify(await hsToken({ sub: "a" }))).resolves.toMatchObject({ iss: "", sub: "a" });
  });

  it.each<[string, Record<string, unknown>]>([
    ["NUL in iss", { iss: "a\u0000b", sub: "c" }],
    ["NUL in sub", { iss: "a", sub: "b\u0000c" }],
    ["a newline in sub", { sub: "a\nb" }],
    ["DEL in iss", { iss: "a\u007f", sub: "b" }],
    ["a C1 control in sub", { sub: "a\u0085" }],
    ["a lone surrogate in sub", { sub: "a\ud800" }],
    ["a lone surrogate in iss", { iss: "\udc00", sub: "a" }],
    ["a numeric iss", { iss: 42, sub: "a" }],
  ])("refuses %s: iss NUL sub must name one identity", async (_why, claims) => {
    expect(await outcomeOf(verifyWith({})(await hsToken(claims as JWTPayload)))).toBe("InvalidToken");
  });
});

describe("a secret and a JWKS together", () => {
  let server: KeyServer;
  let key: KeyPairInfo;
  let verify: ReturnType<typeof createTokenVerifier>;

  beforeAll(async () => {
    key = await rsaKey("es-1", "ES256");
    server = await startKeyServer([key.publicJwk]);
    verify = createTokenVerifier(jwksConfig(server.jwksUrl, { secret: secretBytes() }));
  });
  afterAll(() => server.close());

  it("verifies HS* tokens with the secret and asymmetric ones with the key set", async () => {
    await expect(verify(await hsToken({ sub: "legacy" }))).resolves.toMatchObject({ sub: "legacy" });
    await expect(verify(await signWith(key, { sub: "modern" }))).resolves.toMatchObject({ sub: "modern" });
  });

  it("never lets one family's key stand in for the other's", async () => {
    const jwk = JSON.stringify(key.publicJwk);
    const confused = await new SignJWT({ sub: "mallory", exp: now() + 60 })
      .setProtectedHeader({ alg: "HS256", kid: "es-1" })
      .sign(new TextEncoder().encode(jwk));
    const stranger = await signWith(await rsaKey("es-1", "ES256"), { sub: "mallory" });
    const none = rawToken({ alg: "none" }, { sub: "mallory", exp: now() + 60 });
    for (const token of [confused, stranger, none]) expect(await outcomeOf(verify(token))).toBe("InvalidToken");
  });

  it("refuses an asymmetric token when only a secret is configured, and an HS* one when only a key set is", async () => {
    expect(await outcomeOf(createTokenVerifier(secretConfig())(await signWith(key)))).toBe("InvalidToken");
    expect(await outcomeOf(createTokenVerifier(jwksConfig(server.jwksUrl))(await hsToken({ sub: "a" })))).toBe("InvalidToken");
  });
});

describe("Ed25519 keys under either name", () => {
  let server: KeyServer;
  afterAll(() => server.close());

  it("verifies alg Ed25519 with a key marked EdDSA, and alg EdDSA with a key marked Ed25519", async () => {
    const [marked, fully] = await Promise.all([rsaKey("marked-eddsa", "EdDSA"), rsaKey("marked-ed25519", "Ed25519")]);
    server = await startKeyServer([marked.publicJwk, fully.publicJwk]);
    const verify = createTokenVerifier(jwksConfig(server.jwksUrl));
    const cases: [KeyPairInfo, string][] = [
      [marked, "Ed25519"],
      [fully, "EdDSA"],
      [marked, "EdDSA"],
      [fully, "Ed25519"],
    ];
    for (const [signer, alg] of cases) {
      const token = await signWith({ ...signer, alg }, { sub: `${signer.kid}-${alg}` });
      expect(await outcomeOf(verify(token)), `${signer.kid} signing as ${alg}`).toBe("ok");
    }
  });

  it("still matches the curve: an Ed25519 token never verifies with an ES256 key of the same kid", async () => {
    const ec = await rsaKey("shared-kid", "ES256");
    const ed = await rsaKey("shared-kid", "Ed25519");
    server = await startKeyServer([ec.publicJwk]);
    expect(await outcomeOf(createTokenVerifier(jwksConfig(server.jwksUrl))(await signWith(ed)))).toBe("InvalidToken");
  });
});

describe("OIDC discovery that names another issuer", () => {
  it("is a ConfigError showing both spellings and the trailing slash as the likely fix", async () => {
    const key = await rsaKey("auth0-1");
    const server = await startKeyServer([key.publicJwk], { issuerPath: "/" });
    try {
      const configured = server.url; // no trailing slash, the usual mistake
      const verify = createTokenVerifier(discoveryConfig(configured));
      const error = await verify(await signWith(key, { sub: "a", iss: configured })).catch((caught: unknown) => caught as BrokerError);
      expect(error).toMatchObject({ code: "ConfigError" });
      expect(error.message).toBe(
        `JWT_ISSUER is "${configured}", but the discovery document at ${configured}/.well-known/openid-configuration names the issuer "${configured}/": set JWT_ISSUER to exactly "${configured}/": the trailing slash counts, as tokens carry it`,
      );
    } finally {
      await server.close();
    }
  });

  it("without a near miss, says to copy the issuer as the document spells it", async () => {
    const key = await rsaKey("entra-1");
    const server = await startKeyServer([key.publicJwk], { issuerPath: "/common/v2.0" });
    try {
      server.discovery = { issuer: "https://login.microsoftonline.com/{tenantid}/v2.0" };
      const error = await createTokenVerifier(discoveryConfig(server.issuer))(await signWith(key, { sub: "a", iss: server.issuer })).catch(
        (caught: unknown) => caught as BrokerError,
      );
      expect(error).toMatchObject({
        code: "ConfigError",
        message: expect.stringContaining('names the issuer "https://login.microsoftonline.com/{tenantid}/v2.0"'),
      });
      expect(error.message).toContain("spelled as the discovery document spells it");
    } finally {
      await server.close();
    }
  });
});
