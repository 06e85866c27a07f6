// A loopback Tencent Cloud API for the deployer's tests: SCF and CAM behind one endpoint (as
// DEPLOY_API_ENDPOINT sends them), real TC3 signatures checked with the STS emulator's code, the
// API 3.0 envelope, state that outlives a request (functions, code zips, variables, roles,
// policies, triggers), injected faults, and Function URLs that run what was deployed.
// Dev tooling only; never deployed.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type Clock, systemClock } from "../../lib/shared/clock.ts";
import { listen } from "../listen.ts";
import { FaultPlan } from "../sts-emulator/faults.ts";
import { Registry } from "../sts-emulator/registry.ts";
import type { Fault, PermanentKey } from "../sts-emulator/types.ts";
import type { StoredPolicy, StoredRole } from "./cam.ts";
import { answerUrl, type Invoker, type WebInstances } from "./function-url.ts";
import { type ApiCall, type ApiState, handle } from "./handler.ts";
import type { StoredFunction } from "./scf.ts";

export type { StoredFunction } from "./scf.ts";

export interface CloudApiOptions {
  /** Who may call: usually the STS emulator's keys, so one key serves STS, COS and this. */
  readonly keys: readonly PermanentKey[];
  /** Runs an event function for its Function URL; without it, such Function URLs answer 501. */
  readonly invoke?: Invoker;
  /** Starts a web function's instance for its Function URL; without it, such Function URLs answer 501. */
  readonly serve?: WebInstances;
  /** GetFunction reads a function stays Creating or Updating after a change; default 1. */
  readonly settleReads?: number;
  /** Checks signature times; default the system clock. */
  readonly clock?: Pick<Clock, "now">;
}

export interface CloudApi {
  /** The API endpoint, for DEPLOY_API_ENDPOINT. */
  readonly url: string;
  readonly calls: ApiCall[];
  /** The X-Scf-Request-Id of every request passed to a web function's instance, in order. */
  readonly webRequestIds: readonly string[];
  /** keyed `<region>/<namespace>/<name>` */
  readonly functions: ReadonlyMap<string, StoredFunction>;
  readonly roles: ReadonlyMap<string, StoredRole>;
  readonly policies: ReadonlyMap<number, StoredPolicy>;
  /** times default: every request until clearFaults(); `actions` limits which actions it hits */
  inject(fault: Fault, opts?: { times?: number; actions?: string[] }): void;
  clearFaults(): void;
  close(): Promise<void>;
}

/** What the services answer a caller without the CAM permission (API 3.0 common error). */
export function unauthorized(permission: string): Fault {
  return {
    kind: "error",
    code: "AuthFailure.UnauthorizedOperation",
    message: `you are not authorized to perform operation (${permission})\nresource (*) has no permission\n`,
  };
}

export async function startCloudApi(options: CloudApiOptions): Promise<CloudApi> {
  const closing = new AbortController();
  let urlOrigin = "";
  const cam = { roles: new Map<string, StoredRole>(), policies: new Map<number, StoredPolicy>(), nextId: 1 };
  const state: ApiState = {
    registry: new Registry([...options.keys]),
    faults: new FaultPlan(),
    calls: [],
    now: () => (options.clock ?? systemClock).now(),
    cam,
    scf: {
      functions: new Map(),
      urls: new Map(),
      settleReads: options.settleReads ?? 1,
      urlOrigin: () => urlOrigin,
      roleExists: (name) => cam.roles.has(name),
    },
    closing: closing.signal,
  };
  const api = await listen(createServer((req: IncomingMessage, res: ServerResponse) => void handle(req, res, state)));
  const webRequestIds: string[] = [];
  const runners = { ...options, onWebRequest: (id: string) => webRequestIds.push(id) };
  const urls = await listen(createServer((req, res) => void answerUrl(req, res, state.scf, runners)));
  urlOrigin = urls.origin;
  return {
    url: api.origin,
    calls: state.calls,
    webRequestIds,
    functions: state.scf.functions,
    roles: cam.roles,
    policies: cam.policies,
    inject: (fault, opts) => state.faults.add(fault, opts),
    clearFaults: () => state.faults.clear(),
    async close() {
      closing.abort();
      await Promise.all([api.close(), urls.close()]);
    },
  };
}
