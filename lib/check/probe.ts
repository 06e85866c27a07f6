/**
 * The live fence probe. With the canary's credential and cos-nodejs-sdk-v5 it asks COS for
 * what the issued policy should allow and for what it must refuse, and compares each answer
 * with lib/cam/evaluate.ts's verdict on the very policy the broker sent to STS: a denial that
 * should have been an allow, or an allow that should have been a denial, fails the probe.
 */
import COS from "cos-nodejs-sdk-v5";
import { type ContextValue, evaluatePolicy } from "../cam/evaluate.ts";
import { type BucketRef, type CamPolicy, resourceOf } from "../cam/policy.ts";
import type { StepContext } from "./steps.ts";

export interface ProbeCredential {
  readonly tmpSecretId: string;
  readonly tmpSecretKey: string;
  readonly sessionToken: string;
}

export interface ProbePlan {
  readonly bucket: BucketRef;
  /** COS_ENDPOINT: requests go to this address (Host still the bucket's domain); unset: the bucket's public domain. */
  readonly endpoint: string | undefined;
  /** The session policy as sent to STS. */
  readonly policy: CamPolicy;
  readonly prefix: string;
  /** Another identity's prefix; sharing the canary's leading characters, it also catches `prefix*` grants. */
  readonly outsidePrefix: string;
}

type Answer = "allowed" | "denied";

export interface ProbeResult {
  /** e.g. `PutObject users/__canary/credential-check.txt` */
  readonly request: string;
  readonly expected: Answer;
  readonly actual: Answer | "error";
  /** What COS answered: `HTTP 200`, `HTTP 403 AccessDenied`, `ECONNREFUSED`. */
  readonly answer: string;
  /** Outside the prefix or the profile: must be refused, whatever the policy says. */
  readonly mustDeny: boolean;
}

export interface ProbeReport {
  readonly results: readonly ProbeResult[];
  /** Full keys the probe wrote and could not delete with the probe credential. */
  readonly leftovers: readonly string[];
  /** False when the profile grants every action the probe knows, so none outside it was tried. */
  readonly triedOutsideProfile: boolean;
}

/** Overwritten on every run, so a leftover never piles up. */
export const PROBE_OBJECT = "credential-check.txt";
/** Each COS request's own timeout; the check's step timeout bounds the whole probe. */
const REQUEST_TIMEOUT_MS = 3000;
const BODY = "cos-sts-broker credential check\n";

interface Probe {
  readonly action: string;
  /** Object key; "" for a bucket-level request. */
  readonly key: string;
  readonly mustDeny: boolean;
  readonly context: Readonly<Record<string, ContextValue>>;
  send(client: COS): Promise<unknown>;
}

export async function probeFence(plan: ProbePlan, credential: ProbeCredential, step: StepContext): Promise<ProbeReport> {
  const client = clientFor(plan.endpoint, credential, step.timeLeftMs());
  const inside = `${plan.prefix}${PROBE_OBJECT}`;
  const outside = `${plan.outsidePrefix}${PROBE_OBJECT}`;
  const secure = { "cos:secure-transport": !plan.endpoint?.startsWith("http:") };
  const put = (key: string, mustDeny: boolean): Probe => ({
    action: "PutObject",
    key,
    mustDeny,
    context: { ...secure, "cos:content-length": Buffer.byteLength(BODY), "cos:content-type": "text/plain" },
    send: (cos) => cos.putObject({ ...at(plan, key), Body: BODY, ContentType: "text/plain" }),
  });
  const object = (action: "HeadObject" | "DeleteObject", key: string): Probe => ({
    action,
    key,
    mustDeny: false,
    context: secure,
    send: (cos) => (action === "HeadObject" ? cos.headObject(at(plan, key)) : cos.deleteObject(at(plan, key))),
  });
  const beyond = outsideProfile(plan, inside, secure);
  const probes = [put(inside, false), object("HeadObject", inside), beyond, object("DeleteObject", inside), put(outside, true)];

  const results: ProbeResult[] = [];
  for (const probe of probes) {
    // Once the step has timed out nobody reads the answers: send nothing more.
    if (probe && !step.signal.aborted) results.push(await run(client, plan, probe));
  }
  const wrote = (key: string) => results.some((r) => r.request === `PutObject ${key}` && r.actual === "allowed");
  const deleted = results.some((r) => r.request === `DeleteObject ${inside}` && r.actual === "allowed");
  const leftovers = [...(wrote(inside) && !deleted ? [inside] : []), ...(wrote(outside) ? [outside] : [])];
  return { results, leftovers, triedOutsideProfile: beyond !== undefined };
}

