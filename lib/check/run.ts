/**
 * The scheduled credential check: proves that the broker still issues working credentials
 * and that they stay fenced in. Five checks run inside a time budget; one JSON line reports
 * them all, and a failure goes to the alert webhook. The timer adapter and `npm run check`
 * only translate.
 */

import { type App, createApp } from "../broker/app.ts";
import { type Config, grantSettingsFor } from "../broker/config.ts";
import type { CredentialResponse } from "../broker/issue.ts";
import type { CamPolicy } from "../cam/policy.ts";
import { encodePolicy } from "../grant/policy.ts";
import { prefixFor, subjectHash } from "../grant/prefix.ts";
import type { VerifiedClaims } from "../identity/claims.ts";
import { fetchSigningKeys } from "../identity/key-sources.ts";
import { probeWechatLogin, wechatIdentity } from "../identity/wechat.ts";
import { after, type Clock, type EpochMs, systemClock } from "../shared/clock.ts";
import type { Env } from "../shared/env.ts";
import { BrokerError } from "../shared/errors.ts";
import type { FetchLike } from "../shared/fetch.ts";
import { createLogger, type Logger } from "../shared/log.ts";
import { type CredentialRequest, createStsClient, type StsClient } from "../sts/client.ts";
import { nodeTransport } from "../sts/node-transport.ts";
import { type AlertResult, sendAlert } from "./alert.ts";
import { type CheckConfig, loadCheckConfig } from "./config.ts";
import { cleanupPolicy, judgeProbe, type ProbePlan, probeFence, removeLeftovers } from "./probe.ts";
import { describeError, failed, passed, runSteps, type Step, type StepContext, type StepOutcome, type StepResult, skipped } from "./steps.ts";

export interface CheckDeps {
  readonly env?: Env;
  readonly logger?: Logger;
  readonly fetch?: FetchLike;
  readonly clock?: Clock;
  /** Milliseconds the invocation has left, when the platform says. */
  readonly remainingMs?: number;
  readonly requestId?: string;
  /** What started the run, for the log and the alert: a timer's name, `npm run check`. */
  readonly trigger?: string;
}

export interface CheckReport {
  readonly ok: boolean;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly results: readonly StepResult[];
  /** Present when a failure was sent to ALERT_WEBHOOK_URL. */
  readonly alert?: AlertResult;
}

const CHECK_NAMES = ["configuration", "issuance", "credential sanity", "fence probe", "identity provider keys", "WeChat login"] as const;

/** Stop the checks this long before the budget ends, so the alert still has time to go out. */
const ALERT_RESERVE_MS = 3000;
/** Leave the platform this much of the invocation's time after the report. */
const INVOCATION_MARGIN_MS = 500;
const SILENT: Logger = createLogger(() => undefined);

export async function runCredentialCheck(deps: CheckDeps = {}): Promise<CheckReport> {
  const env = deps.env ?? process.env;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger();
  const startedAt = clock.now();
  const started = clock.monotonic();
  let checkConfig: CheckConfig;
  let configProblem: BrokerError | undefined;
  try {
    checkConfig = loadCheckConfig(env);
  } catch (error) {
    configProblem = error instanceof BrokerError ? error : new BrokerError("ConfigError", "the check's settings could not be read");
    checkConfig = loadCheckConfig({});
  }
  const remaining = deps.remainingMs === undefined ? Infinity : deps.remainingMs - INVOCATION_MARGIN_MS;
  const deadline = after(started, Math.min(checkConfig.budgetMs, remaining));
  const reserve = checkConfig.alert ? Math.min(ALERT_RESERVE_MS, (deadline - started) / 4) : 0;
  const steps = credentialSteps({ env, fetch: deps.fetch, clock, config: checkConfig, configProblem });
  const results = await runSteps(steps, { deadline: after(deadline, -reserve), stepTimeoutMs: checkConfig.stepTimeoutMs, clock });

  const ok = results.every((result) => result.status === "pass" || result.status === "skipped");
  const base = { ok, startedAt: new Date(startedAt).toISOString(), durationMs: Math.round(clock.monotonic() - started), results };
  logger.check({ outcome: ok ? "passed" : "failed", durationMs: base.durationMs, requestId: deps.requestId, trigger: deps.trigger, results });
  if (ok || !checkConfig.alert) return base;
  const alert = await sendAlert(checkConfig.alert, alertMessage(base, deps), { fetch: deps.fetch, deadline, clock });
  logger.event("credential_check_alert", { sent: alert.sent, attempts: alert.attempts, detail: alert.detail, requestId: deps.requestId });
  return { ...base, alert };
}

