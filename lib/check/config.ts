/**
 * The credential check's own settings, read with the broker's helpers so a wrong value is a
 * ConfigError that names the variable and the fix, and never echoes a secret (the webhook
 * URL is one: whoever holds it can post to the channel).
 */

import { DEFAULT_PROFILE } from "../grant/profiles.ts";
import { configError, type Env, parseFetchUrl, parseInteger, readVar } from "../shared/env.ts";

/** WeCom group robots (and DingTalk) take `{"msgtype":"text",...}`; Slack incoming webhooks `{"text": "..."}`. */
export type AlertFormat = "wecom" | "slack";

export interface AlertTarget {
  readonly url: URL;
  readonly format: AlertFormat;
}

export interface CheckConfig {
  /** `sub` of the synthetic canary identity. */
  readonly subject: string;
  /** More claims for PREFIX_TEMPLATEs that place other claims than {sub}. */
  readonly claims: Readonly<Record<string, string>>;
  readonly profile: string;
  readonly budgetMs: number;
  readonly stepTimeoutMs: number;
  readonly maxSkewSeconds: number;
  readonly alert: AlertTarget | undefined;
}

/** Every variable the check reads besides the broker's own (serverless.yml can be tested against it). */
export const CHECK_VARIABLES = [
  "CHECK_SUBJECT",
  "CHECK_CLAIMS",
  "CHECK_PROFILE",
  "CHECK_BUDGET_MS",
  "CHECK_STEP_TIMEOUT_MS",
  "CHECK_MAX_SKEW_SECONDS",
  "ALERT_WEBHOOK_URL",
  "ALERT_WEBHOOK_FORMAT",
] as const;
/** readVar limited to that list, so the check cannot read a variable it does not name. */
const read: (env: Env, name: (typeof CHECK_VARIABLES)[number]) => string | undefined = readVar;

const DEFAULT_CHECK_SUBJECT = "__canary";
export const DEFAULT_CHECK_BUDGET_MS = 20_000;
export const DEFAULT_STEP_TIMEOUT_MS = 8000;
/**
 * Client SDKs refetch credentials when under 60 s remain (cos-js-sdk-v5, src/base.js): a
 * clock half that far off STS's already eats into the margin. It is also the token
 * verifier's tolerance.
 */
export const DEFAULT_MAX_SKEW_SECONDS = 30;
/** SCF's longest function timeout is 900 s. */
const MAX_BUDGET_MS = 900_000;
const SLACK_HOST = "hooks.slack.com";

export function loadCheckConfig(env: Env): CheckConfig {
  const budgetMs = parseInteger("CHECK_BUDGET_MS", read(env, "CHECK_BUDGET_MS"), DEFAULT_CHECK_BUDGET_MS, 1000, MAX_BUDGET_MS);
  return {
    subject: read(env, "CHECK_SUBJECT")?.trim() ?? DEFAULT_CHECK_SUBJECT,
    claims: parseClaims(read(env, "CHECK_CLAIMS")),
    profile: read(env, "CHECK_PROFILE")?.trim() ?? DEFAULT_PROFILE,
    budgetMs,
    stepTimeoutMs: parseInteger("CHECK_STEP_TIMEOUT_MS", read(env, "CHECK_STEP_TIMEOUT_MS"), DEFAULT_STEP_TIMEOUT_MS, 100, MAX_BUDGET_MS),
    maxSkewSeconds: parseInteger("CHECK_MAX_SKEW_SECONDS", read(env, "CHECK_MAX_SKEW_SECONDS"), DEFAULT_MAX_SKEW_SECONDS, 1, 3600),
    alert: parseAlert(env),
  };
}

function parseClaims(value: string | undefined): Record<string, string> {
  if (value === undefined) return {};
  const fix = 'give a JSON object of string claims, e.g. {"tenant":"canary"}';
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw configError("CHECK_CLAIMS", "is not JSON", fix);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw configError("CHECK_CLAIMS", "is not a JSON object", fix);
  const entries = Object.entries(parsed);
  if (entries.some(([, claim]) => typeof claim !== "string")) throw configError("CHECK_CLAIMS", "has a value that is not a string", fix);
  if (entries.some(([name]) => name === "sub")) throw configError("CHECK_CLAIMS", "sets 'sub'", "set the canary's subject with CHECK_SUBJECT");
  return Object.fromEntries(entries) as Record<string, string>;
}

function parseAlert(env: Env): AlertTarget | undefined {
  const value = read(env, "ALERT_WEBHOOK_URL");
  const format = read(env, "ALERT_WEBHOOK_FORMAT")?.trim().toLowerCase();
  if (format !== undefined && format !== "wecom" && format !== "slack") {
    throw configError("ALERT_WEBHOOK_FORMAT", "must be wecom or slack", "leave it unset to choose by the webhook's host");
  }
  if (value === undefined) return undefined;
  const url = parseFetchUrl("ALERT_WEBHOOK_URL", value.trim());
  return { url, format: format ?? (url.hostname === SLACK_HOST ? "slack" : "wecom") };
}
