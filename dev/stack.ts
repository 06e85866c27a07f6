/**
 * Everything `npm start` runs, as one value tests can start in-process too. With no STS
 * configuration: the STS emulator, the loopback COS server sharing its credentials, the
 * broker pointed at both, and the static site. With real STS variables: the broker and the
 * site only, the page talking to the real COS bucket.
 */
import { type Env, readVar } from "../lib/shared/env.ts";
import { createLogger, type Logger } from "../lib/shared/log.ts";
import type { CosCall } from "./cos-server/handler.ts";
import type { CosServer } from "./cos-server/index.ts";
import { DEV_JWT_SECRET, mintToken } from "./defaults.ts";
import { type EmbeddedCloud, startEmbeddedCloud } from "./embedded.ts";
import { type LocalServer, startLocalServer } from "./local-server.ts";
import { type SiteConfig, type SiteServer, startSiteServer } from "./site.ts";
import type { StsEmulator, StsEmulatorOptions } from "./sts-emulator/index.ts";
import type { WechatEmulator, WechatEmulatorOptions } from "./wechat-emulator/index.ts";

export interface DevStack {
  /** the environment the broker runs on, defaults filled in */
  readonly env: Env;
  /** which cloud, and why (dev/mode.ts) */
  readonly mode: EmbeddedCloud["mode"];
  readonly broker: LocalServer;
  readonly site: SiteServer;
  readonly emulator?: StsEmulator;
  readonly cos?: CosServer;
  readonly wechat?: WechatEmulator;
  close(): Promise<void>;
}

export interface DevStackOptions {
  readonly host?: string;
  /** the broker's port; 0 for any */
  readonly port?: number;
  /** the page's port; 0 for any */
  readonly sitePort?: number;
  /** the broker's and the COS server's log; default one JSON line per request on stdout */
  readonly logger?: Logger;
  /** passed to the STS emulator on embedded defaults */
  readonly emulator?: StsEmulatorOptions;
  /** passed to the WeChat emulator on embedded defaults */
  readonly wechat?: Omit<WechatEmulatorOptions, "apps" | "host">;
  /** the COS server's port on embedded defaults; 0 for any */
  readonly cosPort?: number;
}

export async function startDevStack(given: Env, options: DevStackOptions = {}): Promise<DevStack> {
  const host = options.host ?? "127.0.0.1";
  const logger = options.logger ?? createLogger();
  const opened: { close(): Promise<void> }[] = [];
  // A server that failed to start (a port in use, an incomplete configuration) must not leave the others open.
  const closeAll = async () => {
    await Promise.all(opened.map((server) => server.close()));
  };
  try {
    let broker: LocalServer | undefined;
    let cos: CosServer | undefined;
    // Known once the cloud is up: the dev secret signs tokens beside the STS emulator only.
    let devTokens = false;
    const site = await startSiteServer({
      host,
      port: options.sitePort ?? 0,
      config: () => siteConfig(broker, cos, devTokens),
      devToken: (sub) => mintToken({ sub }),
    });
    opened.push(site);
    const cloud = await startEmbeddedCloud(given, {
      host,
      emulator: options.emulator,
      wechat: options.wechat,
      cosPort: options.cosPort,
      corsOrigins: [site.origin],
      onCall: logCosCall(logger),
    });
    opened.push(cloud);
    cos = cloud.cos;
    devTokens = cloud.emulator !== undefined && readVar(cloud.env, "JWT_SECRET") === DEV_JWT_SECRET;
    const env = withOrigin(cloud.env, site.origin);
    broker = await startLocalServer({ env, port: options.port ?? 0, host, logger, name: "broker" });
    opened.push(broker);
    return { env, mode: cloud.mode, broker, site, emulator: cloud.emulator, cos, wechat: cloud.wechat, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** One line per COS request, with the policy's reason when it refused one. */
function logCosCall(logger: Logger): (call: CosCall) => void {
  return (call) =>
    logger.event("cos_request", {
      method: call.method,
      operation: call.operation,
      key: call.key,
      status: call.status,
      code: call.code,
      reason: call.decision?.allowed === false ? call.decision.reason : undefined,
    });
}

/** The page calls the broker from its own origin. */
function withOrigin(given: Env, origin: string): Env {
  const origins = (readVar(given, "CORS_ORIGINS") ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
  return { ...given, CORS_ORIGINS: [...new Set([...origins, origin])].join(",") };
}

/**
 * The loopback COS server is reached as `<bucket>.cos.<region>.localhost:<port>`: browsers
 * resolve *.localhost to the loopback address, so the SDK keeps its virtual-host requests
 * (it refuses ForcePathStyle) and the page stays cross-origin to COS, as in production.
 */
function siteConfig(broker: LocalServer | undefined, cos: CosServer | undefined, devTokens: boolean): SiteConfig {
  return {
    brokerUrl: `${broker?.url ?? ""}/`,
    ...(cos ? { cos: { Domain: `{Bucket}.cos.{Region}.localhost:${cos.port}`, Protocol: "http:" } } : {}),
    devTokens,
  };
}
