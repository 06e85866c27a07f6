/**
 * `npm run deploy [-- --create-roles] [-- --no-smoke] [-- --dry-run]`: builds, then creates or
 * updates everything serverless.yml describes through Tencent's API SDKs (docs/deploy.md).
 */
import { ROOT } from "./bundle.ts";
import { buildDist } from "./deploy/build.ts";
import { deployEnv, readFlags, realDeps, runCli } from "./deploy/cli.ts";
import { deploy } from "./deploy/run.ts";

const USAGE = `usage: npm run deploy [-- --create-roles] [--no-smoke] [--dry-run]
  --create-roles  create or update the execution role and the COS role, with their policies
  --no-smoke      skip the last request to the Function URL
  --dry-run       print every API call with its parameters (secrets masked); call nothing`;

await runCli(async () => {
  const flags = readFlags(USAGE, { "create-roles": "", "no-smoke": "", "dry-run": "" });
  const env = deployEnv();
  const deps = realDeps(env, Boolean(flags["dry-run"]));
  await buildDist(env, deps.print);
  await deploy({ root: ROOT, env, dryRun: Boolean(flags["dry-run"]), createRoles: Boolean(flags["create-roles"]), smoke: !flags["no-smoke"] }, deps);
});
