/**
 * `npm run deploy` and `npm run undeploy`, step by step, over whatever API, COS store and fetch
 * they are handed (the CLIs hand in Tencent's SDKs; tests a loopback emulator; `--dry-run` a
 * recorder). serverless.yml says what to deploy; the environment gives the values.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Config, loadConfig } from "../../lib/broker/config.ts";
import { type CheckConfig, loadCheckConfig } from "../../lib/check/config.ts";
import { type Env, readVar } from "../../lib/shared/env.ts";
import { BrokerError } from "../../lib/shared/errors.ts";
import { zipDirectory } from "../zip.ts";
import type { CloudApi } from "./api.ts";
import { type CorsRule, type CorsStore, desiredRule, mergeRule } from "./cors.ts";
import { DeployError } from "./errors.ts";
import { deleteFunction, deployFunction, functionOwner, type Pace } from "./functions.ts";
import { desiredRoles, ensureRole, missingRoles, type RoleSpec, removeRole } from "./roles.ts";
import { smokeTest } from "./smoke.ts";
import { type DeploySpec, type FunctionSpec, loadSpec } from "./spec.ts";
import { deployTrigger, removeTrigger } from "./triggers.ts";
import { readYml, YML_FILE } from "./yml.ts";

interface RunOptions {
  /** The folder of serverless.yml. */
  readonly root: string;
  /** Where the built functions are, if not the yml's own code folder. */
  readonly codeRoot?: string;
  readonly env: Env;
  readonly dryRun: boolean;
}

export interface DeployOptions extends RunOptions {
  readonly createRoles: boolean;
  readonly smoke: boolean;
}

export interface UndeployOptions extends RunOptions {
  /** Also the roles `--create-roles` made (they may serve other stages: opt in). */
  readonly roles: boolean;
}

export interface Deps {
  readonly api: CloudApi;
  readonly cors: CorsStore;
  readonly fetch: typeof fetch;
  readonly print: (line: string) => void;
  readonly pace: Pace;
}

export interface Deployed {
  readonly spec: DeploySpec;
  readonly functionUrl?: string;
}

/** Secret variables, shown as *** by --dry-run. */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set(["JWT_SECRET", "WECHAT_APP_SECRET", "STS_SECRET_ID", "STS_SECRET_KEY", "ALERT_WEBHOOK_URL"]);

function specOf(options: RunOptions): DeploySpec {
  const spec = loadSpec(readYml(join(options.root, YML_FILE)), options.env, options.root);
  if (!options.codeRoot) return spec;
  const codeRoot = options.codeRoot;
  return { ...spec, functions: spec.functions.map((fn) => ({ ...fn, codeDir: join(codeRoot, fn.src) })) };
}

export async function deploy(options: DeployOptions, deps: Deps): Promise<Deployed> {
  const spec = specOf(options);
  const { print } = deps;
  print(`Deploying ${spec.name} (stage ${spec.stage}) to ${spec.region}${options.dryRun ? ": dry run, nothing is called" : ""}`);
  const broker = brokerConfig(options.env);
  await roles(spec, options, deps, broker);
  const ctx = { api: deps.api, dryRun: options.dryRun, pace: deps.pace };
  for (const fn of spec.functions) {
    const changes = await deployFunction(ctx, fn, codeOf(fn));
    print(`function ${fn.name}: ${changes.length > 0 ? changes.join("; ") : "unchanged"}`);
  }
  let functionUrl: string | undefined;
  for (const trigger of spec.triggers) {
    const outcome = await deployTrigger(deps.api, functionOf(spec, trigger.functionKey), trigger);
    print(outcome.line);
    functionUrl ??= outcome.url;
  }
  await mergeCors(spec, options.env, deps);
  if (functionUrl) print(`Function URL: ${functionUrl}`);
  if (options.smoke && functionUrl && !options.dryRun)
    print(await smokeTest(functionUrl, { fetch: deps.fetch, attempts: 5, retryMs: 3000, clock: deps.pace.clock }));
  if (functionUrl) nextSteps(functionUrl, broker.config, print);
  return { spec, functionUrl };
}

export async function undeploy(options: UndeployOptions, deps: Deps): Promise<void> {
  const spec = specOf(options);
  const { print, api } = deps;
  print(`Removing ${spec.name} (stage ${spec.stage}) from ${spec.region}${options.dryRun ? ": dry run, nothing is called" : ""}`);
  for (const fn of spec.functions) {
    // A dry run reads nothing, so it shows the deletions as if everything were there.
    const owner = options.dryRun ? "ours" : await functionOwner(api, fn);
    if (owner !== "ours") {
      print(`function ${fn.name}: ${owner === "absent" ? "not there" : "kept, with its triggers: not made by npm run deploy (its description says so)"}`);
      continue;
    }
    for (const trigger of spec.triggers.filter((item) => item.functionKey === fn.key)) print(await removeTrigger(api, fn, trigger, options.dryRun));
    await deleteFunction(api, fn);
    print(`function ${fn.name}: deleted`);
  }
  await removeCorsRule(spec, deps);
  const roleSpecs = rolesOf(spec, options.env, undefined);
  if (!options.roles) {
    print(`roles kept: ${roleSpecs.map((role) => role.name).join(", ")} (\`npm run undeploy -- --roles\` removes those npm run deploy created)`);
    return;
  }
  for (const role of [...roleSpecs].reverse()) print(`role ${role.name}: ${await removeRole(api, role, options.dryRun)}`);
}

interface BrokerSettings {
  readonly config: Config;
  readonly check: CheckConfig;
}

