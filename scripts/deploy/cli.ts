/**
 * What `npm run deploy` and `npm run undeploy` share: flags, the environment (shell over
 * .env), the deployer's own key, and the real SDK clients (or the dry-run recorders).
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadDotEnv } from "../../dev/defaults.ts";
import { type Clock, systemClock } from "../../lib/shared/clock.ts";
import { type Env, parseEndpoint, readVar } from "../../lib/shared/env.ts";
import { BrokerError } from "../../lib/shared/errors.ts";
import { ROOT } from "../bundle.ts";
import { dryRunApi, type Identity, tencentCloudApi } from "./api.ts";
import { cosCorsStore, dryRunCorsStore } from "./cors.ts";
import { DeployError } from "./errors.ts";
import type { Pace } from "./functions.ts";
import { type Deps, SECRET_VARIABLES } from "./run.ts";
import { loadSpec } from "./spec.ts";
import { readYml, YML_FILE } from "./yml.ts";

export function readFlags(usage: string, flags: Readonly<Record<string, string>>): Record<string, boolean> {
  const options = Object.fromEntries(Object.keys(flags).map((name) => [name, { type: "boolean" as const }]));
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ options: { ...options, help: { type: "boolean", short: "h" } } }).values;
  } catch (error) {
    throw new DeployError(`${(error as Error).message}\n${usage}`);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return values as Record<string, boolean>;
}

/** The shell, over a .env file in the working directory (npm runs scripts at the repository root), as `npm start` reads it. */
export function deployEnv(): Env {
  loadDotEnv();
  return process.env;
}

/** TENCENTCLOUD_SECRET_ID / _SECRET_KEY (/ _SESSION_TOKEN): the deploying identity. */
function identityOf(env: Env): Identity {
  const secretId = readVar(env, "TENCENTCLOUD_SECRET_ID");
  const secretKey = readVar(env, "TENCENTCLOUD_SECRET_KEY");
  if (!secretId || !secretKey) {
    throw new DeployError(
      "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY are needed: the API key of the identity that deploys (shell or .env; docs/deploy.md). `--dry-run` works without them.",
    );
  }
  const token = readVar(env, "TENCENTCLOUD_SESSION_TOKEN");
  return { secretId, secretKey, ...(token ? { token } : {}) };
}

/** Tests run the real clients against loopback servers, without the waits meant for the cloud. */
export interface Tuning {
  readonly print: (line: string) => void;
  readonly clock: Clock;
}

const CLOUD_PACE: Tuning = { print: (line) => console.log(line), clock: systemClock };

export function realDeps(env: Env, dryRun: boolean, tuning: Tuning = CLOUD_PACE): Deps {
  const { print, clock } = tuning;
  const pace: Pace = { pollMs: 1000, timeoutMs: 180_000, clock };
  const spec = loadSpec(readYml(join(ROOT, YML_FILE)), env, ROOT);
  const bucket = { bucket: readVar(env, "COS_BUCKET") ?? "", region: spec.region, endpoint: readVar(env, "COS_ENDPOINT") };
  if (dryRun) return { api: dryRunApi(print, SECRET_VARIABLES), cors: dryRunCorsStore(print, bucket), fetch, print, pace };
  const identity = identityOf(env);
  const endpoint = readVar(env, "DEPLOY_API_ENDPOINT");
  const api = tencentCloudApi({
    identity,
    region: spec.region,
    clock,
    ...(endpoint ? { endpoint: parseEndpoint("DEPLOY_API_ENDPOINT", endpoint, "scf.tencentcloudapi.com") } : {}),
  });
  return { api, cors: cosCorsStore(identity, bucket), fetch, print, pace };
}

/** A refusal is a message and exit status 1, never a stack trace. */
export async function runCli(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (!(error instanceof DeployError || error instanceof BrokerError)) throw error;
    console.error(`\n${error.message}`);
    process.exitCode = 1;
  }
}
