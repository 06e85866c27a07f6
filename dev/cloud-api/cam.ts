// CAM (API 2019-01-16) as far as a deployer uses it: roles with their trust policies, custom
// policies, and which policies are attached to which role. Parameters from the CAM SDK models
// (tencentcloud-sdk-nodejs, services/cam/v20190116/cam_models.ts); a role's trust policy must
// name a principal and a permission policy must not (CAM policy grammar, 598/10603).
import { type Action, integer, optionalText, type Params, Refusal, text } from "./params.ts";

export interface StoredRole {
  readonly roleId: string;
  readonly name: string;
  trust: string;
  readonly description: string;
  readonly policies: Set<number>;
}

export interface StoredPolicy {
  readonly id: number;
  readonly name: string;
  document: string;
  readonly description: string;
}

export interface CamState {
  readonly roles: Map<string, StoredRole>;
  readonly policies: Map<number, StoredPolicy>;
  nextId: number;
}

const NAME = /^[\w+=,.@-]{1,128}$/;

/** Parses and checks a policy document; `trust` documents need a principal, others must not have one. */
function document(params: Params, trust: boolean): string {
  const given = text(params, "PolicyDocument");
  let parsed: { version?: unknown; statement?: unknown };
  try {
    parsed = JSON.parse(given);
  } catch {
    throw new Refusal("InvalidParameter.PolicyDocumentError", "PolicyDocument is not JSON.");
  }
  const statements = Array.isArray(parsed.statement) ? (parsed.statement as Record<string, unknown>[]) : [];
  if (parsed.version !== "2.0" || statements.length === 0)
    throw new Refusal("InvalidParameter.PolicyDocumentError", "A policy has version 2.0 and statements.");
  for (const statement of statements) {
    if (statement.effect !== "allow" && statement.effect !== "deny") throw new Refusal("InvalidParameter.EffectError", "effect is allow or deny.");
    if (statement.action === undefined) throw new Refusal("InvalidParameter.ActionError", "A statement needs an action.");
    if ((statement.principal !== undefined) !== trust) {
      throw new Refusal("InvalidParameter.PrincipalError", trust ? "A trust policy names its principal." : "A permission policy must not have a principal.");
    }
  }
  return given;
}

function roleNamed(state: CamState, params: Params, field = "RoleName"): StoredRole {
  const role = state.roles.get(text(params, field));
  if (!role) throw new Refusal("InvalidParameter.RoleNotExist", "角色不存在");
  return role;
}

function policyOf(state: CamState, params: Params): StoredPolicy {
  const id = params.PolicyId;
  const policy =
    id !== undefined ? state.policies.get(Number(id)) : [...state.policies.values()].find((item) => item.name === optionalText(params, "PolicyName"));
  if (!policy) throw new Refusal("InvalidParameter.PolicyIdNotExist", "策略ID不存在");
  return policy;
}

const attached = (state: CamState, role: StoredRole) =>
  [...role.policies].map((id) => state.policies.get(id)!).map((policy) => ({ PolicyId: policy.id, PolicyName: policy.name, PolicyType: "User" }));

type CamAction = Action<CamState>;

