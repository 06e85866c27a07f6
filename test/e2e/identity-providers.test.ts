/**
 * The recipes of docs/identity-providers.md, as written: every `dotenv` block of a recipe is
 * read from the page and run through the real handler against a loopback key server shaped
 * like the provider's (paths, discovery document, key set with or without `alg`, `x5c`, `use:
 * enc` keys), with tokens shaped like the provider's (claims, header fields), then with each
 * pitfall the recipe names (a 4xx or the ConfigError, nothing sent to STS) and a key rotation.
 * The provider's public hosts in a recipe are swapped for the key server.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { JWK, JWTPayload } from "jose";
import MarkdownIt from "markdown-it";
import { afterEach, describe, expect, it, vi } from "vitest";
import { subjectHash } from "../../lib/grant/prefix.ts";
import type { Env } from "../../lib/shared/env.ts";
import { ROOT } from "../docs/blocks.ts";
import { bearer, context, functionUrlEvent, type Harness, parse, startHarness } from "../support/harness.ts";
import { certifiedKey, hsToken, type KeyPairInfo, type KeyServer, type KeyServerShape, rsaKey, signWith, startKeyServer } from "../support/tokens.ts";

/** Each `### Provider` heading of the page, and the text of its `dotenv` blocks in order. */
function recipesOf(markdown: string): Map<string, string[]> {
  const recipes = new Map<string, string[]>();
  let heading = "";
  let inHeading = false;
  for (const token of new MarkdownIt().parse(markdown, {})) {
    if (token.type === "heading_open") inHeading = token.tag === "h3";
    else if (token.type === "heading_close") inHeading = false;
    else if (token.type === "inline" && inHeading) heading = token.content;
    else if (token.type === "fence" && token.info.trim() === "dotenv") recipes.set(heading, [...(recipes.get(heading) ?? []), token.content]);
  }
  return recipes;
}

const RECIPES = recipesOf(readFileSync(join(ROOT, "docs/identity-providers.md"), "utf8"));
const PROVIDERS = ["Auth0", "Keycloak", "Microsoft Entra ID", "Firebase Auth", "Google", "Supabase", "Amazon Cognito", "Authing", "Logto", "Clerk"];

