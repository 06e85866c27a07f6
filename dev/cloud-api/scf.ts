// SCF (API 2018-04-16) as far as a deployer uses it: functions with their code, settings,
// variables and status, and their triggers (Function URL and timer). Parameters and rules from
// tencentcloud-sdk-nodejs-scf's scf_models.d.ts and the CreateFunction, CreateTrigger and
// Function URL pages (cloud.tencent.com/document/product/583/100227).
import { randomBytes } from "node:crypto";
import { unzipSync } from "fflate";
import { type Action, integer, optionalText, type Params, Refusal, text } from "./params.ts";

interface StoredTrigger {
  readonly type: "http" | "timer";
  readonly name: string;
  qualifier: string;
  /** As ListTriggers gives it back: http `{AuthType, NetConfig{..., ExtranetUrl}}`, timer `{"cron": ...}`. */
  desc: string;
  enable: 0 | 1;
  customArgument?: string;
}

export interface StoredFunction {
  readonly name: string;
  readonly namespace: string;
  readonly region: string;
  /** Event, or HTTP: a web function, which SCF starts from scf_bootstrap and takes no handler. */
  readonly type: string;
  handler?: string;
  readonly runtime: string;
  memorySize: number;
  timeout: number;
  role: string;
  description: string;
  /** Exactly what the function gets, as SCF stores it. */
  environment: Record<string, string>;
  code: Uint8Array;
  status: "Creating" | "Updating" | "Active";
  /** A web function's requests at once per instance, as InstanceConcurrencyConfig said; none: one at a time. */
  concurrency?: { readonly DynamicEnabled: "TRUE" | "FALSE"; readonly MaxConcurrency: number };
  /** GetFunction reads left before a Creating or Updating function turns Active. */
  settling: number;
  triggers: StoredTrigger[];
}

export interface ScfState {
  readonly functions: Map<string, StoredFunction>;
  /** Function URL id -> function key. */
  readonly urls: Map<string, string>;
  readonly settleReads: number;
  /** Where the emulator answers Function URLs. */
  readonly urlOrigin: () => string;
  readonly roleExists: (name: string) => boolean;
}

/** Node.js runtimes SCF lists (cloud.tencent.com/document/product/583/11060). */
const RUNTIMES = new Set(["Nodejs6.10", "Nodejs8.9", "Nodejs10.15", "Nodejs12.16", "Nodejs14.18", "Nodejs16.13", "Nodejs18.15", "Nodejs20.19"]);
const FUNCTION_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,58}[A-Za-z0-9]$/;
const HANDLER = /^[A-Za-z][\w-]{0,58}[A-Za-z0-9]?\.[A-Za-z][\w-]{0,58}[A-Za-z0-9]?$/;
/** Reserved by the platform, and the 4 KB cap on all variables together (docs/contract.md, Configuration). */
const RESERVED = /^(SCF_|QCLOUD_|TENCENTCLOUD_)/;
const ENV_BYTES = 4096;
/** "zip包大小上限为 50MB" (CreateFunction), "最大支持20M" (UpdateFunctionCode). */
const CREATE_ZIP_BYTES = 50 * 1024 * 1024;
const UPDATE_ZIP_BYTES = 20 * 1024 * 1024;

const keyOf = (region: string, params: Params) => `${region}/${optionalText(params, "Namespace") ?? "default"}/${text(params, "FunctionName")}`;

function stored(state: ScfState, region: string, params: Params): StoredFunction {
  const fn = state.functions.get(keyOf(region, params));
  if (!fn) throw new Refusal("ResourceNotFound.Function", "未找到指定的Function，请创建后再试。");
  return fn;
}

function active(fn: StoredFunction, action: string): void {
  if (fn.status !== "Active") throw new Refusal(`FailedOperation.${action}`, `当前函数状态(${fn.status})无法进行此操作，请稍后再试。`);
}

function zipOf(value: unknown, maxBytes: number): Uint8Array {
  if (typeof value !== "string" || value === "") throw new Refusal("MissingParameter", "The code needs ZipFile (base64 of a zip).");
  const zip = Buffer.from(value, "base64");
  if (zip.length > maxBytes) throw new Refusal("InvalidParameterValue.ZipFile", `The zip is over ${maxBytes} bytes.`);
  try {
    unzipSync(zip);
  } catch {
    throw new Refusal("InvalidParameterValue.ZipFile", "ZipFile is not a zip archive.");
  }
  return zip;
}