export const CAM_ACTIONS: ReadonlyMap<string, CamAction> = new Map<string, CamAction>([
  [
    "GetRole",
    {
      params: ["RoleId", "RoleName"],
      handle: (params, state, { uin }) => {
        const role = roleNamed(state, params);
        const info = { RoleId: role.roleId, RoleName: role.name, PolicyDocument: role.trust, Description: role.description };
        return { RoleInfo: { ...info, RoleArn: `qcs::cam::uin/${uin}:roleName/${role.name}` } };
      },
    },
  ],
  [
    "CreateRole",
    {
      params: ["RoleName", "PolicyDocument", "Description", "ConsoleLogin", "SessionDuration", "Tags"],
      handle: (params, state) => {
        const name = text(params, "RoleName");
        if (!NAME.test(name)) throw new Refusal("InvalidParameter.RoleNameError", "角色名称不合法");
        if (state.roles.has(name)) throw new Refusal("InvalidParameter.RoleNameInUse", "role name in use");
        const roleId = String(4611686018427000000 + state.nextId++);
        state.roles.set(name, { roleId, name, trust: document(params, true), description: optionalText(params, "Description") ?? "", policies: new Set() });
        return { RoleId: roleId };
      },
    },
  ],
  [
    "UpdateAssumeRolePolicy",
    {
      params: ["PolicyDocument", "RoleId", "RoleName"],
      handle: (params, state) => {
        roleNamed(state, params).trust = document(params, true);
        return {};
      },
    },
  ],
  [
    "DeleteRole",
    {
      params: ["RoleId", "RoleName"],
      handle: (params, state) => {
        state.roles.delete(roleNamed(state, params).name);
        return {};
      },
    },
  ],
  [
    "ListAttachedRolePolicies",
    {
      params: ["Page", "Rp", "RoleId", "RoleName", "PolicyType", "Keyword"],
      handle: (params, state) => {
        integer(params, "Rp", 1, 200);
        const list = attached(state, roleNamed(state, params));
        return { List: list, TotalNum: list.length };
      },
    },
  ],
  [
    "ListPolicies",
    {
      params: ["Rp", "Page", "Scope", "Keyword"],
      handle: (params, state) => {
        integer(params, "Rp", 1, 200);
        const keyword = optionalText(params, "Keyword") ?? "";
        const list = [...state.policies.values()].filter((policy) => policy.name.includes(keyword));
        return { List: list.map((policy) => ({ PolicyId: policy.id, PolicyName: policy.name, Type: 1 })), TotalNum: list.length };
      },
    },
  ],
  [
    "GetPolicy",
    {
      params: ["PolicyId"],
      handle: (params, state) => {
        const policy = policyOf(state, params);
        return { PolicyName: policy.name, Description: policy.description, Type: 1, PolicyDocument: policy.document };
      },
    },
  ],
  [
    "CreatePolicy",
    {
      params: ["PolicyName", "PolicyDocument", "Description", "Tags"],
      handle: (params, state) => {
        const name = text(params, "PolicyName");
        if (!NAME.test(name)) throw new Refusal("InvalidParameter.PolicyNameError", "策略名不合法");
        if ([...state.policies.values()].some((policy) => policy.name === name)) throw new Refusal("FailedOperation.PolicyNameInUse", "策略名已存在");
        const id = state.nextId++;
        state.policies.set(id, { id, name, document: document(params, false), description: optionalText(params, "Description") ?? "" });
        return { PolicyId: id };
      },
    },
  ],
  [
    "UpdatePolicy",
    {
      params: ["PolicyId", "PolicyName", "Description", "PolicyDocument", "Alias"],
      handle: (params, state) => {
        const policy = policyOf(state, params);
        if (params.PolicyDocument !== undefined) policy.document = document(params, false);
        return { PolicyId: policy.id };
      },
    },
  ],
  [
    "DeletePolicy",
    {
      params: ["PolicyId"],
      handle: (params, state) => {
        const ids = Array.isArray(params.PolicyId) ? params.PolicyId.map(Number) : [];
        if (ids.length === 0 || ids.some((id) => !state.policies.has(id))) throw new Refusal("InvalidParameter.PolicyIdNotExist", "策略ID不存在");
        for (const role of state.roles.values()) for (const id of ids) role.policies.delete(id);
        for (const id of ids) state.policies.delete(id);
        return {};
      },
    },
  ],
  [
    "AttachRolePolicy",
    {
      params: ["PolicyId", "AttachRoleId", "AttachRoleName", "PolicyName"],
      handle: (params, state) => {
        roleNamed(state, params, "AttachRoleName").policies.add(policyOf(state, params).id);
        return {};
      },
    },
  ],
  [
    "DetachRolePolicy",
    {
      params: ["PolicyId", "DetachRoleId", "DetachRoleName", "PolicyName"],
      handle: (params, state) => {
        roleNamed(state, params, "DetachRoleName").policies.delete(policyOf(state, params).id);
        return {};
      },
    },
  ],
]);
