/** Login tokens for tests: honest ones, and the forgeries docs/identity-providers.md says must fail. Every one goes to the leak ledger. */
import { execFile } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { exportJWK, generateKeyPair, importPKCS8, type JWK, type JWTPayload, SignJWT } from "jose";
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

/**
 * An RSA key published with its self-signed certificate, as Auth0, Keycloak and Entra ID
 * publish theirs: `x5c` and `x5t` beside `n` and `e`. Made by the openssl CLI, since Node
 * cannot write a certificate.
 */
export async function certifiedKey(kid: string, alg = "RS256", use: "sig" | "enc" = "sig"): Promise<KeyPairInfo> {
  const dir = await mkdtemp(join(tmpdir(), "provider-key-"));
  try {
    const [keyPath, certPath] = [join(dir, "key.pem"), join(dir, "cert.pem")];
    const args = ["req", "-x509", "-nodes", "-newkey", "rsa:2048", "-days", "2", "-subj", `/CN=${kid}`, "-keyout", keyPath, "-out", certPath];
    await promisify(execFile)("openssl", args);
    const certificate = new X509Certificate(await readFile(certPath));
    const privateKey = await importPKCS8(await readFile(keyPath, "utf8"), alg);
    const der = certificate.raw;
    const publicJwk: JWK = {
      ...(await exportJWK(certificate.publicKey)),
      kid,
      alg,
      use,
      x5c: [der.toString("base64")],
      x5t: createHash("sha1").update(der).digest("base64url"),
      "x5t#S256": createHash("sha256").update(der).digest("base64url"),
    };
    return { kid, alg, privateKey, publicJwk };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function signWith(key: KeyPairInfo, claims: JWTPayload = { sub: "alice" }, header: Record<string, unknown> = {}): Promise<string> {
  const payload: JWTPayload = { exp: nowSeconds() + 600, ...claims };
  return ledgered(await new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey));
}

/**
 * A loopback JWKS (and OIDC discovery) server that counts its fetches, failed ones (while
 * `down`) included. Paths and the discovery document can be shaped like a provider's.
 */
export interface KeyServer {
  /** The server's origin. */
  readonly url: string;
  /** The issuer its discovery document is served for: the origin plus `issuerPath`. */
  readonly issuer: string;
  readonly jwksUrl: string;
  keys: JWK[];
  /** What the discovery document says, beside `issuer` and `jwks_uri` (which it may override). */
  discovery: Record<string, unknown>;
  fetches: number;
  discoveryFetches: number;
  down: boolean;
  close(): Promise<void>;
}

export interface KeyServerShape {
  /** Default "/jwks.json". */
  readonly jwksPath?: string;
  /** Default "": the issuer is the origin. May end in "/", as Auth0's does. */
  readonly issuerPath?: string;
}

export async function startKeyServer(keys: JWK[], shape: KeyServerShape = {}): Promise<KeyServer> {
  const jwksPath = shape.jwksPath ?? "/jwks.json";
  const issuerPath = shape.issuerPath ?? "";
  const discoveryPath = `${issuerPath.replace(/\/$/, "")}/.well-known/openid-configuration`;
  let close = async () => {};
  const state = {
    url: "",
    issuer: "",
    jwksUrl: "",
    keys,
    discovery: {} as Record<string, unknown>,
    fetches: 0,
    discoveryFetches: 0,
    down: false,
    close: () => close(),
  };
  const server = createServer((req, res) => {
    if (req.url === discoveryPath) state.discoveryFetches += 1;
    if (req.url === jwksPath) state.fetches += 1;
    if (state.down) {
      res.writeHead(503).end("down");
      return;
    }
    if (req.url === discoveryPath) {
      const document = { issuer: state.issuer, jwks_uri: state.jwksUrl, ...state.discovery };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(document));
      return;
    }
    if (req.url === jwksPath) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: state.keys }));
      return;
    }
    res.writeHead(404).end();
  });
  const listening = await listen(server);
  close = listening.close;
  state.url = listening.origin;
  state.issuer = `${state.url}${issuerPath}`;
  state.jwksUrl = `${state.url}${jwksPath}`;
  return state;
}
