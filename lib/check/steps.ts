/**
 * Named steps run one after another inside a time budget, each under its own timeout, so a
 * hung step fails alone and a report still goes out. A step whose prerequisite did not pass,
 * or for which no time is left, is reported as not run.
 */
import { type Clock, type MonotonicMs, systemClock } from "../shared/clock.ts";
import { BrokerError } from "../shared/errors.ts";

type StepStatus = "pass" | "fail" | "skipped" | "not-run";

export interface StepResult {
  readonly name: string;
  readonly status: StepStatus;
  readonly durationMs: number;
  /** Text the step writes itself: never a key, a token or a secret URL. */
  readonly detail: string;
}

export interface StepOutcome {
  readonly status: "pass" | "fail" | "skipped";
  readonly detail: string;
}

export interface StepContext {
  /** Aborted when the step's time is up. */
  readonly signal: AbortSignal;
  /** Milliseconds before the step's timeout. */
  timeLeftMs(): number;
}

export interface Step {
  readonly name: string;
  /** Steps that must have passed first (their results feed this one). */
  readonly needs?: readonly string[];
  run(context: StepContext): Promise<StepOutcome>;
}

export interface StepLimits {
  /** When every step must have ended. */
  readonly deadline: MonotonicMs;
  readonly stepTimeoutMs: number;
  readonly clock?: Clock;
}

/** Starting a step with less time than this would only produce a timeout. */
const MIN_STEP_MS = 50;

export const passed = (detail: string): StepOutcome => ({ status: "pass", detail });
export const failed = (detail: string): StepOutcome => ({ status: "fail", detail });
export const skipped = (detail: string): StepOutcome => ({ status: "skipped", detail });

export async function runSteps(steps: readonly Step[], limits: StepLimits): Promise<StepResult[]> {
  const clock = limits.clock ?? systemClock;
  const results: StepResult[] = [];
  for (const step of steps) {
    const blocker = step.needs?.find((name) => results.find((result) => result.name === name)?.status !== "pass");
    const timeoutMs = Math.floor(Math.min(limits.stepTimeoutMs, limits.deadline - clock.monotonic()));
    if (blocker !== undefined) {
      results.push({ name: step.name, status: "not-run", durationMs: 0, detail: `needs '${blocker}', which did not pass` });
    } else if (timeoutMs < MIN_STEP_MS) {
      results.push({ name: step.name, status: "not-run", durationMs: 0, detail: "the time budget ran out before it could start" });
    } else {
      results.push(await runStep(step, timeoutMs, clock));
    }
  }
  return results;
}

async function runStep(step: Step, timeoutMs: number, clock: Clock): Promise<StepResult> {
  const started = clock.monotonic();
  const alarm = clock.alarm(timeoutMs);
  const timedOut = new Promise<StepOutcome>((resolve) => {
    alarm.signal.addEventListener("abort", () => resolve(failed(`did not finish within ${timeoutMs} ms`)), { once: true });
  });
  const context: StepContext = { signal: alarm.signal, timeLeftMs: () => Math.max(0, started + timeoutMs - clock.monotonic()) };
  try {
    const outcome = await Promise.race([step.run(context).catch((error: unknown) => failed(describeError(error))), timedOut]);
    return { name: step.name, ...outcome, durationMs: Math.round(clock.monotonic() - started) };
  } finally {
    alarm.cancel();
  }
}

/** BrokerError messages are written to be shown; anything else is named only, as it may carry anything. */
export function describeError(error: unknown): string {
  if (error instanceof BrokerError) return `${error.code}: ${error.message}${error.detail ? ` (${error.detail})` : ""}`;
  return `failed unexpectedly (${error instanceof Error ? error.name : typeof error})`;
}
