/**
 * serverless.yml + the deploying environment -> what to deploy, with every `${...}` filled.
 * Which functions, of which kind, and which triggers all come from the yml: a new function
 * kind is a row in FUNCTION_KINDS, a new trigger kind a row in TRIGGER_KINDS.
 */
import { join, resolve } from "node:path";
import type { Env } from "../../lib/shared/env.ts";
import { DeployError } from "./errors.ts";
import { envReference, isSet, substitute, unsetSettings, type Yml, type YmlFunction, type YmlTrigger } from "./yml.ts";

/**
 * How each yml function `type` is created through the API (CreateFunction `Type`, as
 * tencent-component-toolkit's scf formatInputs maps it), and the file SCF starts it from: an
 * event function's handler file, or a web function's scf_bootstrap, which takes no handler
 * (cloud.tencent.com/document/product/583/56126).
 */
const FUNCTION_KINDS = {
  event: { apiType: "Event", entryFile: (handler: string) => `${handler.slice(0, handler.lastIndexOf("."))}.js` },
  web: { apiType: "HTTP", entryFile: () => "scf_bootstrap" },
} as const;
type FunctionKind = keyof typeof FUNCTION_KINDS;

/**
 * A web function's instance may answer several requests at once (InstanceConcurrencyConfig,
 * web functions only: cloud.tencent.com/document/product/583/47183). The yml keys are the
 * component's (tencent-component-toolkit src/modules/scf/utils.ts): `instanceConcurrencyConfig:
 * {enable, dynamicEnabled, maxConcurrency}`, maxConcurrency defaulting to 2.
 */
export interface Concurrency {
  readonly dynamic: boolean;
  readonly max: number;
}

export interface FunctionSpec {
  /** The key under `inputs.functions`, also its folder under the code folder. */
  readonly key: string;
  readonly name: string;
  readonly kind: FunctionKind;
  readonly apiType: (typeof FUNCTION_KINDS)[FunctionKind]["apiType"];
  readonly namespace: string;
  /** An event function's `file.export`; a web function has none. */
  readonly handler?: string;
  /** What SCF starts: the handler's file, or scf_bootstrap. It must be at the root of the code. */
  readonly entryFile: string;
  /** A web function's several requests at once per instance, when the yml enables it. */
  readonly concurrency?: Concurrency;
  readonly runtime: string;
  readonly memorySize: number;
  readonly timeout: number;
  readonly role: string;
  /** The folder zipped as the function's code: its entry file at its root. */
  readonly codeDir: string;
  /** That folder as the yml names it, relative to the code folder (`./server`). */
  readonly src: string;
  /** Only the variables that are set, with their values. */
  readonly environment: Readonly<Record<string, string>>;
}

export interface UrlTriggerSpec {
  readonly type: "http";
  readonly functionKey: string;
  readonly name: string;
  readonly qualifier: string;
  readonly authType: "NONE" | "CAM";
  readonly enableIntranet: boolean;
  readonly enableExtranet: boolean;
}

export interface TimerTriggerSpec {
  readonly type: "timer";
  readonly functionKey: string;
  readonly name: string;
  readonly qualifier: string;
  /** Seven fields: second minute hour day month week year (UTC+8). */
  readonly cron: string;
  readonly enable: boolean;
  readonly argument?: string;
}

export type TriggerSpec = UrlTriggerSpec | TimerTriggerSpec;

export interface DeploySpec {
  readonly app: string;
  readonly stage: string;
  readonly name: string;
  readonly region: string;
  readonly functions: readonly FunctionSpec[];
  readonly triggers: readonly TriggerSpec[];
}

/** SCF's defaults where the yml says nothing (CreateFunction: 128 MB, 3 s; namespace `default`). */
const DEFAULTS = { memorySize: 128, timeout: 3, namespace: "default" };

export function loadSpec(yml: Yml, env: Env, root: string): DeploySpec {
  const unset = unsetSettings(yml, env);
  if (unset.length > 0) {
    throw new DeployError(`serverless.yml needs ${unset.join(", ")}: set ${unset.length > 1 ? "them" : "it"} in the shell or in .env (docs/deploy.md)`);
  }
  const fill = (text: string) => substitute(text, env).text;
  const stage = fill(yml.stage);
  // The component's own references: ${name}, ${stage}, ${app}.
  const own: Readonly<Record<string, string>> = { name: yml.name, stage, app: yml.app };
  const names = (text: string) => fill(text).replace(/\$\{(name|stage|app)\}/g, (_, key: string) => own[key]!);
  const { inputs } = yml;
  const codeRoot = resolve(root, inputs.src.src);
  // Like the component: settings under `inputs` apply to every function that does not set its own.
  const { src: _, functions: __, triggers: ___, ...common } = inputs;
  const functions = Object.entries(inputs.functions).map(([key, fn]) => functionSpec(key, { ...common, ...fn }, { env, names, codeRoot, yml }));
  const triggers = (inputs.triggers ?? []).map((trigger) => triggerSpec(trigger, inputs.functions));
  return { app: yml.app, stage, name: yml.name, region: fill(inputs.region ?? ""), functions, triggers };
}

