// The three STS actions and their parameter rules, from the request/response models in
// tencentcloud-sdk-nodejs-sts/tencentcloud/services/sts/v20180813/sts_models.d.ts and the
// API pages (AssumeRole https://www.tencentcloud.com/document/api/1150/49456,
// GetFederationToken https://www.tencentcloud.com/document/api/1150/49452,
// GetCallerIdentity https://cloud.tencent.com/document/api/1312/66098).
import type { EpochMs } from "../../lib/shared/clock.ts";
import { checkPolicy } from "./policy.ts";
import type { Caller, Registry } from "./registry.ts";
import { missingParameter } from "./request.ts";
import type { IssuedCredential } from "./types.ts";
import { StsError } from "./wire.ts";

interface ActionContext {
  caller: Caller;
  registry: Registry;
  nowMs: EpochMs;
  /** role ARNs AssumeRole accepts; undefined accepts any well-formed ARN */
  roles?: ReadonlySet<string>;
  maxPolicyLength: number;
  /** v1 form bodies carry every value as a string */
  form: boolean;
}

interface Action {
  params: readonly string[];
  handle(params: Record<string, unknown>, ctx: ActionContext): Record<string, unknown>;
}

// [\w+=,.@-] per the RoleSessionName doc; Name reuses it since callers send hyphens.
const SESSION_NAME = /^[\w+=,.@-]{2,128}$/;
const FEDERATION_NAME = /^[\w+=,.@-]{2,32}$/;
// The four RoleArn forms the AssumeRole doc lists (general and service roles).
const ROLE_ARN = new RegExp(
  String.raw`^qcs::cam::uin/\d+:(?:roleName/[\w+=,.@-]+|role/\d+` +
    String.raw`|role/tencentcloudServiceRole/\d+|role/tencentcloudServiceRoleName/[\w+=,.@-]+)$`,
);

export const ACTIONS: ReadonlyMap<string, Action> = new Map<string, Action>([
  [
    "AssumeRole",
    {
      params: ["RoleArn", "RoleSessionName", "DurationSeconds", "Policy", "ExternalId", "Tags", "SourceIdentity", "SerialNumber", "TokenCode"],
      handle: assumeRole,
    },
  ],
  ["GetFederationToken", { params: ["Name", "Policy", "DurationSeconds"], handle: getFederationToken }],
  ["GetCallerIdentity", { params: [], handle: (_params, ctx) => identityOf(ctx.caller) }],
]);

/** Unknown parameters are refused by API 3.0 (common code UnknownParameter). */
export function checkKnownParams(action: Action, params: Record<string, unknown>): void {
  for (const name of Object.keys(params)) {
    if (!action.params.includes(name)) throw new StsError("UnknownParameter", `The parameter \`${name}\` is not recognized.`);
  }
}

function assumeRole(params: Record<string, unknown>, ctx: ActionContext): Record<string, unknown> {
  const roleArn = requiredString(params, "RoleArn");
  if (!ROLE_ARN.test(roleArn)) {
    throw new StsError("InvalidParameter", "RoleArn must look like qcs::cam::uin/<uin>:roleName/<name> or qcs::cam::uin/<uin>:role/<id>.");
  }
  if (ctx.roles && !ctx.roles.has(roleArn)) {
    throw new StsError("ResourceNotFound.RoleNotFound", `Role ${roleArn} does not exist.`);
  }
  const roleSessionName = requiredString(params, "RoleSessionName");
  if (!SESSION_NAME.test(roleSessionName)) {
    throw new StsError("InvalidParameter", "RoleSessionName must be 2-128 characters of [\\w+=,.@-].");
  }
  const duration = durationSeconds(params, ctx, 7200, 43200);
  const policy = params.Policy === undefined ? undefined : checkPolicy(params.Policy, ctx.caller, ctx.maxPolicyLength);
  return issue(ctx, { action: "AssumeRole", roleArn, roleSessionName, policy }, duration);
}

