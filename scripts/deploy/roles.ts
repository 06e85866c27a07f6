/**
 * The two CAM roles (docs/deploy.md, "CAM: who may issue what"): the functions' execution role,
 * which SCF carries and which may only assume the COS role; and the COS role the broker
 * assumes, whose policy is exactly what the configured profiles can grant in the bucket. With
 * `--create-roles` they are created or brought up to date; otherwise only checked. CAM API
 * 2019-01-16: GetRole, CreateRole, UpdateAssumeRolePolicy, ListAttachedRolePolicies,
 * ListPolicies, GetPolicy, CreatePolicy, UpdatePolicy, AttachRolePolicy, DetachRolePolicy,
 * DeletePolicy, DeleteRole.
 */
import { type Config, grantSettingsFor } from "../../lib/broker/config.ts";
import { isBucketAction } from "../../lib/cam/actions.ts";
import { resourceOf } from "../../lib/cam/policy.ts";
import type { CheckConfig } from "../../lib/check/config.ts";
import { PROBE_OBJECT } from "../../lib/check/probe.ts";
import { canary } from "../../lib/check/run.ts";
import { type PrefixTemplate, prefixFor } from "../../lib/grant/prefix.ts";
import { type CloudApi, isNotFound } from "./api.ts";
import { MANAGED } from "./functions.ts";

type Document = Readonly<Record<string, unknown>>;

export interface RoleSpec {
  readonly name: string;
  /** What it is for, in words. */
  readonly purpose: string;
  /** Who may assume it. */
  readonly trust: Document;
  readonly policyName?: string;
  /** What it may do; none for an execution role with nothing to assume. */
  readonly policy?: Document;
}

const ROLE_ARN = /^qcs::cam::uin\/(\d+):roleName\/([\w+=,.@-]+)$/;

/**
 * The execution role; and with STS_ROLE_ARN (AssumeRole) naming a role by name, the COS role.
 * The COS role's policy needs the broker's configuration (`cos`); undeploy needs only names.
 */
export function desiredRoles(executionRole: string, roleArn: string | undefined, cos: { config: Config; check: CheckConfig } | undefined): RoleSpec[] {
  const execution: RoleSpec = {
    name: executionRole,
    purpose: "the functions' execution role",
    // SCF carries it (cloud.tencent.com/document/product/583/32389).
    trust: { version: "2.0", statement: [{ action: "name/sts:AssumeRole", effect: "allow", principal: { service: ["scf.qcloud.com"] } }] },
    ...(roleArn ? { policyName: `${executionRole}-assume`, policy: allow(["name/sts:AssumeRole"], [roleArn]) } : {}),
  };
  const parsed = roleArn ? ROLE_ARN.exec(roleArn) : null;
  if (!parsed) return [execution];
  const [, uin, name] = parsed as unknown as [string, string, string];
  const target: RoleSpec = {
    name,
    purpose: "the COS role the broker assumes",
    // The account trusts itself; only identities granted sts:AssumeRole on the role (the execution role) can use it.
    trust: { version: "2.0", statement: [{ action: "name/sts:AssumeRole", effect: "allow", principal: { qcs: [`qcs::cam::uin/${uin}:root`] } }] },
    policyName: `${name}-cos`,
    ...(cos ? { policy: cosPolicy(cos.config, cos.check) } : {}),
  };
  return [execution, target];
}

const allow = (action: readonly string[], resource: readonly string[]) => ({ version: "2.0", statement: [{ effect: "allow", action, resource }] });

/** Every action of every profile, on the part of each prefix template no claim fills; and the check's clean-up. */
function cosPolicy(config: Config, check: CheckConfig): Document {
  const ref = { bucket: config.bucket, region: config.region, appid: config.appid };
  const byResource = new Map<string, Set<string>>();
  const add = (resource: string, action: string) => byResource.set(resource, (byResource.get(resource) ?? new Set()).add(action));
  // Each identity source's users: login tokens' under PREFIX_TEMPLATE, WeChat's under WECHAT_PREFIX_TEMPLATE.
  const defaults = [...(config.jwt ? [config.prefixTemplate] : []), ...(config.wechat ? [config.wechat.prefixTemplate] : [])];
  for (const profile of config.profiles.values()) {
    for (const template of profile.prefixTemplate ? [profile.prefixTemplate] : defaults) {
      const base = fixedPart(template);
      for (const action of profile.actions) add(resourceOf(ref, isBucketAction(action) ? "" : `${base}*`), action);
    }
  }
  // The check deletes its probe object with a second, DeleteObject-only credential (lib/check/run.ts).
  const claims = canary(config, check.subject, check.claims);
  add(resourceOf(ref, `${prefixFor(grantSettingsFor(config, claims).prefixTemplate, claims)}${PROBE_OBJECT}`), "name/cos:DeleteObject");
  return {
    version: "2.0",
    statement: [...byResource].map(([resource, actions]) => ({ effect: "allow", action: [...actions].sort(), resource: [resource] })),
  };
}