interface Context {
  readonly env: Env;
  readonly names: (text: string) => string;
  readonly codeRoot: string;
  readonly yml: Yml;
}

function functionSpec(key: string, fn: YmlFunction, { env, names, codeRoot, yml }: Context): FunctionSpec {
  const kind = fn.type ?? "event";
  if (!(kind in FUNCTION_KINDS)) {
    throw new DeployError(`serverless.yml: function ${key} has type ${kind}; npm run deploy deploys ${Object.keys(FUNCTION_KINDS).join(", ")} functions`);
  }
  const variables = (fn.environments ?? []).filter((variable) => isSet(variable, env));
  const web = kind === "web";
  const handler = web ? undefined : required(key, "handler", fn.handler);
  return {
    key,
    name: names(fn.name ?? `${yml.name}-\${stage}-${yml.app}-${key}`),
    kind: kind as FunctionKind,
    apiType: FUNCTION_KINDS[kind as FunctionKind].apiType,
    namespace: fn.namespace ?? DEFAULTS.namespace,
    ...(handler ? { handler } : {}),
    entryFile: FUNCTION_KINDS[kind as FunctionKind].entryFile(handler ?? ""),
    ...(web && fn.instanceConcurrencyConfig?.enable ? { concurrency: concurrencyOf(key, fn.instanceConcurrencyConfig) } : {}),
    runtime: required(key, "runtime", fn.runtime),
    memorySize: fn.memorySize ?? DEFAULTS.memorySize,
    timeout: fn.timeout ?? DEFAULTS.timeout,
    role: names(required(key, "role", fn.role)),
    codeDir: join(codeRoot, fn.src),
    src: fn.src,
    environment: Object.fromEntries(variables.map(({ key: name, value }) => [name, variableValue(value, env)])),
  };
}

function concurrencyOf(key: string, config: NonNullable<YmlFunction["instanceConcurrencyConfig"]>): Concurrency {
  const max = config.maxConcurrency ?? 2;
  if (!Number.isInteger(max) || max < 1 || max > 100)
    throw new DeployError(`serverless.yml: function ${key}'s maxConcurrency must be a whole number from 1 to 100`);
  return { dynamic: config.dynamicEnabled === true, max };
}

function variableValue(value: string, env: Env): string {
  return envReference(value) === undefined ? String(value) : substitute(value, env).text;
}

function required<T>(key: string, setting: string, value: T | undefined): T {
  if (value === undefined || value === "") throw new DeployError(`serverless.yml: function ${key} has no ${setting}`);
  return value;
}

type Parameters = Readonly<Record<string, unknown>>;

const TRIGGER_KINDS: Readonly<Record<string, (functionKey: string, parameters: Parameters) => TriggerSpec>> = {
  http: (functionKey, p) => {
    const net = (p.netConfig ?? {}) as Parameters;
    return {
      type: "http",
      functionKey,
      name: String(p.name ?? "url-trigger"),
      qualifier: String(p.qualifier ?? "$DEFAULT"),
      authType: p.authType === "CAM" ? "CAM" : "NONE",
      enableIntranet: net.enableIntranet === true,
      enableExtranet: net.enableExtranet === true,
    };
  },
  timer: (functionKey, p) => {
    const cron = String(p.cronExpression ?? "");
    if (cron.trim().split(/\s+/).length !== 7) {
      throw new DeployError(`serverless.yml: timer ${String(p.name)} needs a 7-field cronExpression (second minute hour day month week year)`);
    }
    return {
      type: "timer",
      functionKey,
      name: String(p.name ?? "timer"),
      qualifier: String(p.qualifier ?? "$DEFAULT"),
      cron,
      enable: p.enable === true,
      ...(p.argument === undefined ? {} : { argument: String(p.argument) }),
    };
  },
};

function triggerSpec(trigger: YmlTrigger, functions: Yml["inputs"]["functions"]): TriggerSpec {
  const make = TRIGGER_KINDS[trigger.type];
  if (!make) throw new DeployError(`serverless.yml: trigger type ${trigger.type} is not deployed by npm run deploy (${Object.keys(TRIGGER_KINDS).join(", ")})`);
  if (!(trigger.function in functions))
    throw new DeployError(`serverless.yml: a ${trigger.type} trigger names function ${trigger.function}, which is not in inputs.functions`);
  return make(trigger.function, trigger.parameters ?? {});
}