function getFederationToken(params: Record<string, unknown>, ctx: ActionContext): Record<string, unknown> {
  // "This API only supports permanent keys." The code the real service sends for a
  // temporary key is not documented; AccessKeyNotSupport is this emulator's choice.
  if (ctx.caller.token !== undefined) {
    throw new StsError("InvalidParameter.AccessKeyNotSupport", "GetFederationToken only accepts permanent keys.");
  }
  const name = requiredString(params, "Name");
  if (!FEDERATION_NAME.test(name)) throw new StsError("InvalidParameter", "Name must be 2-32 characters of [\\w+=,.@-].");
  const policy = checkPolicy(requiredString(params, "Policy"), ctx.caller, ctx.maxPolicyLength);
  // 7200 s with the root account's key, 129600 s with a sub-account's (DurationSeconds, sts_models.d.ts).
  const duration = durationSeconds(params, ctx, 1800, ctx.caller.subAccount ? 129_600 : 7200);
  return issue(ctx, { action: "GetFederationToken", name, policy }, duration);
}

/** What an action asks STS for: the session, its policy and who it is for. */
type SessionRequest = Pick<IssuedCredential, "action" | "policy" | "roleArn" | "roleSessionName" | "name">;

function issue(ctx: ActionContext, session: SessionRequest, duration: number): Record<string, unknown> {
  const { caller } = ctx;
  const expiredTime = Math.floor(ctx.nowMs / 1000) + duration;
  const issued = ctx.registry.issue({ ...session, expiredTime, issuedBy: caller.secretId, appid: caller.appid, uin: caller.uin });
  return {
    Credentials: { Token: issued.token, TmpSecretId: issued.tmpSecretId, TmpSecretKey: issued.tmpSecretKey },
    ExpiredTime: expiredTime,
    Expiration: new Date(expiredTime * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
  };
}

// Only the CAMUser case has a documented example; the Type values for role and
// federated callers are this emulator's names.
function identityOf(caller: Caller): Record<string, unknown> {
  const { uin, issued } = caller;
  const base = { AccountId: uin, PrincipalId: uin };
  if (issued?.action === "GetFederationToken") {
    return { ...base, Arn: `qcs::sts:${uin}:federated-user/${uin}`, UserId: `${uin}:${issued.name}`, Type: "FederatedUser" };
  }
  if (caller.token !== undefined) {
    // Keys from addTemporaryKey() stand for SCF's execution role.
    const role = issued?.roleArn?.split("/").at(-1) ?? "SCF_QcsRole";
    const session = issued?.roleSessionName ?? "scf-execution";
    return { ...base, Arn: `qcs::sts:${uin}:assumed-role/${role}/${session}`, UserId: `${role}:${session}`, Type: "CAMRole" };
  }
  return { ...base, Arn: `qcs::cam::uin/${uin}:uin/${uin}`, UserId: uin, Type: "CAMUser" };
}

function requiredString(params: Record<string, unknown>, name: string): string {
  const value = params[name];
  if (value === undefined || value === null) throw missingParameter(name);
  if (typeof value !== "string") throw new StsError("InvalidParameter", `${name} must be a string.`);
  return value;
}

function durationSeconds(params: Record<string, unknown>, ctx: ActionContext, fallback: number, max: number): number {
  const value = params.DurationSeconds;
  let seconds = fallback;
  if (value !== undefined && value !== null) {
    // API 3.0 JSON is typed (Integer); v1 forms only have strings.
    const fromForm = ctx.form && typeof value === "string" && /^-?\d{1,12}$/.test(value);
    const integer = typeof value === "number" ? value : fromForm ? Number(value) : NaN;
    if (!Number.isInteger(integer)) throw new StsError("InvalidParameter", "DurationSeconds must be an integer.");
    seconds = integer;
  }
  if (seconds < 1 || seconds > max) {
    throw new StsError("InvalidParameter.OverTimeError", `DurationSeconds must be between 1 and ${max}; got ${seconds}.`);
  }
  return seconds;
}