/** The configuration as the deployed functions will read it (SCF adds the execution role's key), checked by the broker's own code. */
function brokerConfig(env: Env): BrokerSettings {
  const injected = { TENCENTCLOUD_SECRETID: "injected-by-scf", TENCENTCLOUD_SECRETKEY: "injected-by-scf", TENCENTCLOUD_SESSIONTOKEN: "injected-by-scf" };
  try {
    const deployed = { ...env, ...injected };
    return { config: loadConfig(deployed), check: loadCheckConfig(deployed) };
  } catch (error) {
    if (error instanceof BrokerError) throw new DeployError(`The broker would refuse this configuration: ${error.message}\n  Nothing was deployed.`);
    throw error;
  }
}

/** Each function's execution role, and the COS role once. */
function rolesOf(spec: DeploySpec, env: Env, broker: BrokerSettings | undefined): RoleSpec[] {
  const [first, ...others] = [...new Set(spec.functions.map((fn) => fn.role))];
  const roleArn = readVar(env, "STS_ROLE_ARN");
  return [...desiredRoles(first!, roleArn, broker), ...others.map((role) => desiredRoles(role, roleArn, broker)[0]!)];
}

async function roles(spec: DeploySpec, options: DeployOptions, deps: Deps, broker: BrokerSettings): Promise<void> {
  const wanted = rolesOf(spec, options.env, broker);
  if (options.createRoles) {
    for (const role of wanted) {
      const done = await ensureRole(deps.api, role, spec.app);
      deps.print(`role ${role.name} (${role.purpose}): ${done.length > 0 ? done.join("; ") : "unchanged"}`);
    }
    return;
  }
  const missing = await missingRoles(deps.api, wanted);
  if (options.dryRun) return;
  if (missing.length > 0) {
    throw new DeployError(
      `Missing CAM role${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}.\n` +
        "  Run `npm run deploy -- --create-roles` to create them with the policies docs/deploy.md shows, or create them yourself as it describes.",
    );
  }
  deps.print(`roles: ${wanted.map((role) => role.name).join(", ")} exist (--create-roles would also bring their policies up to date)`);
}

function functionOf(spec: DeploySpec, key: string): FunctionSpec {
  return spec.functions.find((fn) => fn.key === key)!;
}

/** The zipped code, after checking the file SCF starts is at the root of what gets zipped (and a start command is executable). */
function codeOf(fn: FunctionSpec): Uint8Array {
  const file = join(fn.codeDir, fn.entryFile);
  if (!existsSync(file)) throw new DeployError(`${file} is missing: run \`npm run build\` first`);
  if (fn.kind === "web" && !(statSync(file).mode & 0o100))
    throw new DeployError(`${file} is not executable, and SCF runs it: \`chmod 755\` it, or run \`npm run build\` again`);
  return zipDirectory(fn.codeDir);
}

const corsRuleId = (spec: DeploySpec) => `${spec.name}-${spec.stage}`;

async function mergeCors(spec: DeploySpec, env: Env, deps: Deps): Promise<void> {
  const origins = (readVar(env, "CORS_ORIGINS") ?? "")
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
  if (origins.length === 0) {
    deps.print("bucket CORS: CORS_ORIGINS is not set, so no rule is added (pages in a browser could not upload to the bucket)");
    return;
  }
  const rules = await corsCall("GetBucketCORS", () => deps.cors.read());
  const merged = mergeRule(rules, desiredRule(corsRuleId(spec), origins));
  if (!merged) {
    deps.print(`bucket CORS: rule ${corsRuleId(spec)} unchanged`);
    return;
  }
  await corsCall("PutBucketCORS", () => deps.cors.write(merged));
  deps.print(
    `bucket CORS: rule ${corsRuleId(spec)} for ${origins.join(", ")} ${merged.length > rules.length ? "added" : "updated"}; ${rules.length - (merged.length > rules.length ? 0 : 1)} other rule(s) kept`,
  );
}

async function removeCorsRule(spec: DeploySpec, deps: Deps): Promise<void> {
  const rules: CorsRule[] = await corsCall("GetBucketCORS", () => deps.cors.read());
  const kept = rules.filter((rule) => rule.ID !== corsRuleId(spec));
  if (kept.length === rules.length) {
    deps.print(`bucket CORS: no rule ${corsRuleId(spec)}`);
    return;
  }
  await corsCall(kept.length > 0 ? "PutBucketCORS" : "DeleteBucketCORS", () => (kept.length > 0 ? deps.cors.write(kept) : deps.cors.clear()));
  deps.print(`bucket CORS: rule ${corsRuleId(spec)} removed; ${kept.length} other rule(s) kept`);
}

/** cos-nodejs-sdk-v5 errors: `{statusCode, code, message}`. */
async function corsCall<T>(request: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const { statusCode, code, message } = error as { statusCode?: number; code?: string; message?: string };
    const fix =
      code === "AccessDenied"
        ? `the deploying identity lacks name/cos:${request} on the bucket: grant it (docs/deploy.md, "What the deploying identity needs")`
        : "check COS_BUCKET and COS_REGION (the bucket must exist: docs/deploy.md)";
    const said = [statusCode, code, message].filter(Boolean).join(" ");
    throw new DeployError(`cos:${request} failed: ${said}\n  ${fix}`);
  }
}

function nextSteps(functionUrl: string, config: Config, print: (line: string) => void): void {
  const host = new URL(functionUrl).host;
  print("Next:");
  print(`  mini-programs: add https://${host} to the request legal domains (mp.weixin.qq.com, Development settings)`);
  print(
    config.corsOrigins.length > 0
      ? `  static sites: ${config.corsOrigins.join(", ")} may call ${functionUrl} and upload to ${config.bucket}`
      : "  static sites: set CORS_ORIGINS to their origins and deploy again",
  );
}
