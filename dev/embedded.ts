/**
 * The cloud `npm start` and `npm run check` run on when no STS is configured: the STS
 * emulator and the loopback COS server that shares its credentials, with the variables that
 * point the broker at them (and a made-up bucket, a dev JWT secret) filled in. None of it
 * works on Tencent Cloud, by design. With real STS configuration nothing is started.
 */
import { readVar, type Env } from "../lib/config.ts";
import { credentialsFrom, startCosServer, type CosServer } from "./cos-server/index.ts";
import { DEV_BUCKET, DEV_JWT_SECRET, DEV_REGION, usesRealSts } from "./defaults.ts";
import { startStsEmulator, type StsEmulator } from "./sts-emulator/index.ts";

export interface EmbeddedCloud {
  /** The environment given, with the embedded defaults filled in. */
  readonly env: Env;
  /** Both absent when the environment configures real STS. */
  readonly emulator?: StsEmulator;
  readonly cos?: CosServer;
  close(): Promise<void>;
}

export async function startEmbeddedCloud(given: Env, options: { host?: string } = {}): Promise<EmbeddedCloud> {
  const env: Record<string, string | undefined> = { ...given };
  if (usesRealSts(env)) return { env, close: async () => undefined };
  const emulator = await startStsEmulator();
  const [key] = emulator.keys;
  Object.assign(env, {
    STS_ENDPOINT: emulator.url,
    STS_SECRET_ID: key?.secretId,
    STS_SECRET_KEY: key?.secretKey,
    COS_BUCKET: readVar(env, "COS_BUCKET") ?? DEV_BUCKET,
    COS_REGION: readVar(env, "COS_REGION") ?? DEV_REGION,
  });
  if (!["JWT_SECRET", "JWT_JWKS_URL", "JWT_ISSUER"].some((name) => readVar(env, name))) env.JWT_SECRET = DEV_JWT_SECRET;
  const cos = await startCosServer({ credentials: credentialsFrom(emulator), region: env.COS_REGION!, buckets: [env.COS_BUCKET!], host: options.host });
  env.COS_ENDPOINT = readVar(env, "COS_ENDPOINT") ?? cos.url;
  return {
    env,
    emulator,
    cos,
    close: async () => {
      await Promise.all([cos.close(), emulator.close()]);
    },
  };
}
