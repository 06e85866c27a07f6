/**
 * The Function URL and the timer, created or updated to match serverless.yml. A Function URL is
 * an `http` trigger whose TriggerDesc is `{AuthType, NetConfig{EnableIntranet, EnableExtranet}}`
 * (cloud.tencent.com/document/product/583/100227); SCF answers with the address in
 * `NetConfig.ExtranetUrl`. A timer's TriggerDesc is its cron on the way in and `{"cron": ...}` on
 * the way out, and `Enable` is OPEN/CLOSE in, 1/0 out (CreateTrigger, ListTriggers, UpdateTrigger).
 */
import type { Trigger, TriggerInfo } from "tencentcloud-sdk-nodejs-scf/tencentcloud/services/scf/v20180416/scf_models.js";
import type { CloudApi } from "./api.ts";
import type { FunctionSpec, TimerTriggerSpec, TriggerSpec, UrlTriggerSpec } from "./spec.ts";

export interface TriggerOutcome {
  readonly line: string;
  /** The Function URL, for an http trigger once SCF has given it. */
  readonly url?: string;
}

interface Desired {
  readonly desc: string;
  readonly enable: "OPEN" | "CLOSE";
  readonly argument?: string;
  /** Whether an existing trigger already says the same. */
  same(existing: TriggerInfo): boolean;
}

/** A TriggerDesc as SCF gives it back; loosely typed, it varies by trigger type. */
interface TriggerDesc {
  readonly cron?: string;
  readonly AuthType?: string;
  readonly NetConfig?: { readonly EnableIntranet?: boolean; readonly EnableExtranet?: boolean; readonly ExtranetUrl?: string };
}

const parseDesc = (desc: string | undefined): TriggerDesc => {
  try {
    const value = JSON.parse(desc ?? "");
    return typeof value === "object" && value !== null ? value : {};
  } catch {
    return {};
  }
};

const DESIRED: { readonly [K in TriggerSpec["type"]]: (trigger: Extract<TriggerSpec, { type: K }>) => Desired } = {
  http: (trigger: UrlTriggerSpec) => ({
    desc: JSON.stringify({ AuthType: trigger.authType, NetConfig: { EnableIntranet: trigger.enableIntranet, EnableExtranet: trigger.enableExtranet } }),
    enable: "OPEN",
    same: (existing) => {
      const { AuthType, NetConfig } = parseDesc(existing.TriggerDesc);
      return AuthType === trigger.authType && NetConfig?.EnableIntranet === trigger.enableIntranet && NetConfig?.EnableExtranet === trigger.enableExtranet;
    },
  }),
  timer: (trigger: TimerTriggerSpec) => ({
    desc: trigger.cron,
    enable: trigger.enable ? "OPEN" : "CLOSE",
    argument: trigger.argument,
    same: (existing) =>
      (parseDesc(existing.TriggerDesc).cron ?? existing.TriggerDesc) === trigger.cron &&
      Number(existing.Enable) === (trigger.enable ? 1 : 0) &&
      (existing.CustomArgument || undefined) === trigger.argument,
  }),
};

const desiredOf = (trigger: TriggerSpec): Desired => (DESIRED[trigger.type] as (trigger: TriggerSpec) => Desired)(trigger);

const functionUrl = (desc: string | undefined): string | undefined => {
  const url = parseDesc(desc).NetConfig?.ExtranetUrl;
  return typeof url === "string" && url ? url : undefined;
};

async function listTriggers(api: CloudApi, fn: FunctionSpec): Promise<TriggerInfo[]> {
  const answer = await api.call<{ Triggers?: TriggerInfo[] }>("scf", "ListTriggers", { FunctionName: fn.name, Namespace: fn.namespace, Limit: 100 });
  return answer.Triggers ?? [];
}

export async function deployTrigger(api: CloudApi, fn: FunctionSpec, trigger: TriggerSpec): Promise<TriggerOutcome> {
  const desired = desiredOf(trigger);
  const find = (list: TriggerInfo[]) => list.find((item) => item.Type === trigger.type && item.TriggerName === trigger.name);
  const existing = find(await listTriggers(api, fn));
  const label = `${trigger.type} trigger ${trigger.name} on ${fn.name}`;
  const params = {
    FunctionName: fn.name,
    Namespace: fn.namespace,
    TriggerName: trigger.name,
    Type: trigger.type,
    Qualifier: trigger.qualifier,
    TriggerDesc: desired.desc,
    Enable: desired.enable,
    ...(desired.argument === undefined ? {} : { CustomArgument: desired.argument }),
  };
  if (!existing) {
    const { TriggerInfo: created } = await api.call<{ TriggerInfo?: Trigger }>("scf", "CreateTrigger", params);
    return { line: `${label}: created`, url: functionUrl(created?.TriggerDesc) };
  }
  if (desired.same(existing) && (existing.Qualifier ?? trigger.qualifier) === trigger.qualifier) {
    return { line: `${label}: unchanged`, url: functionUrl(existing.TriggerDesc) };
  }
  await api.call("scf", "UpdateTrigger", params);
  const updated = find(await listTriggers(api, fn));
  return { line: `${label}: updated`, url: functionUrl(updated?.TriggerDesc ?? existing.TriggerDesc) };
}

export async function removeTrigger(api: CloudApi, fn: FunctionSpec, trigger: TriggerSpec, dryRun: boolean): Promise<string> {
  const label = `${trigger.type} trigger ${trigger.name} on ${fn.name}`;
  if (!dryRun && !(await listTriggers(api, fn)).some((item) => item.Type === trigger.type && item.TriggerName === trigger.name)) {
    return `${label}: not there`;
  }
  await api.call("scf", "DeleteTrigger", {
    FunctionName: fn.name,
    Namespace: fn.namespace,
    TriggerName: trigger.name,
    Type: trigger.type,
    Qualifier: trigger.qualifier,
  });
  return `${label}: deleted`;
}
