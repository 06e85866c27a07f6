/**
 * SCF entry point (`index.main_handler`) for the timer trigger: runs the credential check.
 * It only translates. A timer event starts a run; anything else is refused without running.
 * A failed check becomes a thrown error, after the report and the alert went out, so the
 * platform counts a failed invocation and its alarms fire.
 */

import { CONFIG_VARIABLES } from "../../lib/broker/config.ts";
import { CHECK_VARIABLES } from "../../lib/check/config.ts";
import { type CheckDeps, runCredentialCheck } from "../../lib/check/run.ts";
import type { StepResult } from "../../lib/check/steps.ts";
import { createLogger } from "../../lib/shared/log.ts";
import { remainingTime, type ScfContext } from "../scf.ts";

/** What this function reads from its environment; serverless.yml sets exactly these (test/build/serverless-yml.test.ts). */
export const ENV_VARIABLES: readonly string[] = [...CONFIG_VARIABLES, ...CHECK_VARIABLES];

export type CheckOutcome =
  | { readonly ok: true; readonly results: readonly StepResult[] }
  | { readonly ok: false; readonly error: { readonly code: "BadRequest"; readonly message: string } };

export type CheckHandler = (event: unknown, context?: ScfContext) => Promise<CheckOutcome>;

export function createCheckHandler(deps: Pick<CheckDeps, "env" | "logger" | "fetch" | "clock"> = {}): CheckHandler {
  const logger = deps.logger ?? createLogger();
  return async (event, context) => {
    const requestId = typeof context?.request_id === "string" ? context.request_id : undefined;
    const triggerName = timerName(event);
    if (triggerName === undefined) {
      const message = 'this function answers timer trigger events only ({"Type":"Timer",...}); nothing was checked';
      logger.event("credential_check_refused", { requestId, message });
      return { ok: false, error: { code: "BadRequest", message } };
    }
    const report = await runCredentialCheck({
      ...deps,
      logger,
      requestId,
      trigger: [context?.function_name, `timer ${triggerName}`].filter(Boolean).join(" "),
      remainingMs: remainingTime(context),
    });
    if (!report.ok) {
      const names = report.results.filter((result) => result.status === "fail" || result.status === "not-run").map((result) => result.name);
      throw new Error(`credential check failed: ${names.join(", ")}; see the credential_check log line`);
    }
    return { ok: true, results: report.results };
  };
}

/** SCF timer event: `{"Type":"Timer","TriggerName":"...","Time":"<UTC ISO>","Message":"<argument>"}` (https://intl.cloud.tencent.com/document/product/583/31439). */
function timerName(event: unknown): string | undefined {
  if (typeof event !== "object" || event === null) return undefined;
  const { Type: type, TriggerName: name } = event as Record<string, unknown>;
  if (type !== "Timer") return undefined;
  return typeof name === "string" ? name.slice(0, 64) : "";
}

let instance: CheckHandler | undefined;

export const main_handler: CheckHandler = (event, context) => {
  instance ??= createCheckHandler();
  return instance(event, context);
};