/** What a person reads in the chat: which checks failed and why, nothing secret. */
export function alertMessage(report: Pick<CheckReport, "results" | "startedAt">, deps: Pick<CheckDeps, "trigger" | "requestId"> = {}): string {
  const where = [deps.trigger, deps.requestId && `request ${deps.requestId}`].filter(Boolean).join(", ");
  const lines = report.results
    .filter((result) => result.status === "fail" || result.status === "not-run")
    .map((result) => `- ${result.name}: ${result.status === "fail" ? "FAILED" : "not run"}: ${result.detail}`);
  return [`cos-sts-broker credential check failed at ${report.startedAt}${where ? ` (${where})` : ""}`, ...lines].join("\n");
}

interface StepDeps {
  readonly env: Env;
  readonly fetch: FetchLike | undefined;
  readonly clock: Clock;
  readonly config: CheckConfig;
  readonly configProblem: BrokerError | undefined;
}

/** What one step hands to the next. */
interface RunState {
  app?: Extract<App, { ok: true }>;
  sts?: StsClient;
  /** What the broker sent to STS during this run. */
  readonly sent: CredentialRequest[];
  claims?: VerifiedClaims;
  outsidePrefix?: string;
  issued?: Issued;
}

export interface Issued {
  readonly response: CredentialResponse;
  readonly request: CredentialRequest;
  /** Local time of the STS call's midpoint. */
  readonly atMs: EpochMs;
}

function credentialSteps(deps: StepDeps): Step[] {
  const state: RunState = { sent: [] };
  const [configuration, issuance, sanity, probe, keys, wechat] = CHECK_NAMES;
  return [
    { name: configuration, run: async () => lint(deps, state) },
    { name: issuance, needs: [configuration], run: async (context) => issue(deps, state, context.timeLeftMs()) },
    { name: sanity, needs: [issuance], run: async () => checkLifetime(state.issued!, deps.config.maxSkewSeconds) },
    { name: probe, needs: [issuance], run: async (context) => probeWithCanary(state, context) },
    { name: keys, needs: [configuration], run: async () => checkSigningKeys(state.app!, deps.fetch) },
    { name: wechat, needs: [configuration], run: async (context) => checkWechatLogin(state.app!, deps, context.timeLeftMs()) },
  ];
}

/**
 * Runs the broker's own start-up path (createApp), so every rule it applies applies here. The
 * instance is new for each run and has an STS client of its own: a credential cache must never
 * answer for the check, which exists to prove that STS issues now.
 */
function lint(deps: StepDeps, state: RunState): StepOutcome {
  if (deps.configProblem) return failed(deps.configProblem.message);
  const recorder: StsClient = {
    requestCredentials: async (request) => {
      state.sent.push(request);
      return state.sts!.requestCredentials(request);
    },
  };
  const app = createApp({ env: deps.env, logger: SILENT, fetch: deps.fetch, clock: deps.clock, stsClient: recorder });
  if (!app.ok) return failed(app.error.message);
  const { config } = app;
  const { subject, claims: extra } = deps.config;
  const claims = canary(config, subject, extra);
  const { prefixTemplate } = grantSettingsFor(config, claims);
  let prefix: string;
  try {
    prefix = prefixFor(prefixTemplate, claims);
    // Shares the canary's leading characters, so a `users/__canary*` grant is caught too.
    state.outsidePrefix = prefixFor(prefixTemplate, canary(config, `${subject.slice(0, 100)}-outside`, extra));
  } catch (error) {
    return failed(`CHECK_SUBJECT or CHECK_CLAIMS cannot make a key prefix: ${(error as Error).message}`);
  }
  Object.assign(state, { app, claims, sts: createStsClient(config.sts, deps.env, { clock: deps.clock, transport: nodeTransport(deps.env) }) });
  const key = config.sts.credentials.kind === "explicit" ? "STS_SECRET_ID's key" : "the execution role's key";
  return passed(`${config.sts.mode} at ${config.sts.endpoint.host} with ${key}; bucket ${config.bucket} (${config.region}); canary prefix ${prefix}`);
}

async function issue(deps: StepDeps, state: RunState, timeLeftMs: number): Promise<StepOutcome> {
  const before = deps.clock.now();
  let response: CredentialResponse;
  try {
    response = await state.app!.broker.issueFor(state.claims!, { profile: deps.config.profile, remainingMs: timeLeftMs }, {});
  } catch (error) {
    const hint = error instanceof BrokerError && error.code === "ScopeNotAllowed" ? `CHECK_PROFILE '${deps.config.profile}': ` : "";
    return failed(hint + describeError(error));
  }
  const [request] = state.sent;
  if (state.sent.length !== 1 || !request) return failed(`the broker made ${state.sent.length} STS calls, not one: a credential must not come from a cache`);
  state.issued = { response, request, atMs: (before + deps.clock.now()) / 2 };
  return passed(`STS issued '${response.profile}' credentials for ${response.prefix} (RequestId ${response.requestId || "none"})`);
}

