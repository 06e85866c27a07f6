/**
 * Tencent Cloud API calls for the deployer, through Tencent's SDKs: SCF with
 * tencentcloud-sdk-nodejs-scf, CAM (no CAM-only package on the registry) with the common
 * package's CommonClient. Throttling is retried; every other error becomes a DeployError that
 * names the code, the action and what to do. `--dry-run` swaps in dryRunApi, which calls nothing.
 */
import { createHash } from "node:crypto";
import { CommonClient } from "tencentcloud-sdk-nodejs-common";
import { Client as ScfClient } from "tencentcloud-sdk-nodejs-scf/tencentcloud/services/scf/v20180416/scf_client.js";
import { type Clock, systemClock } from "../../lib/shared/clock.ts";
import { DeployError } from "./errors.ts";

export type Service = "scf" | "cam";
export type Params = Readonly<Record<string, unknown>>;

export interface CloudApi {
  call<T = Record<string, unknown>>(service: Service, action: string, params: Params): Promise<T>;
}

export interface Identity {
  readonly secretId: string;
  readonly secretKey: string;
  readonly token?: string;
}

export interface ApiOptions {
  readonly identity: Identity;
  readonly region: string;
  /** DEPLOY_API_ENDPOINT: every call to this one endpoint (a private endpoint, or a loopback emulator). */
  readonly endpoint?: { readonly host: string; readonly protocol: "https://" | "http://" };
  /** Attempts per call when throttled; default 5. */
  readonly maxAttempts?: number;
  /** First wait after a throttle, doubled each time; default 1000 ms. */
  readonly backoffMs?: number;
  readonly clock?: Pick<Clock, "sleep">;
}

/** API versions and public endpoints (cloud.tencent.com/document/api/583 SCF, /598 CAM). */
const SERVICES = {
  scf: { host: "scf.tencentcloudapi.com", version: "2018-04-16" },
  cam: { host: "cam.tencentcloudapi.com", version: "2019-01-16" },
} as const;

/** What the SDKs throw (tencentcloud-sdk-nodejs-common, TencentCloudSDKHttpException). */
interface SdkError {
  readonly code?: string;
  readonly message: string;
  readonly requestId?: string;
}

export class ApiError extends DeployError {
  constructor(
    readonly service: Service,
    readonly action: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function tencentCloudApi(options: ApiOptions): CloudApi {
  const { secretId, secretKey, token } = options.identity;
  const config = (service: Service) => ({
    credential: { secretId, secretKey, ...(token ? { token } : {}) },
    region: options.region,
    profile: {
      httpProfile: { endpoint: options.endpoint?.host ?? SERVICES[service].host, protocol: options.endpoint?.protocol ?? "https://", reqTimeout: 60 },
    },
  });
  const clients = {
    scf: new ScfClient(config("scf")),
    cam: new CommonClient(SERVICES.cam.host, SERVICES.cam.version, config("cam")),
  };
  const maxAttempts = options.maxAttempts ?? 5;
  const backoffMs = options.backoffMs ?? 1000;
  return {
    async call<T>(service: Service, action: string, params: Params): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        try {
          return (await clients[service].request(action, params)) as T;
        } catch (error) {
          const sdkError = error as SdkError;
          if (!isThrottled(sdkError.code) || attempt >= maxAttempts) throw explain(service, action, params, sdkError, attempt);
          await (options.clock ?? systemClock).sleep(backoffMs * 2 ** (attempt - 1));
        }
      }
    },
  };
}

const isThrottled = (code: string | undefined) => code === "RequestLimitExceeded" || code?.startsWith("RequestLimitExceeded.") === true;

/** API 3.0's common codes for a missing CAM permission, and SCF's own (UnauthorizedOperation.CAM). */
const isUnauthorized = (code: string) =>
  code === "UnauthorizedOperation" || code === "AuthFailure.UnauthorizedOperation" || code.startsWith("UnauthorizedOperation.");

