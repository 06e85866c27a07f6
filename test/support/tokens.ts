/** Login tokens for tests: honest ones, and the forgeries docs/identity-providers.md says must fail. Every one goes to the leak ledger. */
import { createServer } from "node:http";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";
import { listen } from "../../dev/listen.ts";
import { recordSecret } from "./capture.ts";

export const TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789";
export const secretBytes = (secret = TEST_SECRET) => new TextEncoder().encode(secret);

const nowSeconds = () => Math.floor(Date.now() / 1000);

export async function hsToken(
  claims: JWTPayload = { sub: "alice" },
  opts: { secret?: string; alg?: string; exp?: number | null; header?: Record<string, unknown> } = {},
): Promise<string> {
  const payload: JWTPayload = { ...claims };
  if (opts.exp !== null) payload.exp ??= opts.exp ?? nowSeconds() + 600;
  recordSecret("jwt-secret", opts.secret ?? TEST_SECRET);
  return ledgered(await new SignJWT(payload).setProtectedHeader({ alg: opts.alg ?? "HS256", ...opts.header }).sign(secretBytes(opts.secret)));
}

function ledgered(token: string): string {
  recordSecret("jwt", token);
  return token;
}

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** A token assembled by hand: any header, any payload, any signature. */
export function rawToken(header: unknown, payload: unknown, signature = ""): string {
  return ledgered(`${b64(header)}.${b64(payload)}.${signature}`);
}

export interface KeyPairInfo {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function rsaKey(kid = "rsa-1", alg = "RS256"): Promise<KeyPairInfo> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

export async function signWith(key: KeyPairInfo, claims: JWTPayload = { sub: "alice" }, header: Record<string, unknown> = {}): Promise<string> {
  const payload: JWTPayload = { exp: nowSeconds() + 600, ...claims };
  return ledgered(await new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey));
}

/** A loopback JWKS (and OIDC discovery) server that counts its fetches, failed ones (while `down`) included. */
export interface KeyServer {
  readonly url: string;
  readonly jwksUrl: string;
  keys: JWK[];
  fetches: number;
  discoveryFetches: number;
  down: boolean;
  close(): Promise<void>;
}

export async function startKeyServer(keys: JWK[]): Promise<KeyServer> {
  let close = async () => {};
  const state = {
    url: "",
    jwksUrl: "",
    keys,
    fetches: 0,
    discoveryFetches: 0,
    down: false,
    close: () => close(),
  };
  const server = createServer((req, res) => {
    if (req.url === "/.well-known/openid-configuration") state.discoveryFetches += 1;
    if (req.url === "/jwks.json") state.fetches += 1;
    if (state.down) {
      res.writeHead(503).end("down");
      return;
    }
    if (req.url === "/.well-known/openid-configuration") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ issuer: state.url, jwks_uri: state.jwksUrl }));
      return;
    }
    if (req.url === "/jwks.json") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: state.keys }));
      return;
    }
    res.writeHead(404).end();
  });
  const listening = await listen(server);
  close = listening.close;
  state.url = listening.origin;
  state.jwksUrl = `${state.url}/jwks.json`;
  return state;
}