/**
 * STS sets ExpiredTime from its own clock, so `ExpiredTime - now - duration` is the skew
 * between the clocks (plus a share of the round trip), or a lifetime STS did not keep.
 */
export function checkLifetime(issued: Issued, maxSkewSeconds: number): StepOutcome {
  const { response, request, atMs } = issued;
  const { tmpSecretId, tmpSecretKey, sessionToken } = response.credentials;
  if (!tmpSecretId || !tmpSecretKey || !sessionToken) return failed("STS returned an empty key, secret or token");
  const expiration = Date.parse(response.expiration) / 1000;
  if (!(Math.abs(expiration - response.expiredTime) <= 1)) {
    return failed(`Expiration ${response.expiration} and ExpiredTime ${response.expiredTime} disagree`);
  }
  const lifetime = response.expiredTime - atMs / 1000;
  const skew = lifetime - request.durationSeconds;
  const summary = `valid ${Math.round(lifetime)} s of the ${request.durationSeconds} s asked for; clock skew ${skew.toFixed(1)} s (limit ${maxSkewSeconds} s)`;
  if (skew > maxSkewSeconds) return failed(`${summary}: STS granted more than asked, or this clock is behind STS's`);
  if (skew < -maxSkewSeconds) return failed(`${summary}: STS granted less than asked, or this clock is ahead of STS's`);
  return passed(summary);
}

async function probeWithCanary(state: RunState, context: StepContext): Promise<StepOutcome> {
  const { app, issued } = state;
  const plan: ProbePlan = {
    bucket: app!.config,
    endpoint: app!.config.cosEndpoint,
    policy: JSON.parse(decodeURIComponent(issued!.request.encodedPolicy)) as CamPolicy,
    prefix: issued!.response.prefix,
    outsidePrefix: state.outsidePrefix!,
  };
  const report = await probeFence(plan, issued!.response.credentials, context);
  const cleanup = report.leftovers.length > 0 ? await cleanUp(state, plan, report.leftovers, context.timeLeftMs) : "";
  const verdict = judgeProbe(report);
  return verdict.ok ? passed(verdict.detail + cleanup) : failed(verdict.detail + cleanup);
}

/** The probe credential may not delete (`upload` cannot): a second one, for exactly those objects, does. */
async function cleanUp(state: RunState, plan: ProbePlan, keys: readonly string[], timeLeftMs: () => number): Promise<string> {
  const { config } = state.app!;
  try {
    const credential = await state.sts!.requestCredentials({
      encodedPolicy: encodePolicy(cleanupPolicy(plan.bucket, keys)),
      subjectHash: subjectHash(state.claims!),
      durationSeconds: config.durationSeconds,
      budgetMs: Math.min(config.sts.timeoutMs, timeLeftMs()),
    });
    const left = await removeLeftovers(plan, keys, credential, timeLeftMs);
    if (left.length === 0) return `; cleanup: deleted ${keys.join(", ")}`;
    return `; cleanup: could not delete ${left.join(", ")} (the role may lack DeleteObject; it is overwritten on every run)`;
  } catch (error) {
    return `; cleanup: no credential to delete ${keys.join(", ")} (${describeError(error)})`;
  }
}

/** The check's synthetic user: a login-token user, or a WeChat user when WeChat login is the only source. */
export function canary(config: Config, subject: string, extra: Readonly<Record<string, unknown>>): VerifiedClaims {
  if (!config.jwt && config.wechat) return { ...extra, ...wechatIdentity(config.wechat.login.appid, subject) };
  return { ...extra, sub: subject, iss: config.jwt?.issuers?.[0] ?? "" };
}

async function checkWechatLogin(app: Extract<App, { ok: true }>, deps: StepDeps, timeLeftMs: number): Promise<StepOutcome> {
  const wechat = app.config.wechat;
  if (!wechat) return skipped("not configured: WeChat login is off");
  return passed(await probeWechatLogin(wechat.login, { fetch: deps.fetch, clock: deps.clock }, timeLeftMs));
}

async function checkSigningKeys(app: Extract<App, { ok: true }>, fetchImpl: FetchLike | undefined): Promise<StepOutcome> {
  const keySet = app.config.jwt?.keySet;
  if (!keySet) return skipped(app.config.jwt ? "not configured: login tokens are verified with JWT_SECRET" : "not configured: only WeChat login is on");
  const keys = await fetchSigningKeys(keySet, fetchImpl);
  const where = `${keys.url}${keySet.source === "discovery" ? ", found by OIDC discovery" : ""}`;
  if (keys.usable === 0) return failed(`${where} holds ${keys.total} key(s), none usable to sign login tokens`);
  return passed(`${keys.usable} signing key(s) of ${keys.total} at ${where}`);
}