const CREDENTIAL_HINTS: Readonly<Record<string, string>> = {
  "AuthFailure.SecretIdNotFound": "TENCENTCLOUD_SECRET_ID is not a key of this account: check it (shell or .env)",
  "AuthFailure.SignatureFailure": "TENCENTCLOUD_SECRET_KEY does not belong to TENCENTCLOUD_SECRET_ID: check both",
  "AuthFailure.SignatureExpire": "this machine's clock is more than 5 minutes off: set it right",
  "AuthFailure.TokenFailure": "TENCENTCLOUD_SESSION_TOKEN is missing, wrong or expired: get a fresh temporary key",
};

export function explain(service: Service, action: string, params: Params, error: SdkError, attempts = 1): ApiError {
  const code = error.code ?? "NetworkError";
  const said = `${service}:${action} failed: ${code}: ${error.message}${error.requestId ? ` (request ${error.requestId})` : ""}`;
  return new ApiError(service, action, code, `${said}\n  ${hint(service, action, params, code, error.message, attempts)}`);
}

function hint(service: Service, action: string, params: Params, code: string, message: string, attempts: number): string {
  if (isUnauthorized(code)) {
    const named = /operation \(([a-z]+:[A-Za-z]+)\)/.exec(message)?.[1] ?? `${service}:${action}`;
    const passRole = typeof params.Role === "string" ? `, and name/cam:PassRole on role ${params.Role}` : "";
    return `The deploying identity lacks the CAM permission name/${named}${passRole}: grant it (docs/deploy.md, "What the deploying identity needs") and run again.`;
  }
  if (isThrottled(code)) return `Still throttled after ${attempts} attempts: wait a minute and run again.`;
  if (code === "NetworkError") return "The API could not be reached: check the network, a proxy, or DEPLOY_API_ENDPOINT.";
  return CREDENTIAL_HINTS[code] ?? "Nothing after this step was changed; fix what the message says and run again (it is safe to repeat).";
}

/** Answers of the reads a dry run does not make: as if nothing were deployed yet. */
const ABSENT: Readonly<Record<string, (service: Service, action: string) => unknown>> = {
  GetFunction: (service, action) => {
    throw new ApiError(service, action, "ResourceNotFound.Function", "dry run");
  },
  GetRole: (service, action) => {
    throw new ApiError(service, action, "InvalidParameter.RoleNotExist", "dry run");
  },
  ListTriggers: () => ({ Triggers: [], TotalCount: 0 }),
  ListPolicies: () => ({ List: [], TotalNum: 0 }),
  ListAttachedRolePolicies: () => ({ List: [], TotalNum: 0 }),
};

/** `--dry-run`: prints each action and its parameters (secrets masked) and calls nothing. */
export function dryRunApi(print: (line: string) => void, secretNames: ReadonlySet<string>): CloudApi {
  return {
    async call<T>(service: Service, action: string, params: Params): Promise<T> {
      const absent = ABSENT[action];
      print(`  ${service}:${action} ${JSON.stringify(masked(params, secretNames))}${absent ? "  (a read: not made; taken as finding nothing)" : ""}`);
      return (absent ? absent(service, action) : {}) as T;
    },
  };
}

/** Parameters as they may be shown: secret variables as ***, a code zip as its size and hash. */
export function masked(params: Params, secretNames: ReadonlySet<string>): unknown {
  return JSON.parse(
    JSON.stringify(params, function (this: Record<string, unknown>, key, value: unknown) {
      if (key === "ZipFile" && typeof value === "string") return zipSummary(Buffer.from(value, "base64"));
      if (key === "Value" && typeof this.Key === "string" && secretNames.has(this.Key)) return "***";
      return value;
    }),
  );
}

function zipSummary(zip: Uint8Array): string {
  return `<zip ${(zip.length / 1024).toFixed(1)} KB, sha256 ${createHash("sha256").update(zip).digest("hex").slice(0, 12)}>`;
}

/** True when the error is the API's "no such thing" for a read. */
export function isNotFound(error: unknown, ...codes: readonly string[]): boolean {
  return error instanceof ApiError && codes.includes(error.code);
}