/** Deletes what the probe left, with a credential for exactly those objects; returns what is still there. */
export async function removeLeftovers(plan: ProbePlan, keys: readonly string[], credential: ProbeCredential, timeLeftMs: () => number): Promise<string[]> {
  const client = clientFor(plan.endpoint, credential, timeLeftMs());
  const remaining: string[] = [];
  for (const key of keys) {
    const { actual } = answerOf(
      await client.deleteObject(at(plan, key)).then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
    if (actual !== "allowed") remaining.push(key);
  }
  return remaining;
}

/** The policy that lets the cleanup delete exactly these objects and nothing else. */
export function cleanupPolicy(bucket: BucketRef, keys: readonly string[]): CamPolicy {
  return { version: "2.0", statement: [{ effect: "allow", action: ["name/cos:DeleteObject"], resource: keys.map((key) => resourceOf(bucket, key)) }] };
}

/**
 * An action the profile does not grant, tried inside the prefix: the first of these the
 * policy denies. None when the profile grants them all (nothing outside it to try).
 */
function outsideProfile(plan: ProbePlan, key: string, secure: Record<string, ContextValue>): Probe | undefined {
  const candidates: Probe[] = [
    { action: "GetObject", key, mustDeny: true, context: secure, send: (cos) => cos.getObject(at(plan, key)) },
    {
      action: "GetBucket",
      key: "",
      mustDeny: true,
      context: { ...secure, "cos:prefix": plan.prefix },
      send: (cos) => cos.getBucket({ Bucket: plan.bucket.bucket, Region: plan.bucket.region, Prefix: plan.prefix, MaxKeys: 1 }),
    },
  ];
  return candidates.find((probe) => expectation(plan, probe) === "denied");
}

async function run(client: COS, plan: ProbePlan, probe: Probe): Promise<ProbeResult> {
  const error = await probe.send(client).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  const request = probe.key ? `${probe.action} ${probe.key}` : `${probe.action} ?prefix=${plan.prefix}`;
  return { request, expected: expectation(plan, probe), mustDeny: probe.mustDeny, ...answerOf(error) };
}

function expectation(plan: ProbePlan, probe: Probe): Answer {
  const verdict = evaluatePolicy(plan.policy, { action: `name/cos:${probe.action}`, resource: resourceOf(plan.bucket, probe.key), context: probe.context });
  return verdict.allowed ? "allowed" : "denied";
}

/**
 * Authorization comes before existence in COS, so a 404 means the request was allowed. HEAD
 * answers have no body: their 403 carries no error code, only the status.
 */
function answerOf(error: unknown): { actual: Answer | "error"; answer: string } {
  if (error === undefined) return { actual: "allowed", answer: "HTTP 2xx" };
  const { statusCode, code } = error as { statusCode?: number; code?: unknown };
  const name = typeof code === "string" ? code.slice(0, 64) : "unknown error";
  if (statusCode === 404) return { actual: "allowed", answer: `HTTP 404 ${name}` };
  if (statusCode === 403 && (name === "AccessDenied" || name === "403")) return { actual: "denied", answer: "HTTP 403 AccessDenied" };
  return { actual: "error", answer: statusCode ? `HTTP ${statusCode} ${name}` : name };
}

const at = (plan: ProbePlan, key: string) => ({ Bucket: plan.bucket.bucket, Region: plan.bucket.region, Key: key });

function clientFor(endpoint: string | undefined, credential: ProbeCredential, timeLeft: number): COS {
  const url = endpoint ? new URL(endpoint) : undefined;
  return new COS({
    SecretId: credential.tmpSecretId,
    SecretKey: credential.tmpSecretKey,
    SecurityToken: credential.sessionToken,
    // The SDK sends only virtual-host style; `Ip` connects elsewhere and keeps the bucket's Host header.
    ...(url ? { Ip: url.host, Protocol: url.protocol as "http:" | "https:" } : {}),
    Timeout: Math.max(100, Math.min(REQUEST_TIMEOUT_MS, timeLeft)),
    // A probe must see the clock as it is, not have the SDK correct it; and leave no socket open.
    CorrectClockSkew: false,
    KeepAlive: false,
  });
}

/** Every answer as expected, nothing outside the fence allowed, and at least one allow proving the credential works. */
export function judgeProbe(report: ProbeReport): { readonly ok: boolean; readonly detail: string } {
  const wanted = (r: ProbeResult): Answer => (r.mustDeny ? "denied" : r.expected);
  const said = (r: ProbeResult) => `${r.request} ${r.actual === "error" ? `failed (${r.answer})` : r.actual}`;
  const wrong = report.results.filter((r) => r.actual !== wanted(r) || r.expected !== wanted(r));
  const right = report.results.filter((r) => !wrong.includes(r));
  const notes: string[] = [];
  if (!report.triedOutsideProfile) notes.push("no action outside the profile to try: it grants GetObject and GetBucket");
  const proven = report.results.some((r) => r.expected === "allowed" && r.actual === "allowed");
  if (!proven && wrong.length === 0) notes.push("the profile allows none of the probe's requests, so nothing shows the credential works");
  const wrongText = wrong.map((r) => {
    const why = r.expected === "allowed" && r.mustDeny ? ", and the issued policy itself allows it" : "";
    return `${said(r)}, expected ${wanted(r)}${why}`;
  });
  const detail = wrong.length > 0 ? [...wrongText, `as expected: ${right.map(said).join(", ") || "nothing"}`] : right.map(said);
  return { ok: wrong.length === 0 && proven, detail: [...detail, ...notes].join("; ") };
}
