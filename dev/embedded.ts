/**
 * The cloud `npm start` and `npm run check` run on when no STS is configured: the STS
 * emulator and the loopback COS server that shares its credentials, with the variables that
 * point the broker at them (and a made-up bucket, a dev JWT secret) filled in. None of it
 * works on Tencent Cloud, by design. With real STS configuration nothing is started.
 */
import { type Env, readVar } from "../lib/shared/env.ts";
import { type CosServer, type CosServerOptions, credentialsFrom, startCosServer } from "./cos-server/index.ts";
import { devEnv, usesRealSts } from "./defaults.ts";
import { type StsEmulator, type StsEmulatorOptions, startStsEmulator } from "./sts-emulator/index.ts";

export interface EmbeddedCloud {
  /** The environment given, with the embedded defaults filled in. */
  readonly env: Env;
  /** Both absent when the environment configures real STS. */
  readonly emulator?: StsEmulator;
  readonly cos?: CosServer;
  close(): Promise<void>;
}

export interface EmbeddedCloudOptions extends Pick<CosServerOptions, "host" | "corsOrigins" | "onCall"> {
  /** Passed to the STS emulator (tests hand in a hook that records every secret it issues). */
  readonly emulator?: StsEmulatorOptions;
}

export async function startEmbeddedCloud(given: Env, options: EmbeddedCloudOptions = {}): Promise<EmbeddedCloud> {
  if (usesRealSts(given)) return { env: { ...given }, close: async () => undefined };
  const { emulator: emulatorOptions, ...cosOptions } = options;
  const emulator = await startStsEmulator(emulatorOptions);
  const [key] = emulator.keys;
  const env = devEnv(given, { url: emulator.url, secretId: key?.secretId ?? "", secretKey: key?.secretKey ?? "" });
  const cos = await startCosServer({ ...cosOptions, credentials: credentialsFrom(emulator), region: env.COS_REGION!, buckets: [env.COS_BUCKET!] });
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
