/**
 * `npm run undeploy [-- --roles] [-- --dry-run]`: removes the triggers, the functions and the
 * bucket's CORS rule that `npm run deploy` made; with --roles, its roles too (docs/deploy.md).
 */
import { ROOT } from "./bundle.ts";
import { deployEnv, readFlags, realDeps, runCli } from "./deploy/cli.ts";
import { undeploy } from "./deploy/run.ts";

const USAGE = `usage: npm run undeploy [-- --roles] [--dry-run]
  --roles    also delete the roles (and their policies) npm run deploy created, if they serve no other stage
  --dry-run  print every API call with its parameters; call nothing`;

await runCli(async () => {
  const flags = readFlags(USAGE, { roles: "", "dry-run": "" });
  const env = deployEnv();
  await undeploy({ root: ROOT, env, dryRun: Boolean(flags["dry-run"]), roles: Boolean(flags.roles) }, realDeps(env, Boolean(flags["dry-run"])));
});
