/**
 * Posts a short alert to a chat webhook, with bounded retries. The two common robots disagree
 * on what `text` is, so no single body suits both: a WeCom group robot wants
 * `{"msgtype":"text","text":{"content":"..."}}` and answers HTTP 200 with `errcode` 0 on
 * success (https://developer.work.weixin.qq.com/document/path/91770; DingTalk robots take the
 * same body), a Slack incoming webhook wants `{"text":"..."}` and answers non-2xx with a short
 * error string (https://api.slack.com/messaging/webhooks). The webhook URL is a secret: it is
 * never logged or put into a result.
 */
import { type Clock, type MonotonicMs, systemClock } from "../shared/clock.ts";
import type { FetchLike } from "../shared/fetch.ts";
import type { AlertFormat, AlertTarget } from "./config.ts";

export interface AlertResult {
  readonly sent: boolean;
  readonly attempts: number;
  /** What the last attempt got: `HTTP 500`, `errcode 93000`, `timeout`, `network error`. */
  readonly detail: string;
}

export interface AlertDeps {
  readonly fetch?: FetchLike;
  /** When the last attempt must have ended. */
  readonly deadline: MonotonicMs;
  /** Times the attempts and the waits between them. */
  readonly clock?: Clock;
  /** Uniform in [0, 1): the jitter. */
  readonly random?: () => number;
}

/** WeCom's text limit is 2048 bytes; Slack's is far higher. */
export const MAX_ALERT_BYTES = 2000;
const MAX_ATTEMPTS = 3;
const ATTEMPT_TIMEOUT_MS = 3000;
const BACKOFF_MS = 250;
/** WeCom's global "system busy" code: worth another try, unlike a bad key (93000) or a bad body. */
const WECOM_BUSY = -1;

export function alertBody(format: AlertFormat, message: string): string {
  const content = truncateUtf8(message, MAX_ALERT_BYTES);
  return JSON.stringify(format === "slack" ? { text: content } : { msgtype: "text", text: { content } });
}

export async function sendAlert(target: AlertTarget, message: string, deps: AlertDeps): Promise<AlertResult> {
  const fetchImpl: FetchLike = deps.fetch ?? ((input, init) => fetch(input, init));
  const { clock = systemClock, random = Math.random } = deps;
  const body = alertBody(target.format, message);
  let last: Attempt = { sent: false, retry: false, detail: "no time left to send" };
  let attempts = 0;
  while (attempts < MAX_ATTEMPTS) {
    const timeoutMs = Math.floor(Math.min(ATTEMPT_TIMEOUT_MS, deps.deadline - clock.monotonic()));
    if (timeoutMs < 100) break;
    attempts += 1;
    last = await attempt(fetchImpl, target.url, body, timeoutMs);
    if (last.sent || !last.retry || attempts === MAX_ATTEMPTS) break;
    const pause = BACKOFF_MS * 2 ** (attempts - 1) * (0.5 + random() / 2);
    if (clock.monotonic() + pause >= deps.deadline) break;
    await clock.sleep(pause);
  }
  return { sent: last.sent, attempts, detail: last.detail };
}

interface Attempt {
  readonly sent: boolean;
  readonly retry: boolean;
  readonly detail: string;
}

async function attempt(fetchImpl: FetchLike, url: URL, body: string, timeoutMs: number): Promise<Attempt> {
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  let text: string;
  try {
    response = await fetchImpl(url, { method: "POST", headers: { "content-type": "application/json" }, body, redirect: "manual", signal });
    text = await response.text();
  } catch {
    // The error's own text can hold the URL; say only what kind of failure it was.
    return { sent: false, retry: true, detail: signal.aborted ? "timeout" : "network error" };
  }
  if (response.status >= 500 || response.status === 429) return { sent: false, retry: true, detail: `HTTP ${response.status}` };
  if (response.status < 200 || response.status >= 300) return { sent: false, retry: false, detail: `HTTP ${response.status}` };
  const errcode = wecomErrcode(text);
  if (errcode !== undefined && errcode !== 0) return { sent: false, retry: errcode === WECOM_BUSY, detail: `errcode ${errcode}` };
  return { sent: true, retry: false, detail: `HTTP ${response.status}` };
}

/** WeCom reports failures as HTTP 200 `{"errcode":N,"errmsg":"..."}`; Slack answers plain `ok`. */
function wecomErrcode(text: string): number | undefined {
  try {
    const parsed = JSON.parse(text) as { errcode?: unknown };
    return typeof parsed?.errcode === "number" ? parsed.errcode : undefined;
  } catch {
    return undefined;
  }
}

/** Cuts at a byte limit without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const cut = Buffer.from(text)
    .subarray(0, maxBytes - 3)
    .toString("utf8")
    .replace(/\uFFFD+$/, "");
  return `${cut}...`;
}
