/**
 * The credential check's world on loopback: the STS emulator, the COS server (whose view of a
 * credential's session policy a test may bend, to play a role that lost its rights or a grant
 * wider than asked for) and a webhook receiver, plus the timer handler with its log captured
 * and a clock that skips the waits between attempts.
 */
import { type CosServer, credentialsFrom, startCosServer } from "../../dev/cos-server/index.ts";
import type { StsEmulator } from "../../dev/sts-emulator/index.ts";
import { type CheckHandler, createCheckHandler } from "../../functions/credential-check/index.ts";
import type { CamPolicy } from "../../lib/cam/policy.ts";
import type { Env } from "../../lib/shared/env.ts";
import { skippingClock } from "./clock.ts";
import { BUCKET, brokerEnv, REGION, startTestEmulator, testLogger } from "./harness.ts";
import { TEST_SECRET } from "./tokens.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./webhook.ts";

export interface CheckStack {
  readonly emulator: StsEmulator;
  readonly cos: CosServer;
  readonly webhook: WebhookReceiver;
  readonly env: Env;
  /** How COS sees each session policy; identity unless a test bends it. */
  bendPolicy: (policy: CamPolicy) => CamPolicy;
  /** A fresh handler over `env` plus `extra`, and the log lines it writes. */
  handler(extra?: Env): { handle: CheckHandler; lines: string[] };
  /** Every string that must never reach a log line or an alert. */
  secrets(): string[];
  close(): Promise<void>;
}

export const timerEvent = (name = "every-5-minutes") => ({ Type: "Timer", TriggerName: name, Time: "2026-01-01T00:00:00Z", Message: "" });

export async function startCheckStack(): Promise<CheckStack> {
  const emulator = await startTestEmulator();
  const webhook = await startWebhookReceiver();
  const lookup = credentialsFrom(emulator);
  const stack = {
    bendPolicy: (policy: CamPolicy) => policy,
  } as CheckStack;
  const cos = await startCosServer({
    region: REGION,
    buckets: [BUCKET],
    credentials: (secretId) => {
      const credential = lookup(secretId);
      return credential?.policy ? { ...credential, policy: stack.bendPolicy(credential.policy as CamPolicy) } : credential;
    },
  });
  const key = emulator.keys[0]!;
  const env = brokerEnv(emulator, { COS_ENDPOINT: cos.url, ALERT_WEBHOOK_URL: webhook.url });
  return Object.assign(stack, {
    emulator,
    cos,
    webhook,
    env,
    handler(extra: Env = {}) {
      const lines: string[] = [];
      return { handle: createCheckHandler({ env: { ...env, ...extra }, logger: testLogger((line) => lines.push(line)), clock: skippingClock() }), lines };
    },
    secrets: () => [
      key.secretKey,
      TEST_SECRET,
      new URL(webhook.url).search.slice(1),
      ...[...emulator.issued.values()].flatMap((issued) => [issued.tmpSecretKey, issued.token]),
    ],
    close: async () => {
      await Promise.all([cos.close(), webhook.close(), emulator.close()]);
    },
  });
}
