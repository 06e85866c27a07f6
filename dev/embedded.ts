/**
 * The cloud `npm start` and `npm run check` run on when no STS is configured: the STS
 * emulator, the loopback COS server that shares its credentials and, unless a WeChat app
 * secret is configured, the WeChat login emulator, with the variables that point the broker
 * at them (and a made-up bucket, a dev JWT secret, a dev mini-program) filled in. None of it
 * works on Tencent Cloud, by design. With real STS configuration nothing is started; with
 * real configuration but no key, nothing starts at all (dev/mode.ts).
 */
import { type Env, readVar } from "../lib/shared/env.ts";
import { type CosServer, type CosServerOptions, credentialsFrom, startCosServer } from "./cos-server/index.ts";
import { DEV_WECHAT_APP_SECRET, DEV_WECHAT_APPID, devEnv } from "./defaults.ts";
import { PortInUse } from "./listen.ts";
import { type CloudMode, cloudMode } from "./mode.ts";
import { type StsEmulator, type StsEmulatorOptions, startStsEmulator } from "./sts-emulator/index.ts";
import { startWechatEmulator, type WechatEmulator, type WechatEmulatorOptions } from "./wechat-emulator/index.ts";

export interface EmbeddedCloud {
  /** The environment given, with the embedded defaults filled in. */
  readonly env: Env;
  /** Which cloud, and why: worth printing at startup. */
  readonly mode: Exclude<CloudMode, { kind: "incomplete" }>;
  /** Both absent when the environment configures real STS. */
  readonly emulator?: StsEmulator;
  readonly cos?: CosServer;
  /** Absent with real STS, or when WECHAT_APP_SECRET names a real mini-program's secret. */
  readonly wechat?: WechatEmulator;
  close(): Promise<void>;
}

export interface EmbeddedCloudOptions extends Pick<CosServerOptions, "host" | "corsOrigins" | "onCall"> {
  /** Passed to the STS emulator (tests hand in a hook that records every secret it issues). */
  readonly emulator?: StsEmulatorOptions;
  /** Passed to the WeChat emulator, likewise. */
  readonly wechat?: Omit<WechatEmulatorOptions, "apps" | "host">;
  /** The COS server's port; default any free one. */
  readonly cosPort?: number;
}

/** Real configuration without a key to call STS with: its message names the variables to set. */
export class IncompleteConfiguration extends Error {}

export async function startEmbeddedCloud(given: Env, options: EmbeddedCloudOptions = {}): Promise<EmbeddedCloud> {
  const mode = cloudMode(given);
  if (mode.kind === "incomplete") throw new IncompleteConfiguration(mode.problem);
  if (mode.kind === "real") return { env: { ...given }, mode, close: async () => undefined };
  const { emulator: emulatorOptions, wechat: wechatOptions, cosPort, ...cosOptions } = options;
  const emulator = await startStsEmulator(emulatorOptions);
  const [key] = emulator.keys;
  const wechat =
    readVar(given, "WECHAT_APP_SECRET") === undefined
      ? await onPreferredPort(wechatOptions?.port, (port) => startWechatEmulator({ ...wechatOptions, port, host: cosOptions.host, apps: [devApp(given)] }))
      : undefined;
  const env = devEnv(given, { url: emulator.url, secretId: key?.secretId ?? "", secretKey: key?.secretKey ?? "" }, wechat?.url ?? "");
  const cos = await onPreferredPort(cosPort, (port) =>
    startCosServer({ ...cosOptions, port, credentials: credentialsFrom(emulator), region: env.COS_REGION!, buckets: [env.COS_BUCKET!] }),
  );
  env.COS_ENDPOINT = readVar(env, "COS_ENDPOINT") ?? cos.url;
  return {
    env,
    mode,
    emulator,
    cos,
    wechat,
    close: async () => {
      await Promise.all([cos.close(), emulator.close(), wechat?.close()]);
    },
  };
}

/** The COS server's and WeChat emulator's fixed ports are a convenience: when one is taken, any free port does (npm start prints it). */
async function onPreferredPort<T>(port: number | undefined, start: (port: number | undefined) => Promise<T>): Promise<T> {
  try {
    return await start(port);
  } catch (error) {
    if (error instanceof PortInUse && port) return start(0);
    throw error;
  }
}

/** The dev mini-program, or WECHAT_APPID with the dev secret: what the emulator serves and devEnv names. */
const devApp = (given: Env) => ({ appid: readVar(given, "WECHAT_APPID") ?? DEV_WECHAT_APPID, secret: DEV_WECHAT_APP_SECRET });
