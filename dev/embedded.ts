/**
 * The cloud `npm start` and `npm run check` run on when no STS is configured: the STS
 * emulator and the loopback COS server that shares its credentials, with the variables that
 * point the broker at them (and a made-up bucket, a dev JWT secret) filled in. None of it
 * works on Tencent Cloud, by design. With real STS configuration nothing is started; with
 * real configuration but no key, nothing starts at all (dev/mode.ts).
 */
import { type Env, readVar } from "../lib/shared/env.ts";
import { type CosServer, type CosServerOptions, credentialsFrom, startCosServer } from "./cos-server/index.ts";
import { devEnv } from "./defaults.ts";
import { type CloudMode, cloudMode } from "./mode.ts";
import { type StsEmulator, type StsEmulatorOptions, startStsEmulator } from "./sts-emulator/index.ts";

export interface EmbeddedCloud {
  /** The environment given, with the embedded defaults filled in. */
  readonly env: Env;
  /** Which cloud, and why: worth printing at startup. */
  readonly mode: Exclude<CloudMode, { kind: "incomplete" }>;
  /** Both absent when the environment configures real STS. */
  readonly emulator?: StsEmulator;
  readonly cos?: CosServer;
  close(): Promise<void>;
}

export interface EmbeddedCloudOptions extends Pick<CosServerOptions, "host" | "corsOrigins" | "onCall"> {
  /** Passed to the STS emulator (tests hand in a hook that records every secret it issues). */
  readonly emulator?: StsEmulatorOptions;
}

/** Real configuration without a key to call STS with: its message names the variables to set. */
export class IncompleteConfiguration extends Error {}

export async function startEmbeddedCloud(given: Env, options: EmbeddedCloudOptions = {}): Promise<EmbeddedCloud> {
  const mode = cloudMode(given);
  if (mode.kind === "incomplete") throw new IncompleteConfiguration(mode.problem);
  if (mode.kind === "real") return { env: { ...given }, mode, close: async () => undefined };
  const { emulator: emulatorOptions, ...cosOptions } = options;
  const emulator = await startStsEmulator(emulatorOptions);
  const [key] = emulator.keys;
  const env = devEnv(given, { url: emulator.url, secretId: key?.secretId ?? "", secretKey: key?.secretKey ?? "" });
  const cos = await startCosServer({ ...cosOptions, credentials: credentialsFrom(emulator), region: env.COS_REGION!, buckets: [env.COS_BUCKET!] });
  env.COS_ENDPOINT = readVar(env, "COS_ENDPOINT") ?? cos.url;
  return {
    env,
    mode,
    emulator,
    cos,
    close: async () => {
      await Promise.all([cos.close(), emulator.close()]);
    },
  };
}