/** Environment.Variables: names not reserved, values not empty ("不可为空字符"), 4 KB in all. */
function environmentOf(value: unknown): Record<string, string> {
  const variables = (value as { Variables?: unknown } | undefined)?.Variables ?? [];
  if (!Array.isArray(variables)) throw new Refusal("InvalidParameterValue.Environment", "Environment.Variables must be a list.");
  const environment: Record<string, string> = {};
  for (const variable of variables as { Key?: unknown; Value?: unknown }[]) {
    const { Key: key, Value: given } = variable;
    if (typeof key !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      throw new Refusal("InvalidParameterValue.Environment", `Bad variable name ${String(key)}.`);
    if (RESERVED.test(key)) throw new Refusal("InvalidParameterValue.Environment", `${key}: names starting SCF_, QCLOUD_ or TENCENTCLOUD_ are reserved.`);
    if (typeof given !== "string" || given === "") throw new Refusal("InvalidParameterValue.Environment", `${key} has an empty value.`);
    environment[key] = given;
  }
  const bytes = Object.entries(environment).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
  if (bytes > ENV_BYTES) throw new Refusal("InvalidParameterValue.Environment", `The variables take ${bytes} bytes, over the 4 KB limit.`);
  return environment;
}

function memory(params: Params): number | undefined {
  const value = integer(params, "MemorySize", 64, 3072);
  if (value !== undefined && value !== 64 && value % 128 !== 0)
    throw new Refusal("InvalidParameterValue.MemorySize", "MemorySize is 64 or a multiple of 128 up to 3072.");
  return value;
}

function role(state: ScfState, params: Params): string | undefined {
  const name = optionalText(params, "Role");
  if (name !== undefined && !state.roleExists(name)) throw new Refusal("InvalidParameterValue.Role", `Role ${name} does not exist.`);
  return name;
}

/**
 * InstanceConcurrencyConfig: "只支持Web函数"; MaxConcurrency 1-100; DynamicEnabled TRUE or FALSE,
 * or "" to turn it off (tencentcloud-sdk-nodejs-scf scf_models.d.ts).
 */
function concurrencyOf(params: Params, type: string): StoredFunction["concurrency"] | null | undefined {
  const config = params.InstanceConcurrencyConfig as Params | undefined;
  if (config === undefined) return undefined;
  if (type !== "HTTP") throw new Refusal("InvalidParameterValue.InstanceConcurrencyConfig", "InstanceConcurrencyConfig is for web functions (Type HTTP) only.");
  const dynamic = config.DynamicEnabled;
  if (dynamic === "") return null;
  if (dynamic !== "TRUE" && dynamic !== "FALSE")
    throw new Refusal("InvalidParameterValue.InstanceConcurrencyConfig", "DynamicEnabled is TRUE, FALSE or empty.");
  const max = integer(config, "MaxConcurrency", 1, 100);
  if (max === undefined) throw new Refusal("MissingParameter", "InstanceConcurrencyConfig needs MaxConcurrency.");
  return { DynamicEnabled: dynamic, MaxConcurrency: max };
}

function describe(fn: StoredFunction): Record<string, unknown> {
  return {
    FunctionName: fn.name,
    Namespace: fn.namespace,
    Type: fn.type,
    ...(fn.handler === undefined ? {} : { Handler: fn.handler }),
    ...(fn.concurrency ? { InstanceConcurrencyConfig: fn.concurrency } : {}),
    Runtime: fn.runtime,
    MemorySize: fn.memorySize,
    Timeout: fn.timeout,
    Role: fn.role,
    Description: fn.description,
    Environment: { Variables: Object.entries(fn.environment).map(([Key, Value]) => ({ Key, Value })) },
    CodeSize: fn.code.length,
    Status: fn.status,
    Qualifier: "$LATEST",
  };
}

const FUNCTION_SETTINGS = ["Description", "MemorySize", "Timeout", "Environment", "Role", "Namespace", "InstanceConcurrencyConfig"];

function createFunction(params: Params, state: ScfState, region: string): Record<string, unknown> {
  const name = text(params, "FunctionName");
  if (!FUNCTION_NAME.test(name))
    throw new Refusal("InvalidParameterValue.FunctionName", "函数名称不符合规则: 2-60 letters, digits, - and _, starting with a letter.");
  const key = keyOf(region, params);
  if (state.functions.has(key)) throw new Refusal("ResourceInUse.Function", "函数已存在。");
  const runtime = text(params, "Runtime");
  if (!RUNTIMES.has(runtime)) throw new Refusal("InvalidParameterValue.Runtime", `Runtime ${runtime} is not offered.`);
  const type = optionalText(params, "Type") ?? "Event";
  if (type !== "Event" && type !== "HTTP") throw new Refusal("InvalidParameterValue.Type", "Type is Event or HTTP.");
  const handler = handlerOf(params, type);
  const concurrency = concurrencyOf(params, type);
  state.functions.set(key, {
    name,
    namespace: optionalText(params, "Namespace") ?? "default",
    region,
    type,
    ...(handler === undefined ? {} : { handler }),
    ...(concurrency ? { concurrency } : {}),
    runtime,
    memorySize: memory(params) ?? 128,
    timeout: integer(params, "Timeout", 1, 900) ?? 3,
    role: role(state, params) ?? "",
    description: optionalText(params, "Description") ?? "",
    environment: environmentOf(params.Environment),
    code: zipOf((params.Code as Params | undefined)?.ZipFile, CREATE_ZIP_BYTES),
    status: "Creating",
    settling: state.settleReads,
    triggers: [],
  });
  return {};
}

/** An event function's `file.method`; a web function starts from scf_bootstrap, so a handler means nothing to it. */
function handlerOf(params: Params, type: string): string | undefined {
  if (type === "HTTP") return undefined;
  const handler = text(params, "Handler");
  if (!HANDLER.test(handler)) throw new Refusal("InvalidParameterValue.Handler", "Handler is file.method.");
  return handler;
}

function getFunction(params: Params, state: ScfState, region: string): Record<string, unknown> {
  const fn = stored(state, region, params);
  const answer = describe(fn);
  if (fn.status !== "Active" && --fn.settling <= 0) fn.status = "Active";
  return answer;
}

function updateCode(params: Params, state: ScfState, region: string): Record<string, unknown> {
  const fn = stored(state, region, params);
  active(fn, "UpdateFunctionCode");
  fn.code = zipOf(params.ZipFile ?? (params.Code as Params | undefined)?.ZipFile, UPDATE_ZIP_BYTES);
  if (fn.type !== "HTTP") fn.handler = optionalText(params, "Handler") ?? fn.handler;
  Object.assign(fn, { status: "Updating", settling: state.settleReads });
  return {};
}

function updateConfiguration(params: Params, state: ScfState, region: string): Record<string, unknown> {
  const fn = stored(state, region, params);
  active(fn, "UpdateFunctionConfiguration");
  const runtime = optionalText(params, "Runtime");
  if (runtime !== undefined && runtime !== fn.runtime) throw new Refusal("InvalidParameterValue.Runtime", "函数运行环境，创建时指定，目前不支持修改。");
  fn.memorySize = memory(params) ?? fn.memorySize;
  fn.timeout = integer(params, "Timeout", 1, 900) ?? fn.timeout;
  fn.role = role(state, params) ?? fn.role;
  fn.description = optionalText(params, "Description") ?? fn.description;
  if (params.Environment !== undefined) fn.environment = environmentOf(params.Environment);
  const concurrency = concurrencyOf(params, fn.type);
  if (concurrency !== undefined) fn.concurrency = concurrency ?? undefined;
  Object.assign(fn, { status: "Updating", settling: state.settleReads });
  return {};
}

function deleteFunction(params: Params, state: ScfState, region: string): Record<string, unknown> {
  const fn = stored(state, region, params);
  for (const [id, key] of state.urls) if (key === keyOf(region, params)) state.urls.delete(id);
  state.functions.delete(keyOf(region, { FunctionName: fn.name, Namespace: fn.namespace }));
  return {};
}

const listed = (trigger: StoredTrigger) => ({
  Type: trigger.type,
  TriggerName: trigger.name,
  Qualifier: trigger.qualifier,
  TriggerDesc: trigger.desc,
  Enable: trigger.enable,
  ...(trigger.customArgument === undefined ? {} : { CustomArgument: trigger.customArgument }),
});

function listTriggers(params: Params, state: ScfState, region: string): Record<string, unknown> {
  const { triggers } = stored(state, region, params);
  return { Triggers: triggers.map(listed), TotalCount: triggers.length };
}

const ENABLE = (params: Params): 0 | 1 => ((optionalText(params, "Enable") ?? "OPEN") === "OPEN" ? 1 : 0);

/** The stored TriggerDesc of a trigger being created or updated; a Function URL gets its address here. */
function describeTrigger(type: string, params: Params, state: ScfState, fnKey: string, existing?: StoredTrigger): string {
  const given = text(params, "TriggerDesc");
  if (type === "timer") {
    if (given.trim().split(/\s+/).length !== 7) throw new Refusal("InvalidParameterValue.TriggerDesc", "A timer's cron has seven fields.");
    return JSON.stringify({ cron: given });
  }
  let desc: { AuthType?: unknown; NetConfig?: { EnableIntranet?: unknown; EnableExtranet?: unknown } };
  try {
    desc = JSON.parse(given);
  } catch {
    throw new Refusal("InvalidParameterValue.TriggerDesc", "TriggerDesc is not JSON.");
  }
  const net = desc.NetConfig;
  if ((desc.AuthType !== "NONE" && desc.AuthType !== "CAM") || typeof net?.EnableIntranet !== "boolean" || typeof net.EnableExtranet !== "boolean") {
    throw new Refusal("InvalidParameterValue.TriggerDesc", "A Function URL needs AuthType (NONE or CAM) and NetConfig {EnableIntranet, EnableExtranet}.");
  }
  const id = /\/([0-9a-f]{16})$/.exec(JSON.parse(existing?.desc ?? "{}").NetConfig?.ExtranetUrl ?? "")?.[1] ?? randomBytes(8).toString("hex");
  state.urls.set(id, fnKey);
  const ExtranetUrl = net.EnableExtranet ? `${state.urlOrigin()}/${id}` : undefined;
  return JSON.stringify({ AuthType: desc.AuthType, NetConfig: { ...net, ...(ExtranetUrl ? { ExtranetUrl } : {}) } });
}

function triggerType(params: Params): "http" | "timer" {
  const type = text(params, "Type");
  if (type !== "http" && type !== "timer") throw new Refusal("InvalidParameterValue.Type", `This emulator keeps http and timer triggers, not ${type}.`);
  return type;
}

function createTrigger(params: Params, state: ScfState, region: string): Record<string, unknown> {
  const fn = stored(state, region, params);
  const type = triggerType(params);
  const name = text(params, "TriggerName");
  const qualifier = optionalText(params, "Qualifier") ?? "$LATEST";
  if (fn.triggers.some((trigger) => trigger.type === type && trigger.name === name)) throw new Refusal("ResourceInUse.Trigger", "触发器已存在。");
  // "每一个别名或者版本仅允许创建一个 URL"
  if (type === "http" && fn.triggers.some((trigger) => trigger.type === "http" && trigger.qualifier === qualifier)) {
    throw new Refusal("ResourceInUse.Trigger", `${qualifier} already has a Function URL.`);
  }
  const trigger: StoredTrigger = {
    type,
    name,
    qualifier,
    desc: describeTrigger(type, params, state, keyOf(region, params)),
    enable: ENABLE(params),
    ...(params.CustomArgument === undefined ? {} : { customArgument: text(params, "CustomArgument") }),
  };
  fn.triggers.push(trigger);
  return { TriggerInfo: listed(trigger) };
}

function findTrigger(fn: StoredFunction, params: Params): StoredTrigger {
  const trigger = fn.triggers.find((item) => item.type === text(params, "Type") && item.name === text(params, "TriggerName"));
  if (!trigger) throw new Refusal("ResourceNotFound.Trigger", "未找到指定的触发器。");
  return trigger;
}

function updateTrigger(params: Params, state: ScfState, region: string): Record<string, unknown> {
  const fn = stored(state, region, params);
  const trigger = findTrigger(fn, params);
  if (params.TriggerDesc !== undefined) trigger.desc = describeTrigger(trigger.type, params, state, keyOf(region, params), trigger);
  if (params.Enable !== undefined) trigger.enable = ENABLE(params);
  trigger.qualifier = optionalText(params, "Qualifier") ?? trigger.qualifier;
  if (params.CustomArgument !== undefined) trigger.customArgument = text(params, "CustomArgument");
  return {};
}

function deleteTrigger(params: Params, state: ScfState, region: string): Record<string, unknown> {
  const fn = stored(state, region, params);
  const trigger = findTrigger(fn, params);
  fn.triggers = fn.triggers.filter((item) => item !== trigger);
  return {};
}

type ScfAction = Action<ScfState>;
const act = (params: readonly string[], handle: (params: Params, state: ScfState, region: string) => Record<string, unknown>): ScfAction => ({
  params,
  handle: (given, state, context) => handle(given, state, context.region),
});

const TRIGGER = ["FunctionName", "Namespace", "TriggerName", "Type", "Qualifier", "TriggerDesc", "Enable", "CustomArgument", "Description"];

export const SCF_ACTIONS: ReadonlyMap<string, ScfAction> = new Map([
  ["CreateFunction", act(["FunctionName", "Code", "Handler", "Runtime", "Type", ...FUNCTION_SETTINGS], createFunction)],
  ["GetFunction", act(["FunctionName", "Namespace", "Qualifier", "ShowCode"], getFunction)],
  ["UpdateFunctionCode", act(["FunctionName", "Namespace", "Handler", "ZipFile", "Code", "CodeSource", "Publish"], updateCode)],
  ["UpdateFunctionConfiguration", act(["FunctionName", "Runtime", "Publish", ...FUNCTION_SETTINGS], updateConfiguration)],
  ["DeleteFunction", act(["FunctionName", "Namespace", "Qualifier"], deleteFunction)],
  ["ListTriggers", act(["FunctionName", "Namespace", "Offset", "Limit", "OrderBy", "Order", "Filters"], listTriggers)],
  ["CreateTrigger", act(TRIGGER, createTrigger)],
  ["UpdateTrigger", act(TRIGGER, updateTrigger)],
  ["DeleteTrigger", act(["FunctionName", "Namespace", "TriggerName", "Type", "TriggerDesc", "Qualifier"], deleteTrigger)],
]);
