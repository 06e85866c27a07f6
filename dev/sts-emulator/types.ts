// Public shapes of the loopback STS emulator; index.ts re-exports them.
import type { Clock, EpochMs } from "../../lib/shared/clock.ts";

export interface PermanentKey {
  secretId: string;
  secretKey: string;
  uin: string;
  appid: string;
  /** a sub-account's key (GetFederationToken up to 129600 s); otherwise the root account's (7200 s) */
  subAccount?: boolean;
}

export interface TemporaryKey {
  secretId: string;
  secretKey: string;
  token: string;
  expiredTime: number;
}

/** Every credential the emulator hands out. */
export interface IssuedCredential {
  tmpSecretId: string;
  tmpSecretKey: string;
  token: string;
  /** unix seconds */
  expiredTime: number;
  /** the decoded session policy (JSON.parse(decodeURIComponent(Policy))), undefined if none */
  policy: unknown | undefined;
  action: "AssumeRole" | "GetFederationToken";
  roleArn?: string;
  roleSessionName?: string;
  name?: string;
  /** secretId of the caller */
  issuedBy: string;
  appid: string;
  uin: string;
}

/** Every request that reached the emulator, including refused ones. */
export interface RecordedCall {
  action: string;
  params: Record<string, unknown>;
  policy?: unknown;
  secretId?: string;
  signature: "TC3" | "v1" | "none";
  /** the error code if refused; injected transport faults read `Fault.<kind>` */
  error?: string;
  /** true when the call passed auth and reached an action handler */
  handled: boolean;
  /** from the emulator's clock */
  at: EpochMs;
}

export type Fault =
  | { kind: "error"; code: string; message?: string } // HTTP 200 with Response.Error{Code,Message}
  | { kind: "throttle" } // RequestLimitExceeded
  | { kind: "delay"; ms: number } // answer normally after ms
  | { kind: "hang" } // never answer (until close())
  | { kind: "http"; status: number } // e.g. 502 with an HTML body
  | { kind: "malformed" } // HTTP 200, body not JSON
  | { kind: "reset" }; // destroy the socket without a response

export interface StsEmulatorOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** default 0 (any free port) */
  port?: number;
  /** true: generate a self-signed cert for 127.0.0.1/localhost at start */
  tls?: { key: string | Buffer; cert: string | Buffer } | boolean;
  /** default: one key generated at start */
  keys?: PermanentKey[];
  /** role ARNs AssumeRole accepts; default: any well-formed role ARN */
  roles?: string[];
  /** default the system clock; tests move it to expire credentials without sleeping */
  clock?: Pick<Clock, "now">;
  /** URL-encoded Policy length beyond which InvalidParameter.PolicyTooLong; default 4096 (Tencent documents no limit) */
  maxPolicyLength?: number;
  /** called with every secret key and session token the emulator is configured with or hands out */
  onSecret?: (kind: "secretKey" | "tmpSecretKey" | "sessionToken", value: string) => void;
}

export interface StsEmulator {
  url: string;
  port: number;
  keys: PermanentKey[];
  /** PEM of the serving certificate when TLS is on, for clients to trust */
  caCert?: string;
  calls: RecordedCall[];
  /** keyed by tmpSecretId */
  issued: Map<string, IssuedCredential>;
  credentialByToken(token: string): IssuedCredential | undefined;
  /** simulates SCF execution-role credentials: a caller that must send X-TC-Token */
  addTemporaryKey(opts?: { ttlSeconds?: number }): TemporaryKey;
  /** times default: every request until clearFaults(); `actions` limits which actions it hits */
  inject(fault: Fault, opts?: { times?: number; actions?: string[] }): void;
  clearFaults(): void;
  /** calls that passed auth and reached an action handler */
  stsCallCount(action?: string): number;
  /** clears calls and faults, keeps keys and issued credentials */
  reset(): void;
  /** also ends hung requests */
  close(): Promise<void>;
}