function recipeEnv(recipe: string, block: number): Env {
  const text = RECIPES.get(recipe)?.[block];
  if (text === undefined) throw new Error(`docs/identity-providers.md has no dotenv block ${block} under '### ${recipe}'`);
  return Object.fromEntries(
    text
      .split("\n")
      .filter((line) => line.trim() && !line.startsWith("#"))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}

interface Provider {
  readonly recipe: string;
  /** Which `dotenv` block of the recipe; default the first. */
  readonly block?: number;
  /** Text of the recipe that stands for the provider's servers (or a secret), and what replaces it here. */
  readonly hosts: readonly string[];
  readonly replace?: Readonly<Record<string, string>>;
  readonly shape: KeyServerShape;
  readonly jwks: readonly JWK[];
  /** Fields of the discovery document, given the key server's origin. */
  readonly discovery?: (origin: string) => Record<string, unknown>;
  /** Variables on top of (or, empty, removed from) the recipe's, given the local form of a URL: a pitfall's. */
  readonly env?: (local: (url: string) => string) => Env;
}

interface ProviderStack {
  readonly keys: KeyServer;
  /** A URL of the provider, as this test serves it. */
  local(url: string): string;
  ask(token: string): Promise<{ status: number; body: Record<string, any> }>;
  stsCalls(): number;
  close(): Promise<void>;
}

async function providerStack(provider: Provider): Promise<ProviderStack> {
  const keys = await startKeyServer([...provider.jwks], provider.shape);
  const local = (text: string) =>
    Object.entries(provider.replace ?? {}).reduce(
      (out, [from, to]) => out.split(from).join(to),
      provider.hosts.reduce((out, host) => out.split(host).join(keys.url), text),
    );
  keys.discovery = provider.discovery?.(keys.url) ?? {};
  const recipe = Object.fromEntries(Object.entries(recipeEnv(provider.recipe, provider.block ?? 0)).map(([name, value]) => [name, local(value ?? "")]));
  let h: Harness;
  try {
    h = await startHarness({ env: { JWT_SECRET: "", ...recipe, ...provider.env?.(local) } });
  } catch (error) {
    await keys.close();
    throw error;
  }
  return {
    keys,
    local,
    ask: async (token) => {
      const response = await h.handler(functionUrlEvent({ headers: bearer(token), body: '{"profile":"upload"}' }), context());
      return { status: response.statusCode, body: parse(response) };
    },
    stsCalls: () => h.emulator.stsCallCount(),
    close: async () => {
      await Promise.all([h.close(), keys.close()]);
    },
  };
}

const now = () => Math.floor(Date.now() / 1000);
/** A provider-shaped token: its claims, its lifetime, its header fields beside alg and kid. */
const tokenOf = (key: KeyPairInfo, claims: JWTPayload, lifetime: number, header: Record<string, unknown> = {}) =>
  signWith(key, { iat: now(), exp: now() + lifetime, ...claims }, { typ: "JWT", ...header });

/** Runs `body` on the provider's stack, and closes it. */
async function withProvider(provider: Provider, body: (stack: ProviderStack) => Promise<void>): Promise<void> {
  const stack = await providerStack(provider);
  try {
    await body(stack);
  } finally {
    await stack.close();
  }
}

/** Issues for the honest token, under the prefix the recipe's template gives. */
async function expectIssued(stack: ProviderStack, token: string, prefix: string) {
  const { status, body } = await stack.ask(token);
  expect(status, body.error?.message).toBe(200);
  expect(body.prefix).toBe(prefix);
}

/** Refuses, and sends nothing to STS. */
async function expectRefused(stack: ProviderStack, token: string, status: number, code: string, message?: string | RegExp) {
  const before = stack.stsCalls();
  const { status: got, body } = await stack.ask(token);
  expect(got, body.error?.message).toBe(status);
  expect(body.error.code).toBe(code);
  if (message) expect(body.error.message).toMatch(message);
  expect(stack.stsCalls()).toBe(before);
}

/**
 * The provider publishes a new key, then signs with it: picked up once the cooldown for
 * unknown kids has passed (no waiting: Date moves). Then it retires the old key: gone once the
 * key set is older than its 10 minutes.
 */
async function expectRotation(stack: ProviderStack, old: KeyPairInfo, next: KeyPairInfo, sign: (key: KeyPairInfo) => Promise<string>) {
  vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
  stack.keys.keys = [...stack.keys.keys, next.publicJwk];
  vi.advanceTimersByTime(31_000);
  expect((await stack.ask(await sign(next))).status).toBe(200);
  stack.keys.keys = stack.keys.keys.filter((jwk) => jwk.kid !== old.kid);
  vi.advanceTimersByTime(11 * 60_000);
  await expectRefused(stack, await sign(old), 401, "InvalidToken");
}

afterEach(() => {
  vi.useRealTimers();
});

describe("docs/identity-providers.md", () => {
  it("has a recipe for each provider, each tested here", () => {
    expect([...RECIPES.keys()]).toEqual(PROVIDERS);
  });
});

describe("Auth0", () => {
  const host = "https://example-tenant.us.auth0.com";
  const shape = { issuerPath: "/", jwksPath: "/.well-known/jwks.json" };
  const claims = (issuer: string) => ({
    iss: issuer,
    sub: "auth0|65f1c0ffee0ddba11ad5eed1",
    aud: ["https://api.example.com", `${issuer}userinfo`],
    azp: "kC3xZ9mQ2pL7vR4tW8yB1nD6fH0jK5sA",
    scope: "openid profile email",
  });

  it("issues for the API's access token, refuses the ID token and a token that is no JWT, and follows a key rotation", async () => {
    const [key, next] = await Promise.all([certifiedKey("auth0-1"), certifiedKey("auth0-2")]);
    await withProvider({ recipe: "Auth0", hosts: [host], shape, jwks: [key.publicJwk] }, async (stack) => {
      const issuer = stack.local(`${host}/`);
      await expectIssued(stack, await tokenOf(key, claims(issuer), 86_400), "users/auth0|65f1c0ffee0ddba11ad5eed1/");
      const idToken = { ...claims(issuer), aud: "kC3xZ9mQ2pL7vR4tW8yB1nD6fH0jK5sA", nonce: "n-0S6_WzA2Mj" };
      await expectRefused(stack, await tokenOf(key, idToken, 36_000), 401, "InvalidToken", "token 'aud' claim check failed");
      const encrypted = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..OpaqueIv.EncryptedPayload.AuthTag";
      await expectRefused(stack, encrypted, 401, "InvalidToken");
      await expectRotation(stack, key, next, (signer) => tokenOf(signer, claims(issuer), 86_400));
    });
  });

  it("without the trailing slash, is a ConfigError that shows both issuers and the fix", async () => {
    const key = await rsaKey("auth0-1");
    await withProvider({ recipe: "Auth0", hosts: [host], shape, jwks: [key.publicJwk], env: (local) => ({ JWT_ISSUER: local(host) }) }, async (stack) => {
      const issuer = stack.local(host);
      const message = `JWT_ISSUER is "${issuer}", but the discovery document at ${issuer}/.well-known/openid-configuration names the issuer "${issuer}/": set JWT_ISSUER to exactly "${issuer}/": the trailing slash counts, as tokens carry it`;
      await expectRefused(stack, await tokenOf(key, claims(`${issuer}/`), 600), 500, "ConfigError", message);
    });
  });
});

describe("Keycloak", () => {
  const host = "https://keycloak.example.com";
  const shape = { issuerPath: "/realms/demo", jwksPath: "/realms/demo/protocol/openid-connect/certs" };
  const discovery = (origin: string) => ({
    authorization_endpoint: `${origin}/realms/demo/protocol/openid-connect/auth`,
    token_endpoint: `${origin}/realms/demo/protocol/openid-connect/token`,
    id_token_signing_alg_values_supported: ["PS384", "ES384", "RS384", "HS256", "HS512", "ES256", "RS256", "HS384", "ES512", "PS256", "PS512", "RS512"],
  });
  const sub = "f3c9a1d2-6b7e-4c58-9a0f-2d4e6b8c0a1e";
  const accessToken = (issuer: string) => ({
    iss: issuer,
    sub,
    aud: "account",
    typ: "Bearer",
    azp: "web-app",
    sid: "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
    scope: "openid profile email",
    realm_access: { roles: ["default-roles-demo", "offline_access"] },
    preferred_username: "alice",
  });

  it("issues for web-app's access token beside an encryption key, refuses the ID token, another client's token and a token without sub", async () => {
    const [key, encryption, next] = await Promise.all([certifiedKey("kc-sig-1"), certifiedKey("kc-enc-1", "RSA-OAEP", "enc"), certifiedKey("kc-sig-2")]);
    await withProvider({ recipe: "Keycloak", hosts: [host], shape, discovery, jwks: [key.publicJwk, encryption.publicJwk] }, async (stack) => {
      const issuer = stack.local(`${host}/realms/demo`);
      await expectIssued(stack, await tokenOf(key, accessToken(issuer), 300), `users/${sub}/`);
      const idToken = { ...accessToken(issuer), typ: "ID", aud: "web-app", nonce: "n" };
      await expectRefused(stack, await tokenOf(key, idToken, 300), 401, "InvalidToken", "token 'typ' claim does not have the required value");
      await expectRefused(stack, await tokenOf(key, { ...accessToken(issuer), azp: "admin-cli" }, 300), 401, "InvalidToken", "'azp'");
      const { sub: _, ...lightweight } = accessToken(issuer);
      await expectRefused(stack, await tokenOf(key, lightweight, 300), 401, "InvalidToken", "'sub'");
      await expectRotation(stack, key, next, (signer) => tokenOf(signer, accessToken(issuer), 300));
    });
  });
});

describe("Microsoft Entra ID", () => {
  const tenant = "9b1a4c2e-5d3f-4e6a-8b7c-1d2e3f4a5b6c";
  const client = "3f2a1b0c-4d5e-4f6a-9b8c-7d6e5f4a3b2c";
  const hosts = ["https://login.microsoftonline.com", "https://sts.windows.net"];
  const shape = { issuerPath: `/${tenant}/v2.0`, jwksPath: `/${tenant}/discovery/v2.0/keys` };
  const sub = "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ";
  /** Entra's keys: no `alg`, an `x5c` certificate, and the issuer they sign for. */
  const entraJwk = ({ alg: _, ...jwk }: JWK, origin: string) => ({ ...jwk, issuer: `${origin}/${tenant}/v2.0` }) as JWK;
  const common = { sub, oid: "00000000-0000-0000-66f3-3332eca7ea81", tid: tenant, name: "Alice", scp: "access", rh: "0.AXEA...", uti: "AbCdEf", aio: "E2Z..." };
  const v2 = (origin: string) => ({ ...common, iss: `${origin}/${tenant}/v2.0`, aud: client, azp: "d1a2b3c4-0000-4000-8000-000000000001", ver: "2.0" });
  const v1 = (origin: string) => ({
    ...common,
    iss: `${origin}/${tenant}/`,
    aud: `api://${client}`,
    appid: "d1a2b3c4-0000-4000-8000-000000000001",
    ver: "1.0",
  });

  it("issues for v2.0 and v1.0 access tokens of your API (keys without alg), and refuses a Graph token", async () => {
    const key = await certifiedKey("entra-1");
    await withProvider({ recipe: "Microsoft Entra ID", hosts, shape, jwks: [] }, async (stack) => {
      const here = stack.local(hosts[0]!);
      // Published once the server's origin, which the keys name, is known; fetched at the first token.
      stack.keys.keys = [entraJwk(key.publicJwk, here)];
      const v1Header = { x5t: key.publicJwk.x5t };
      await expectIssued(stack, await tokenOf(key, v2(here), 4200), `users/${sub}/`);
      await expectIssued(stack, await tokenOf(key, v1(here), 4200, v1Header), `users/${sub}/`);
      const graph = { ...v1(here), aud: "00000003-0000-0000-c000-000000000000", scp: "User.Read" };
      await expectRefused(stack, await tokenOf(key, graph, 4200, { nonce: "YIzSVzEN2nqKyHR9OAT0mj0dK" }), 401, "InvalidToken", "'aud'");
    });
  });

  it("on the common endpoint, is a ConfigError: its discovery names a {tenantid} issuer", async () => {
    const key = await certifiedKey("entra-1");
    const commonShape = { issuerPath: "/common/v2.0", jwksPath: "/common/discovery/v2.0/keys" };
    const discovery = () => ({ issuer: "https://login.microsoftonline.com/{tenantid}/v2.0" });
    const env = (local: (url: string) => string) => ({ JWT_ISSUER: local("https://login.microsoftonline.com/common/v2.0") });
    await withProvider({ recipe: "Microsoft Entra ID", hosts, shape: commonShape, discovery, env, jwks: [key.publicJwk] }, async (stack) => {
      const token = await tokenOf(key, v2(stack.local(hosts[0]!)), 4200);
      await expectRefused(stack, token, 500, "ConfigError", 'names the issuer "https://login.microsoftonline.com/{tenantid}/v2.0"');
    });
  });
});

describe("Firebase Auth", () => {
  const hosts = ["https://www.googleapis.com", "https://securetoken.google.com"];
  const shape = { jwksPath: "/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com" };
  const uid = "qP3xK8mZ2nR7vT1wY5bC9dF4gH6j";
  const idToken = (origin: string, over: JWTPayload = {}) => ({
    iss: `${origin}/example-project`,
    aud: "example-project",
    auth_time: now() - 60,
    user_id: uid,
    sub: uid,
    email: "alice@example.com",
    email_verified: true,
    firebase: { identities: { email: ["alice@example.com"] }, sign_in_provider: "password" },
    ...over,
  });

  it("issues for the ID token, refuses an anonymous user's, another project's and a custom token, and follows Google's key rotation", async () => {
    const [key, next, serviceAccount] = await Promise.all([rsaKey("fb-1"), rsaKey("fb-2"), rsaKey("service-account")]);
    await withProvider({ recipe: "Firebase Auth", hosts, shape, jwks: [key.publicJwk] }, async (stack) => {
      const origin = stack.local(hosts[0]!);
      await expectIssued(stack, await tokenOf(key, idToken(origin), 3600), `users/${uid}/`);
      const anonymous = idToken(origin, { email: undefined, email_verified: undefined, firebase: { identities: {}, sign_in_provider: "anonymous" } });
      await expectRefused(stack, await tokenOf(key, anonymous, 3600), 401, "InvalidToken", "'email_verified'");
      await expectRefused(stack, await tokenOf(key, idToken(origin, { aud: "other-project", iss: `${origin}/other-project` }), 3600), 401, "InvalidToken");
      const custom = {
        iss: "firebase-adminsdk@example-project.iam.gserviceaccount.com",
        sub: "firebase-adminsdk@example-project.iam.gserviceaccount.com",
        aud: "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit",
        uid,
      };
      await expectRefused(stack, await tokenOf(serviceAccount, custom, 3600), 401, "InvalidToken");
      await expectRotation(stack, key, next, (signer) => tokenOf(signer, idToken(origin), 3600));
    });
  });
});

describe("Google", () => {
  const host = "https://accounts.google.com";
  const shape = { jwksPath: "/oauth2/v3/certs" };
  const client = "123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com";
  const sub = "110169484474386276334";
  const idToken = (iss: string, over: JWTPayload = {}) => ({
    iss,
    azp: client,
    aud: client,
    sub,
    email: "alice@gmail.com",
    email_verified: true,
    at_hash: "HK6E_P6Dh8Y93mRNtsDB1Q",
    ...over,
  });

  it("gives both spellings of the issuer one identity: one prefix, one cached credential", async () => {
    const key = await rsaKey("google-1");
    await withProvider({ recipe: "Google", hosts: [host], shape, jwks: [key.publicJwk] }, async (stack) => {
      const issuer = stack.local(host);
      const prefix = `users/${subjectHash({ iss: issuer, sub })}/`;
      await expectIssued(stack, await tokenOf(key, idToken(issuer), 3600), prefix);
      const bare = await stack.ask(await tokenOf(key, idToken("accounts.google.com"), 3600));
      expect(bare).toMatchObject({ status: 200, body: { prefix } });
      expect(stack.stsCalls()).toBe(1);
      await expectRefused(stack, await tokenOf(key, idToken(issuer, { aud: "another-client.apps.googleusercontent.com" }), 3600), 401, "InvalidToken");
      await expectRefused(stack, "ya29.a0AfH6SMBx-opaque-google-access-token", 401, "InvalidToken");
    });
  });
});

describe("Supabase", () => {
  const host = "https://abcdefghijklmnopqrst.supabase.co";
  const shape = { issuerPath: "/auth/v1", jwksPath: "/auth/v1/.well-known/jwks.json" };
  const sub = "8f7e6d5c-4b3a-4291-8e7d-6c5b4a392817";
  /** Supabase's signing keys: EC P-256, marked for verifying only. */
  const supabaseJwk = (jwk: JWK): JWK => ({ ...jwk, key_ops: ["verify"], ext: true });
  const session = (issuer: string, over: JWTPayload = {}) => ({
    iss: issuer,
    aud: "authenticated",
    sub,
    email: "alice@example.com",
    phone: "",
    app_metadata: { provider: "email", providers: ["email"] },
    user_metadata: {},
    role: "authenticated",
    aal: "aal1",
    amr: [{ method: "password", timestamp: now() }],
    session_id: "3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a98",
    is_anonymous: false,
    ...over,
  });

  it("takes both key kinds during the move, and refuses the anon and service_role keys and anonymous users", async () => {
    const legacy = randomBytes(30).toString("base64");
    const [current, standby] = await Promise.all([rsaKey("sb-current", "ES256"), rsaKey("sb-standby", "ES256")]);
    const jwks = [supabaseJwk(current.publicJwk), supabaseJwk(standby.publicJwk)];
    await withProvider({ recipe: "Supabase", hosts: [host], replace: { YOUR_LEGACY_JWT_SECRET: legacy }, shape, jwks }, async (stack) => {
      const issuer = stack.local(`${host}/auth/v1`);
      await expectIssued(
        stack,
        await hsToken({ ...session(issuer), iat: now(), exp: now() + 3600 }, { secret: legacy, header: { typ: "JWT" } }),
        `users/${sub}/`,
      );
      await expectIssued(stack, await tokenOf(current, session(issuer), 3600), `users/${sub}/`);
      for (const role of ["anon", "service_role"]) {
        const key = { iss: "supabase", ref: "abcdefghijklmnopqrst", role, iat: now(), exp: now() + 10 * 365 * 86_400 };
        await expectRefused(stack, await hsToken(key, { secret: legacy, header: { typ: "JWT" } }), 401, "InvalidToken");
      }
      await expectRefused(stack, await tokenOf(current, session(issuer, { is_anonymous: true, email: "" }), 3600), 401, "InvalidToken", "'is_anonymous'");
      // The standby key becomes the signing key: it was published all along.
      await expectIssued(stack, await tokenOf(standby, session(issuer), 3600), `users/${sub}/`);
    });
  });

  it("never verifies an HS256 token with the public key set as its secret", async () => {
    const current = await rsaKey("sb-current", "ES256");
    const legacy = randomBytes(30).toString("base64");
    await withProvider(
      { recipe: "Supabase", hosts: [host], replace: { YOUR_LEGACY_JWT_SECRET: legacy }, shape, jwks: [supabaseJwk(current.publicJwk)] },
      async (stack) => {
        const forged = await hsToken(session(stack.local(`${host}/auth/v1`)), { secret: JSON.stringify(current.publicJwk), header: { kid: "sb-current" } });
        await expectRefused(stack, forged, 401, "InvalidToken");
      },
    );
  });
});

describe("Amazon Cognito", () => {
  const host = "https://cognito-idp.us-east-1.amazonaws.com";
  const shape = { issuerPath: "/us-east-1_Example1", jwksPath: "/us-east-1_Example1/.well-known/jwks.json" };
  const client = "1example23456789abcdefghij";
  const sub = "94a8e4d8-3071-70c1-5b5c-1a2b3c4d5e6f";
  const common = (issuer: string) => ({ sub, iss: issuer, origin_jti: "b1d2...", event_id: "e5f6...", auth_time: now(), jti: "c3d4..." });
  const idToken = (issuer: string) => ({
    ...common(issuer),
    aud: client,
    token_use: "id",
    "cognito:username": "alice",
    email: "alice@example.com",
    email_verified: true,
  });
  const accessToken = (issuer: string) => ({
    ...common(issuer),
    client_id: client,
    token_use: "access",
    scope: "aws.cognito.signin.user.admin",
    username: "alice",
  });

  it("with ID tokens: issues for the ID token, refuses the access token", async () => {
    const key = await rsaKey("cognito-1");
    await withProvider({ recipe: "Amazon Cognito", block: 0, hosts: [host], shape, jwks: [key.publicJwk] }, async (stack) => {
      const issuer = stack.local(`${host}/us-east-1_Example1`);
      await expectIssued(stack, await tokenOf(key, idToken(issuer), 3600), `users/${sub}/`);
      await expectRefused(stack, await tokenOf(key, accessToken(issuer), 3600), 401, "InvalidToken");
    });
  });

  it("with access tokens: issues for the access token, refuses the ID token, and every token once JWT_AUDIENCE is set", async () => {
    const [key, next] = await Promise.all([rsaKey("cognito-1"), rsaKey("cognito-2")]);
    await withProvider({ recipe: "Amazon Cognito", block: 1, hosts: [host], shape, jwks: [key.publicJwk] }, async (stack) => {
      const issuer = stack.local(`${host}/us-east-1_Example1`);
      await expectIssued(stack, await tokenOf(key, accessToken(issuer), 3600), `users/${sub}/`);
      await expectRefused(stack, await tokenOf(key, idToken(issuer), 3600), 401, "InvalidToken", "'token_use'");
      await expectRotation(stack, key, next, (signer) => tokenOf(signer, accessToken(issuer), 3600));
    });
    await withProvider(
      { recipe: "Amazon Cognito", block: 1, hosts: [host], shape, jwks: [key.publicJwk], env: () => ({ JWT_AUDIENCE: client }) },
      async (stack) => {
        await expectRefused(stack, await tokenOf(key, accessToken(stack.local(`${host}/us-east-1_Example1`)), 3600), 401, "InvalidToken", "'aud'");
      },
    );
  });
});

describe("Authing", () => {
  const host = "https://example-app.authing.cn";
  const shape = { issuerPath: "/oidc", jwksPath: "/oidc/.well-known/jwks.json" };
  const app = "64a1b2c3d4e5f6a7b8c9d0e1";
  const sub = "6094e8f02996bde98a56ed01";
  const idToken = (issuer: string) => ({
    sub,
    aud: app,
    iss: issuer,
    nickname: "alice",
    phone_number_verified: false,
    email_verified: false,
    updated_at: "2026-01-01T00:00:00.000Z",
  });
  const twoWeeks = 14 * 86_400;

  it("RS256: issues for a two-week ID token with the recipe's lifetime, refuses it with the default", async () => {
    const key = await rsaKey("authing-1");
    await withProvider({ recipe: "Authing", block: 0, hosts: [host], shape, jwks: [key.publicJwk] }, async (stack) => {
      await expectIssued(stack, await tokenOf(key, idToken(stack.local(`${host}/oidc`)), twoWeeks), `users/${sub}/`);
    });
    const env = () => ({ JWT_MAX_TOKEN_LIFETIME_SECONDS: "" });
    await withProvider({ recipe: "Authing", block: 0, hosts: [host], shape, jwks: [key.publicJwk], env }, async (stack) => {
      const token = await tokenOf(key, idToken(stack.local(`${host}/oidc`)), twoWeeks);
      await expectRefused(stack, token, 401, "InvalidToken", "token lives longer than the 86400 s allowed");
    });
  });

  it("HS256: verifies with the app secret, and nothing else", async () => {
    const secret = randomBytes(16).toString("hex");
    await withProvider({ recipe: "Authing", block: 1, hosts: [host], replace: { YOUR_AUTHING_APP_SECRET: secret }, shape, jwks: [] }, async (stack) => {
      const claims = { ...idToken(stack.local(`${host}/oidc`)), iat: now(), exp: now() + twoWeeks };
      await expectIssued(stack, await hsToken(claims, { secret, header: { typ: "JWT" } }), `users/${sub}/`);
      await expectRefused(stack, await hsToken(claims, { secret: randomBytes(16).toString("hex") }), 401, "InvalidToken");
      expect(stack.keys.discoveryFetches).toBe(0);
    });
  });
});

describe("Logto", () => {
  const host = "https://example-tenant.logto.app";
  const shape = { issuerPath: "/oidc", jwksPath: "/oidc/jwks" };
  const sub = "u8gd0mxvw1cr";
  const accessToken = (issuer: string) => ({
    jti: "Ix2...",
    sub,
    scope: "read write",
    client_id: "k2pq9x7zj3abcd",
    iss: issuer,
    aud: "https://api.example.com",
  });

  it("issues for an API resource's access token (ES384, typ at+jwt), refuses the opaque one and the ID token", async () => {
    const [key, next] = await Promise.all([rsaKey("logto-1", "ES384"), rsaKey("logto-2", "ES384")]);
    await withProvider({ recipe: "Logto", hosts: [host], shape, jwks: [key.publicJwk] }, async (stack) => {
      const issuer = stack.local(`${host}/oidc`);
      const header = { typ: "at+jwt" };
      await expectIssued(stack, await tokenOf(key, accessToken(issuer), 3600, header), `users/${sub}/`);
      await expectRefused(stack, "nqBjs3QbS3sZ8mT2xR7vW1yK4pD6fH9jL0aC5eG", 401, "InvalidToken");
      await expectRefused(stack, await tokenOf(key, { ...accessToken(issuer), aud: "k2pq9x7zj3abcd", at_hash: "x" }, 3600), 401, "InvalidToken", "'aud'");
      await expectRotation(stack, key, next, (signer) => tokenOf(signer, accessToken(issuer), 3600, header));
    });
  });
});

describe("Clerk", () => {
  const host = "https://clerk.example.com";
  const shape = { jwksPath: "/.well-known/jwks.json" };
  const sub = "user_2NkZ8dXQ4mE1pRb7Vc3Lw9TfJhA";
  const sessionToken = (issuer: string, over: JWTPayload = {}) => ({
    azp: "https://app.example.com",
    fva: [0, -1],
    iss: issuer,
    nbf: now() - 10,
    sid: "sess_2NkZ9aBcDeFgHiJkLmNoPqRsTuV",
    sub,
    v: 2,
    ...over,
  });

  it("issues for a fresh session token from your origin, refuses another origin's and one past its minute", async () => {
    const key = await rsaKey("ins_2NkZ7yXwVuTsRqPoNmLkJiHgFe");
    await withProvider({ recipe: "Clerk", hosts: [host], shape, jwks: [key.publicJwk] }, async (stack) => {
      const issuer = stack.local(host);
      await expectIssued(stack, await tokenOf(key, sessionToken(issuer), 60), `users/${sub}/`);
      await expectRefused(stack, await tokenOf(key, sessionToken(issuer, { azp: "https://evil.example" }), 60), 401, "InvalidToken", "'azp'");
      await expectRefused(stack, await tokenOf(key, sessionToken(issuer, { azp: undefined }), 60), 401, "InvalidToken", "'azp'");
      const cached = await tokenOf(key, sessionToken(issuer), 60);
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
      vi.advanceTimersByTime(95_000);
      await expectRefused(stack, cached, 401, "InvalidToken", "token has expired");
    });
  });
});
