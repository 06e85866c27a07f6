/**
 * The broker's SCF handler wired to a loopback STS emulator, with its log captured (here
 * and for the suite-wide leak check, with every secret in the ledger), and SCF trigger
 * events shaped like the platform's. Its clock skips the waits between STS attempts.
 */

import { type StsEmulator, type StsEmulatorOptions, startStsEmulator } from "../../dev/sts-emulator/index.ts";
import { createHandler, type ScfHandler } from "../../functions/issue-credentials/index.ts";
import type { ScfContext } from "../../functions/scf.ts";
import type { Env } from "../../lib/shared/env.ts";
import { createLogger, type Logger, type LogSink } from "../../lib/shared/log.ts";
import { capturingSink, ledgered, recordSecret } from "./capture.ts";
import { skippingClock } from "./clock.ts";
import { TEST_SECRET } from "./tokens.ts";

export const BUCKET = "examplebucket-1250000000";
export const REGION = "ap-guangzhou";
export const APPID = "1250000000";

export interface Harness {
  readonly emulator: StsEmulator;
  readonly handler: ScfHandler;
  readonly env: Env;
  readonly logLines: string[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly env?: Env;
  readonly emulator?: StsEmulatorOptions;
  /** Derive variables from the started emulator (e.g. AssumeRole with a temporary key). */
  readonly envFrom?: (emulator: StsEmulator) => Env;
}

/** A loopback STS emulator whose every secret goes to the leak ledger. */
export const startTestEmulator = (options?: StsEmulatorOptions): Promise<StsEmulator> => startStsEmulator(ledgered(options));

/** The broker's variables for a loopback emulator, `extra` on top; the secrets among them go to the ledger. */
export function brokerEnv(emulator: StsEmulator, extra: Env = {}): Env {
  const key = emulator.keys[0]!;
  const env: Env = {
    COS_BUCKET: BUCKET,
    COS_REGION: REGION,
    JWT_SECRET: TEST_SECRET,
    STS_ENDPOINT: emulator.url,
    STS_SECRET_ID: key.secretId,
    STS_SECRET_KEY: key.secretKey,
    ...extra,
  };
  for (const name of ["JWT_SECRET", "STS_SECRET_KEY", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN", "ALERT_WEBHOOK_URL"])
    recordSecret(name, env[name]);
  return env;
}

/** A logger whose lines a test may keep, and which the leak check always sees. */
export const testLogger = (keep: LogSink = () => undefined): Logger => createLogger(capturingSink(keep));

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const emulator = await startTestEmulator(options.emulator);
  const env = brokerEnv(emulator, { ...options.env, ...options.envFrom?.(emulator) });
  const logLines: string[] = [];
  const handler = createHandler({ env, logger: testLogger((line) => logLines.push(line)), clock: skippingClock() });
  return { emulator, handler, env, logLines, close: () => emulator.close() };
}

export interface EventOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly query?: Record<string, string>;
  readonly base64?: boolean;
  readonly sourceIp?: string;
}

/** Function URL event: `{httpMethod, path, headers, body, queryString}`, IP in x-scf-remote-addr. */
export function functionUrlEvent(options: EventOptions = {}): Record<string, unknown> {
  return {
    httpMethod: options.method ?? "POST",
    path: "/",
    headers: { "x-scf-remote-addr": options.sourceIp ?? "203.0.113.7", ...options.headers },
    body: options.base64 && options.body !== undefined ? Buffer.from(options.body).toString("base64") : options.body,
    ...(options.base64 ? { isBase64Encoded: true } : {}),
    queryString: options.query ?? {},
  };
}

/** Legacy API Gateway event: adds requestContext, queryStringParameters, isBase64Encoded. */
export function apiGatewayEvent(options: EventOptions = {}): Record<string, unknown> {
  return {
    httpMethod: options.method ?? "POST",
    path: "/sts",
    headers: options.headers ?? {},
    body: options.base64 && options.body !== undefined ? Buffer.from(options.body).toString("base64") : options.body,
    isBase64Encoded: options.base64 ?? false,
    queryStringParameters: options.query ?? {},
    pathParameters: {},
    headerParameters: {},
    requestContext: {
      serviceId: "service-abc",
      path: "/sts",
      httpMethod: options.method ?? "POST",
      requestId: "apigw-req-1",
      sourceIp: options.sourceIp ?? "198.51.100.4",
      stage: "release",
    },
  };
}

export const context = (remainingMs = 10_000): ScfContext => ({
  request_id: "scf-req-1",
  getRemainingTimeInMillis: () => remainingMs,
});

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export function parse(response: { body: string }): Record<string, any> {
  return JSON.parse(response.body) as Record<string, any>;
}