/** `users/{sub}/` -> `users/`: what every user's prefix starts with. */
function fixedPart(template: PrefixTemplate): string {
  const end = template.segments.findIndex((segment) => !("literal" in segment));
  const literal = template.segments.slice(0, end === -1 ? undefined : end).map((segment) => `${"literal" in segment ? segment.literal : ""}/`);
  const placeholder = template.segments[end];
  return literal.join("") + (placeholder && !("literal" in placeholder) ? placeholder.before : "");
}

interface RoleInfo {
  readonly RoleName?: string;
  readonly PolicyDocument?: string;
  readonly Description?: string;
}
interface AttachedPolicy {
  readonly PolicyId?: number;
  readonly PolicyName?: string;
}

async function getRole(api: CloudApi, name: string): Promise<RoleInfo | undefined> {
  try {
    return (await api.call<{ RoleInfo?: RoleInfo }>("cam", "GetRole", { RoleName: name })).RoleInfo;
  } catch (error) {
    if (isNotFound(error, "InvalidParameter.RoleNotExist", "ResourceNotFound.RoleNotExist")) return undefined;
    throw error;
  }
}

/** Without --create-roles: the roles that do not exist, each with what it is for. */
export async function missingRoles(api: CloudApi, roles: readonly RoleSpec[]): Promise<string[]> {
  const missing: string[] = [];
  for (const role of roles) if (!(await getRole(api, role.name))) missing.push(`${role.name} (${role.purpose})`);
  return missing;
}

/** --create-roles: creates or updates the role, its trust policy and its permission policy; returns what it did. */
export async function ensureRole(api: CloudApi, role: RoleSpec, app: string): Promise<string[]> {
  const done: string[] = [];
  const current = await getRole(api, role.name);
  if (!current) {
    await api.call("cam", "CreateRole", {
      RoleName: role.name,
      PolicyDocument: JSON.stringify(role.trust),
      Description: `${MANAGED} for ${app}: ${role.purpose}.`,
    });
    done.push("created");
  } else if (!sameDocument(current.PolicyDocument, role.trust)) {
    await api.call("cam", "UpdateAssumeRolePolicy", { RoleName: role.name, PolicyDocument: JSON.stringify(role.trust) });
    done.push("trust policy updated");
  }
  if (role.policy && role.policyName) done.push(...(await ensurePolicy(api, role, role.policyName, role.policy)));
  return done;
}

async function ensurePolicy(api: CloudApi, role: RoleSpec, policyName: string, document: Document): Promise<string[]> {
  const attached = await attachedPolicy(api, role.name, policyName);
  const existing =
    attached ??
    (await api.call<{ List?: AttachedPolicy[] }>("cam", "ListPolicies", { Keyword: policyName, Scope: "Local", Rp: 200, Page: 1 })).List?.find(
      (policy) => policy.PolicyName === policyName,
    );
  const done: string[] = [];
  const policyId = existing?.PolicyId;
  if (policyId === undefined) {
    await api.call("cam", "CreatePolicy", { PolicyName: policyName, PolicyDocument: JSON.stringify(document), Description: `${MANAGED}: ${role.purpose}.` });
    done.push(`policy ${policyName} created`);
  } else {
    const current = await api.call<{ PolicyDocument?: string }>("cam", "GetPolicy", { PolicyId: policyId });
    if (!sameDocument(current.PolicyDocument, document)) {
      await api.call("cam", "UpdatePolicy", { PolicyId: policyId, PolicyDocument: JSON.stringify(document) });
      done.push(`policy ${policyName} updated`);
    }
  }
  if (!attached) {
    await api.call("cam", "AttachRolePolicy", { PolicyName: policyName, AttachRoleName: role.name });
    done.push(`policy ${policyName} attached`);
  }
  return done;
}

async function attachedPolicy(api: CloudApi, roleName: string, policyName: string): Promise<AttachedPolicy | undefined> {
  const answer = await api.call<{ List?: AttachedPolicy[] }>("cam", "ListAttachedRolePolicies", { RoleName: roleName, Page: 1, Rp: 200 });
  return answer.List?.find((policy) => policy.PolicyName === policyName);
}

/** `npm run undeploy -- --roles`: a role this deployer made, with its policy; a dry run reads nothing. */
export async function removeRole(api: CloudApi, role: RoleSpec, dryRun: boolean): Promise<string> {
  if (!dryRun) {
    const current = await getRole(api, role.name);
    if (!current) return "not there";
    if (!current.Description?.startsWith(MANAGED)) return "kept: not made by npm run deploy";
  }
  if (role.policyName) {
    const attached = dryRun ? { PolicyName: role.policyName } : await attachedPolicy(api, role.name, role.policyName);
    if (attached) {
      await api.call("cam", "DetachRolePolicy", { PolicyName: role.policyName, DetachRoleName: role.name });
      await api.call("cam", "DeletePolicy", { PolicyId: [attached.PolicyId ?? `<id of ${role.policyName}>`] });
    }
  }
  await api.call("cam", "DeleteRole", { RoleName: role.name });
  return "deleted";
}

/** CAM may store a document with other spacing or key order; a one-item list and its item mean the same. */
function sameDocument(stored: string | undefined, wanted: Document): boolean {
  try {
    return canonical(JSON.parse(decodeURIComponent(stored ?? ""))) === canonical(wanted);
  } catch {
    return false;
  }
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return value.length === 1 ? canonical(value[0]) : `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key.toLowerCase())}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}
