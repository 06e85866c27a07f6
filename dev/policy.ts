/**
 * `npm run policy -- --sub alice [--profile upload] [--key k | --filename f] [--source-ip ip]
 * [--claim name=value ...] [--can <Action> <key> [--header name=value ...]]`
 *
 * Prints the exact policy the broker would send to STS for that user and request, and what it
 * means in plain words; with --can, whether COS would allow that action on that key and which
 * statement decided. Reads configuration as `npm start` does (shell, .env, embedded defaults)
 * and composes the grant with the broker's own function; it calls no service.
 */
import { parseArgs } from "node:util";
import { type Config, grantSettingsFor, loadConfig } from "../lib/broker/config.ts";
import { actionNamed, isBucketAction } from "../lib/cam/actions.ts";
import { type EvaluationRequest, evaluatePolicy } from "../lib/cam/evaluate.ts";
import { describePolicy } from "../lib/cam/explain.ts";
import { resourceOf } from "../lib/cam/policy.ts";
import { type Grant, grantFor } from "../lib/grant/compose.ts";
import type { VerifiedClaims } from "../lib/identity/claims.ts";
import { wechatIdentity } from "../lib/identity/wechat.ts";
import type { Env } from "../lib/shared/env.ts";
import { BrokerError } from "../lib/shared/errors.ts";
import { devEnv, loadDotEnv } from "./defaults.ts";
import { cloudMode } from "./mode.ts";

const USAGE = `usage: npm run policy -- --sub <subject> [--wechat] [--profile <name>] [--key <key> | --filename <name>]
         [--source-ip <ip>] [--claim name=value ...]
         [--can <Action> <full object key> [--header name=value ...]]
  --wechat                      the subject is a WeChat user, --sub its openid (WECHAT_PREFIX_TEMPLATE)
  --can PutObject users/bob/x   would COS allow it? exit 0 = allow, 1 = deny
                                (for GetBucket, the key is the listing prefix)
  --header content-type=image/png, content-length=1024, qcs:ip=1.2.3.4, cos:secure-transport=false
           (request context for --can; HTTPS and --source-ip are assumed)`;

class UsageError extends Error {}
class HelpRequested extends Error {}

interface Options {
  readonly sub: string;
  readonly wechat: boolean;
  readonly profile?: string;
  readonly key?: string;
  readonly filename?: string;
  readonly sourceIp?: string;
  readonly claims: Record<string, string>;
  readonly can?: { readonly action: string; readonly key: string };
  readonly context: Record<string, string>;
}

const readArgs = (args: string[]) =>
  parseArgs({
    args,
    allowPositionals: true,
    options: {
      sub: { type: "string" },
      wechat: { type: "boolean", default: false },
      profile: { type: "string" },
      key: { type: "string" },
      filename: { type: "string" },
      "source-ip": { type: "string" },
      claim: { type: "string", multiple: true, default: [] },
      can: { type: "string" },
      header: { type: "string", multiple: true, default: [] },
      help: { type: "boolean", short: "h" },
    },
  });

function parseOptions(args: string[]): Options {
  let parsed: ReturnType<typeof readArgs>;
  try {
    parsed = readArgs(args);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) throw new HelpRequested();
  if (!values.sub) throw new UsageError("--sub is required");
  // `--can PutObject users/bob/x` (two words) or `--can "PutObject users/bob/x"` (one).
  const canWords = values.can === undefined ? [] : [...values.can.trim().split(/\s+/), ...positionals];
  if (values.can === undefined ? positionals.length > 0 : canWords.length !== 2) {
    throw new UsageError("--can takes an action and a full object key, e.g. --can PutObject users/alice/a.png");
  }
  if (values.header.length > 0 && values.can === undefined) throw new UsageError("--header describes the request of --can");
  const [action = "", key = ""] = canWords;
  return {
    sub: values.sub,
    wechat: values.wechat,
    profile: values.profile,
    key: values.key,
    filename: values.filename,
    sourceIp: values["source-ip"],
    claims: pairs(values.claim, "--claim", (name) => name),
    ...(values.can === undefined ? {} : { can: { action: canAction(action), key } }),
    context: pairs(values.header, "--header", (name) => (name.includes(":") ? name : `cos:${name.toLowerCase()}`)),
  };
}

