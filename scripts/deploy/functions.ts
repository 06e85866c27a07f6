/**
 * Create or update one function (code, handler, runtime, timeout, memory, role, environment)
 * and wait until SCF reports it Active. Actions and states: SCF API 2018-04-16 (CreateFunction,
 * UpdateFunctionCode, UpdateFunctionConfiguration, GetFunction; status values
 * cloud.tencent.com/document/product/583/115197).
 */
import { createHash } from "node:crypto";
import type { GetFunctionResponse, InstanceConcurrencyConfig, Variable } from "tencentcloud-sdk-nodejs-scf/tencentcloud/services/scf/v20180416/scf_models.js";
import { after, type Clock } from "../../lib/shared/clock.ts";
import { type CloudApi, isNotFound } from "./api.ts";
import { DeployError } from "./errors.ts";
import type { Concurrency, FunctionSpec } from "./spec.ts";

export interface Pace {
  /** Between two GetFunction polls while a function is Creating or Updating. */
  readonly pollMs: number;
  /** How long a function may take to become Active. */
  readonly timeoutMs: number;
  readonly clock: Pick<Clock, "monotonic" | "sleep">;
}

export interface FunctionContext {
  readonly api: CloudApi;
  readonly dryRun: boolean;
  readonly pace: Pace;
}

/** Marks functions (and roles) this deployer made; undeploy removes only those. */
export const MANAGED = "Deployed by npm run deploy";
/** The code's hash rides in the description (letters, digits, spaces and full stops only), so an unchanged bundle is not uploaded again. */
const describe = (codeSha: string) => `${MANAGED}. Code sha256 ${codeSha}.`;
const codeShaOf = (description: string | undefined) => /Code sha256 ([0-9a-f]{64})/.exec(description ?? "")?.[1];

const WORKING = new Set(["Creating", "Updating", "Publishing", "Deleting"]);

async function getFunction(api: CloudApi, fn: Pick<FunctionSpec, "name" | "namespace">): Promise<GetFunctionResponse | undefined> {
  try {
    return await api.call<GetFunctionResponse>("scf", "GetFunction", { FunctionName: fn.name, Namespace: fn.namespace, Qualifier: "$LATEST" });
  } catch (error) {
    if (isNotFound(error, "ResourceNotFound.Function", "ResourceNotFound.FunctionName")) return undefined;
    throw error;
  }
}

/** Returns what changed, in words (names of variables, never their values). */
export async function deployFunction(ctx: FunctionContext, fn: FunctionSpec, zip: Uint8Array): Promise<string[]> {
  const codeSha = createHash("sha256").update(zip).digest("hex");
  let current = await getFunction(ctx.api, fn);
  if (!current) {
    await ctx.api.call("scf", "CreateFunction", {
      FunctionName: fn.name,
      Namespace: fn.namespace,
      Type: fn.apiType,
      Code: { ZipFile: Buffer.from(zip).toString("base64") },
      ...configuration(fn, codeSha),
      ...(fn.handler ? { Handler: fn.handler } : {}),
      Runtime: fn.runtime,
    });
    await waitActive(ctx, fn, "being created");
    return [`created (${fn.runtime}, ${fn.memorySize} MB, ${fn.timeout} s, role ${fn.role}, ${Object.keys(fn.environment).length} variables)`];
  }
  if (WORKING.has(current.Status ?? "")) current = await waitActive(ctx, fn, `finishing ${current.Status}`);
  refuseInPlace(fn, current);
  const changes: string[] = [];
  const handlerMoved = fn.handler !== undefined && current.Handler !== fn.handler;
  if (codeShaOf(current.Description) !== codeSha || handlerMoved) {
    await ctx.api.call("scf", "UpdateFunctionCode", {
      FunctionName: fn.name,
      Namespace: fn.namespace,
      ...(fn.handler ? { Handler: fn.handler } : {}),
      ZipFile: Buffer.from(zip).toString("base64"),
    });
    await waitActive(ctx, fn, "updating its code");
    changes.push(handlerMoved ? `code, handler ${fn.handler}` : "code");
  }
  const settings = configurationChanges(current, fn);
  if (settings.length > 0 || changes.length > 0) {
    await ctx.api.call("scf", "UpdateFunctionConfiguration", { FunctionName: fn.name, Namespace: fn.namespace, ...configuration(fn, codeSha) });
    await waitActive(ctx, fn, "updating its configuration");
  }
  return [...changes, ...settings];
}

function configuration(fn: FunctionSpec, codeSha: string) {
  return {
    Description: describe(codeSha),
    MemorySize: fn.memorySize,
    Timeout: fn.timeout,
    Role: fn.role,
    Environment: { Variables: Object.entries(fn.environment).map(([Key, Value]) => ({ Key, Value })) },
    ...(fn.kind === "web" ? { InstanceConcurrencyConfig: concurrencyConfig(fn.concurrency) } : {}),
  };
}

