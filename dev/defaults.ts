/**
 * What `npm start` runs on when nothing is configured: a made-up bucket, a dev-only JWT
 * secret and the loopback STS emulator. None of it works on Tencent Cloud, by design.
 */
import { existsSync } from "node:fs";
import { SignJWT } from "jose";
import { type Env, readVar } from "../lib/shared/env.ts";

/**
 * Public on purpose: it signs dev tokens only. npm start fills it in only on embedded defaults,
 * and the broker refuses it unless STS is a loopback emulator (lib/identity/settings.ts).
 */
export const DEV_JWT_SECRET = "cos-sts-broker local development secret, never deploy";
export const DEV_BUCKET = "examplebucket-1250000000";
/** The made-up mini-program the WeChat emulator serves by default; the broker accepts this secret only beside the emulators. */
export const DEV_WECHAT_APPID = "wx0000000000000000";
export const DEV_WECHAT_APP_SECRET = "00000000000000000000000000000000";
export const DEV_REGION = "ap-guangzhou";

export interface DevSts {
  readonly url: string;
  readonly secretId: string;
  readonly secretKey: string;
}

/**
 * The embedded defaults: the given (loopback) STS, a dev bucket, region and JWT secret unless
 * set, and unless a WeChat app secret is set, the dev mini-program at the given (loopback) WeChat emulator.
 */
export function devEnv(env: Env, sts: DevSts, wechatUrl: string): Record<string, string | undefined> {
  const filled: Record<string, string | undefined> = {
    ...env,
    STS_ENDPOINT: sts.url,
    STS_SECRET_ID: sts.secretId,
    STS_SECRET_KEY: sts.secretKey,
    COS_BUCKET: readVar(env, "COS_BUCKET") ?? DEV_BUCKET,
    COS_REGION: readVar(env, "COS_REGION") ?? DEV_REGION,
  };
  if (!["JWT_SECRET", "JWT_JWKS_URL", "JWT_ISSUER"].some((name) => readVar(env, name))) filled.JWT_SECRET = DEV_JWT_SECRET;
  if (!readVar(env, "WECHAT_APP_SECRET")) {
    Object.assign(filled, {
      WECHAT_APPID: readVar(env, "WECHAT_APPID") ?? DEV_WECHAT_APPID,
      WECHAT_APP_SECRET: DEV_WECHAT_APP_SECRET,
      WECHAT_API_ENDPOINT: wechatUrl,
    });
  }
  return filled;
}

export interface MintOptions {
  readonly sub: string;
  readonly secret?: string;
  readonly ttlSeconds?: number;
  readonly issuer?: string;
  readonly audience?: string;
  readonly claims?: Readonly<Record<string, unknown>>;
  readonly algorithm?: "HS256" | "HS384" | "HS512";
}

/** An HS* login token like an application's auth service would issue. */
export async function mintToken(options: MintOptions): Promise<string> {
  const secret = new TextEncoder().encode(options.secret ?? DEV_JWT_SECRET);
  let jwt = new SignJWT({ ...options.claims })
    .setProtectedHeader({ alg: options.algorithm ?? "HS256", typ: "JWT" })
    .setSubject(options.sub)
    .setIssuedAt()
    .setExpirationTime(`${options.ttlSeconds ?? 3600}s`);
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(secret);
}

/** `npm start` and `npm run token` read a .env file in the working directory, if there is one. */
export function loadDotEnv(path = ".env"): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