function canAction(word: string): string {
  const action = actionNamed(word);
  if (!action) throw new UsageError(`--can names '${word}', which is not a COS action the broker knows (e.g. PutObject, GetObject, GetBucket)`);
  return action;
}

function pairs(items: readonly string[], flag: string, nameOf: (name: string) => string): Record<string, string> {
  const entries = items.map((item): [string, string] => {
    const at = item.indexOf("=");
    if (at < 1) throw new UsageError(`${flag} wants name=value, got '${item}'`);
    return [nameOf(item.slice(0, at)), item.slice(at + 1)];
  });
  return Object.fromEntries(entries);
}

/**
 * The same environment `npm start` would run on; the embedded STS key is never used here. A
 * configuration with no STS key still gets its policy shown: no STS is called.
 */
function configuredEnv(): Env {
  loadDotEnv();
  const env: Env = { ...process.env };
  return cloudMode(env).kind === "real"
    ? env
    : devEnv(env, { url: "http://127.0.0.1:9100", secretId: "unused-by-npm-run-policy", secretKey: "unused" }, "http://127.0.0.1:9103");
}

function explainGrant(options: Options, config: Config, grant: Grant): string[] {
  return [
    `profile ${grant.profile.name} for sub=${options.sub}: prefix ${grant.prefix}, credentials for ${grant.durationSeconds} s${grant.key ? `, key ${grant.key}` : ""}`,
    `policy sent to STS (${grant.encodedPolicy.length} of at most ${config.maxPolicyLength} characters URL-encoded):`,
    JSON.stringify(grant.policy, null, 2),
    "in plain words:",
    ...describePolicy(grant.policy).map((line) => `  ${line}`),
  ];
}

/** What COS would see: HTTPS and the caller's IP unless --header says otherwise. */
function canRequest(options: Options, config: Config): EvaluationRequest {
  const { action, key } = options.can!;
  const bucketLevel = isBucketAction(action);
  return {
    action,
    resource: resourceOf(config, bucketLevel ? "" : key),
    context: {
      "cos:secure-transport": "true",
      ...(options.sourceIp ? { "qcs:ip": options.sourceIp } : {}),
      ...(bucketLevel ? { "cos:prefix": key } : {}),
      ...options.context,
    },
  };
}

/** The user the grant is for: a login-token user, or with --wechat a user of the configured mini-program. */
function identityOf(options: Options, config: Config): VerifiedClaims {
  if (!options.wechat) return { ...options.claims, sub: options.sub, iss: config.jwt?.issuers?.[0] ?? "" };
  if (!config.wechat) throw new UsageError("--wechat needs WeChat login configured (WECHAT_APPID and WECHAT_APP_SECRET)");
  return { ...options.claims, ...wechatIdentity(config.wechat.login.appid, options.sub) };
}

function main(): number {
  const options = parseOptions(process.argv.slice(2));
  const config = loadConfig(configuredEnv());
  for (const warning of config.profileWarnings) console.error(`warning: profile '${warning.profile}' (${warning.rule}): ${warning.message}`);
  const claims = identityOf(options, config);
  const request = { profile: options.profile, key: options.key, filename: options.filename, sourceIp: options.sourceIp };
  const grant = grantFor(grantSettingsFor(config, claims), claims, request, Date.now());
  console.log(explainGrant(options, config, grant).join("\n"));
  if (!options.can) return 0;
  const verdict = evaluatePolicy(grant.policy, canRequest(options, config));
  console.log(`${verdict.allowed ? "allow" : "deny"}: ${verdict.reason}`);
  return verdict.allowed ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (error) {
  if (error instanceof HelpRequested) {
    console.log(USAGE);
  } else if (error instanceof UsageError) {
    console.error(`${error.message}\n${USAGE}`);
    process.exitCode = 2;
  } else if (error instanceof BrokerError) {
    console.error(`${error.code === "ConfigError" ? "configuration" : `refused (${error.code})`}: ${error.message}`);
    process.exitCode = 1;
  } else {
    throw error;
  }
}