/** `DynamicEnabled: ""` turns several requests per instance off ("''时取消多并发配置", scf_models InstanceConcurrencyConfig). */
function concurrencyConfig(concurrency: Concurrency | undefined): InstanceConcurrencyConfig {
  return concurrency ? { DynamicEnabled: concurrency.dynamic ? "TRUE" : "FALSE", MaxConcurrency: concurrency.max } : { DynamicEnabled: "" };
}

const concurrencyText = (config: InstanceConcurrencyConfig | undefined) =>
  config?.DynamicEnabled === "TRUE" || config?.DynamicEnabled === "FALSE"
    ? `${config.MaxConcurrency}${config.DynamicEnabled === "TRUE" ? " (dynamic)" : ""}`
    : "1";

/** What UpdateFunctionConfiguration cannot change: the runtime ("创建时指定，目前不支持修改") and the kind. */
function refuseInPlace(fn: FunctionSpec, current: GetFunctionResponse): void {
  const redo = "Remove it with `npm run undeploy` and deploy again (its Function URL changes), or deploy under another STAGE.";
  if (current.Runtime && current.Runtime !== fn.runtime) {
    throw new DeployError(
      `${fn.name} exists with runtime ${current.Runtime}; SCF cannot change a function's runtime in place, so ${fn.runtime} cannot reach it. ${redo}`,
    );
  }
  if (current.Type && current.Type.toLowerCase() !== fn.apiType.toLowerCase()) {
    throw new DeployError(`${fn.name} exists as a ${current.Type} function, not ${fn.apiType}; SCF cannot change that in place. ${redo}`);
  }
}

function configurationChanges(current: GetFunctionResponse, fn: FunctionSpec): string[] {
  const changes: string[] = [];
  if (current.Timeout !== fn.timeout) changes.push(`timeout ${current.Timeout} -> ${fn.timeout} s`);
  if (current.MemorySize !== fn.memorySize) changes.push(`memory ${current.MemorySize} -> ${fn.memorySize} MB`);
  if ((current.Role ?? "") !== fn.role) changes.push(`role ${current.Role || "(none)"} -> ${fn.role}`);
  if (fn.kind === "web") {
    const [now, wanted] = [concurrencyText(current.InstanceConcurrencyConfig), concurrencyText(concurrencyConfig(fn.concurrency))];
    if (now !== wanted) changes.push(`requests per instance ${now} -> ${wanted}`);
  }
  const variables = environmentChanges(current.Environment?.Variables ?? [], fn.environment);
  if (variables) changes.push(`variables ${variables}`);
  return changes;
}

/** `+ADDED ~CHANGED -REMOVED`, names only. A removed one may have been set by hand in the console. */
function environmentChanges(current: readonly Variable[], desired: Readonly<Record<string, string>>): string {
  const now = new Map(current.map((variable) => [variable.Key ?? "", variable.Value ?? ""]));
  const added = Object.keys(desired).filter((name) => !now.has(name));
  const changed = Object.keys(desired).filter((name) => now.has(name) && now.get(name) !== desired[name]);
  const removed = [...now.keys()].filter((name) => !(name in desired));
  return [...added.map((name) => `+${name}`), ...changed.map((name) => `~${name}`), ...removed.map((name) => `-${name}`)].join(" ");
}

async function waitActive(ctx: FunctionContext, fn: FunctionSpec, doing: string): Promise<GetFunctionResponse> {
  if (ctx.dryRun) return {};
  const { pace } = ctx;
  const deadline = after(pace.clock.monotonic(), pace.timeoutMs);
  for (;;) {
    const info = await getFunction(ctx.api, fn);
    const status = info?.Status ?? "gone";
    if (info && status === "Active") return info;
    if (!info || !WORKING.has(status)) {
      const reason = info?.StatusReasons?.[0]?.ErrorMessage ?? info?.StatusDesc ?? "no reason given";
      throw new DeployError(`${fn.name} went ${status} while ${doing}: ${reason}. See the function's page in the SCF console; then run again.`);
    }
    if (pace.clock.monotonic() >= deadline) {
      throw new DeployError(`${fn.name} is still ${status} after ${Math.round(pace.timeoutMs / 1000)} s (${doing}); run again once it settles.`);
    }
    await pace.clock.sleep(pace.pollMs);
  }
}

/** Undeploy removes only what this deployer made: its functions say so in their description. */
export async function functionOwner(api: CloudApi, fn: FunctionSpec): Promise<"ours" | "absent" | "other"> {
  const current = await getFunction(api, fn);
  if (!current) return "absent";
  return current.Description?.startsWith(MANAGED) ? "ours" : "other";
}

export async function deleteFunction(api: CloudApi, fn: FunctionSpec): Promise<void> {
  await api.call("scf", "DeleteFunction", { FunctionName: fn.name, Namespace: fn.namespace });
}
