/**
 * The loopback COS server behind the real broker and STS emulator, and cos-nodejs-sdk-v5
 * clients wired to them: getAuthorization calls the broker's HTTP endpoint exactly as
 * Tencent's docs show, and the SDK reaches the server through its `Ip` option, so requests
 * keep their virtual-host `Host: <bucket>.cos.<region>.myqcloud.com`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import COS from "cos-nodejs-sdk-v5";
import { type CosServer, type CosServerOptions, credentialsFrom, startCosServer } from "../../dev/cos-server/index.ts";
import { type LocalServer, startLocalServer } from "../../dev/local-server.ts";
import type { StsEmulator } from "../../dev/sts-emulator/index.ts";
import type { Env } from "../../lib/shared/env.ts";
import { BUCKET, brokerEnv, REGION, startTestEmulator, testLogger } from "./harness.ts";

export const HOST = `${BUCKET}.cos.${REGION}.myqcloud.com`;
export const AT = { Bucket: BUCKET, Region: REGION } as const;

interface BrokerAnswer {
  readonly status: number;
  readonly body: Record<string, any>;
}

export interface CosStack {
  readonly emulator: StsEmulator;
  readonly cos: CosServer;
  readonly broker: LocalServer;
  /** every answer the broker gave a client's getAuthorization, in order */
  readonly answers: BrokerAnswer[];
  /** moves the COS server's clock (not the broker's, not the SDK's) */
  advance(seconds: number): void;
  /** cos-nodejs-sdk-v5 signing with credentials the broker issues for this login token */
  client(token: string, options?: { profile?: string; scopeLimit?: boolean }): COS;
  /** cos-nodejs-sdk-v5 with the account's own key (seeds other users' objects) */
  root(): COS;
  close(): Promise<void>;
}

export async function startCosStack(options: { env?: Env; cos?: Partial<CosServerOptions> } = {}): Promise<CosStack> {
  let offsetMs = 0;
  const emulator = await startTestEmulator();
  const cos = await startCosServer({
    credentials: credentialsFrom(emulator),
    region: REGION,
    buckets: [BUCKET],
    clock: { now: () => Date.now() + offsetMs },
    ...options.cos,
  });
  const key = emulator.keys[0]!;
  const env = brokerEnv(emulator, { COS_ENDPOINT: cos.url, ...options.env });
  const broker = await startLocalServer({ env, logger: testLogger() });
  const confDir = mkdtempSync(join(tmpdir(), "cos-sdk-"));
  const answers: BrokerAnswer[] = [];
  // The SDK keeps resumable-upload ids in ConfCwd; a temp folder keeps them out of $HOME.
  const tls = cos.url.startsWith("https");
  // Over TLS the server's certificate is self-signed: it exists to make cos:secure-transport true.
  const common = { Ip: new URL(cos.url).host, Protocol: tls ? "https:" : "http:", ConfCwd: confDir, ...(tls ? { StrictSsl: false } : {}) } as const;

  return {
    emulator,
    cos,
    broker,
    answers,
    advance: (seconds) => {
      offsetMs += seconds * 1000;
    },
    client(token, { profile = "upload", scopeLimit = false } = {}) {
      return new COS({
        ...common,
        // https://cloud.tencent.com/document/product/436/8629 "使用临时密钥": fetch from your
        // server, then hand TmpSecretId/TmpSecretKey/SecurityToken/StartTime/ExpiredTime back.
        getAuthorization(options, callback) {
          const body = scopeLimit ? { profile, scope: options.Scope } : { profile };
          fetch(`${broker.url}/`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: JSON.stringify(body),
          })
            .then(async (response) => {
              const data = (await response.json()) as Record<string, any>;
              answers.push({ status: response.status, body: data });
              const credentials = data.credentials ?? {};
              callback({
                TmpSecretId: credentials.tmpSecretId,
                TmpSecretKey: credentials.tmpSecretKey,
                SecurityToken: credentials.sessionToken,
                StartTime: data.startTime,
                ExpiredTime: data.expiredTime,
                ScopeLimit: scopeLimit,
              });
            })
            .catch(() => callback({} as never));
        },
      });
    },
    root: () => new COS({ ...common, SecretId: key.secretId, SecretKey: key.secretKey }),
    async close() {
      await Promise.all([broker.close(), cos.close(), emulator.close()]);
      rmSync(confDir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One request exactly as given (Host included), for what the SDKs never send. */
export function rawRequest(
  cos: CosServer,
  init: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<RawResponse> {
  const url = new URL(cos.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: init.method ?? "GET", path: init.path, headers: { host: HOST, ...init.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

/** The `<Code>` of a COS XML error body. */
export function errorCode(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}

export { BUCKET, REGION };
