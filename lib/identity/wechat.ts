/**
 * WeChat mini-program login as an identity source: the one-time code wx.login gives, exchanged
 * with jscode2session for the user's openid (docs/mini-programs.md; Tencent's page:
 * https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html).
 * The identity is `sub` = openid and `iss` = `wechat:<appid>`, plus `unionid` when WeChat sends
 * one. WeChat's `session_key` is read past and dropped here: it never reaches a claim, a log
 * line, a response or an error, and neither does the app secret (it travels in the query
 * string, so no URL is ever put into a message).
 */
import { type Clock, systemClock } from "../shared/clock.ts";
import { BrokerError } from "../shared/errors.ts";
import type { FetchLike } from "../shared/fetch.ts";
import { type Attempt, retryWithin } from "../shared/retry.ts";
import { type VerifiedClaims, WECHAT_ISSUER_PREFIX } from "./claims.ts";

export interface WechatConfig {
  /** the mini-program's AppID, `wx` + 16 hex digits */
  readonly appid: string;
  readonly secret: string;
  /** https://api.weixin.qq.com, or what WECHAT_API_ENDPOINT names */
  readonly endpoint: URL;
  /** One exchange's own limit. */
  readonly timeoutMs: number;
  readonly maxAttempts: number;
}

/** A verified WeChat user, in the claim names prefix templates use. */
export interface WechatIdentity extends VerifiedClaims {
  readonly openid: string;
  readonly unionid?: string;
}

/** A wx.login code -> the verified user; `budgetMs` bounds every attempt and wait together. */
export type WechatLogin = (code: string, budgetMs?: number) => Promise<WechatIdentity>;

export interface WechatDeps {
  readonly fetch?: FetchLike;
  readonly clock?: Clock;
  readonly random?: () => number;
}

/** The claims, besides `sub` and `{sub_hash}`, that name one WeChat user: what WECHAT_PREFIX_TEMPLATE may hold. */
export const WECHAT_CLAIMS = ["openid", "unionid"] as const;

export const isWechatIdentity = (claims: VerifiedClaims): boolean => claims.iss.startsWith(WECHAT_ISSUER_PREFIX);
/** WeChat's codes are 32 letters and digits; anything far from that is refused before WeChat is asked. */
const CODE = /^[A-Za-z0-9_-]{1,256}$/;
/** WeChat counts 100 exchanges per user per minute (errcode 45011). */
const QUOTA_RETRY_AFTER_SECONDS = 60;
/** The code is bad: WeChat never knew it (40029), it was used (40163), or none came (41008). */
const BAD_CODE = new Set([40029, 40163, 41008]);
/** The broker's own appid or secret is wrong: an operator must act. */
const MISCONFIGURED = new Set([40013, 40125, 41002, 41004, 40002]);

export function createWechatLogin(config: WechatConfig, deps: WechatDeps = {}): WechatLogin {
  const fetchImpl: FetchLike = deps.fetch ?? ((input, init) => fetch(input, init));
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const url = (code: string) => {
    const params = new URLSearchParams({ appid: config.appid, secret: config.secret, js_code: code, grant_type: "authorization_code" });
    return new URL(`/sns/jscode2session?${params}`, config.endpoint);
  };

  return async (code, budgetMs) => {
    if (!CODE.test(code)) {
      throw new BrokerError("InvalidToken", "the WeChat login code is malformed: send the code wx.login gave, as 'Authorization: WeChat <code>'");
    }
    let earlier: BrokerError | undefined;
    const policy = {
      maxAttempts: config.maxAttempts,
      attemptMs: config.timeoutMs,
      budgetMs,
      clock,
      random,
      tooLate: () => new BrokerError("UpstreamTimeout", "not enough time left in this invocation to ask WeChat"),
    };
    return retryWithin(policy, async (limitMs): Promise<Attempt<WechatIdentity>> => {
      const outcome = await exchange(fetchImpl, url(code), limitMs, config.appid);
      if ("value" in outcome) return outcome;
      // "Code been used" after a failed try: that try most likely used it, so its failure is the answer.
      if (earlier && outcome.error.detail?.startsWith("errcode=40163")) return { error: earlier, transient: false };
      earlier = outcome.error;
      return outcome;
    });
  };
}

async function exchange(fetchImpl: FetchLike, url: URL, limitMs: number, appid: string): Promise<Attempt<WechatIdentity>> {
  const timeoutMs = Math.max(1, Math.round(limitMs));
  const signal = AbortSignal.timeout(timeoutMs);
  let status: number;
  let text: string;
  try {
    const response = await fetchImpl(url, { redirect: "manual", signal, headers: { accept: "application/json" } });
    status = response.status;
    text = await response.text();
  } catch (caught) {
    if (signal.aborted) return { error: new BrokerError("UpstreamTimeout", `WeChat's login service did not answer within ${timeoutMs} ms`), transient: true };
    const reason = (caught as { cause?: { code?: unknown } }).cause?.code;
    const detail = typeof reason === "string" ? `network=${reason}` : undefined;
    return { error: new BrokerError("UpstreamError", "WeChat's login service could not be reached", { detail }), transient: true };
  }
  if (status !== 200) {
    return {
      error: new BrokerError("UpstreamError", `WeChat's login service failed (HTTP ${status})`, { detail: `http=${status}` }),
      transient: status >= 500 || status === 429,
    };
  }
  // WeChat sends its JSON as text/plain (docs/mini-programs.md), so the content type is not looked at.
  const answer = parseObject(text);
  if (!answer) return { error: new BrokerError("UpstreamError", "WeChat's login service sent an answer that is not JSON"), transient: true };
  const errcode = answer.errcode;
  if (errcode !== undefined && errcode !== 0) return refusal(errcode, answer.errmsg);
  const { openid, unionid } = answer;
  if (typeof openid !== "string" || openid === "" || typeof answer.session_key !== "string") {
    return { error: new BrokerError("UpstreamError", "WeChat's login service sent an incomplete answer"), transient: true };
  }
  return { value: wechatIdentity(appid, openid, typeof unionid === "string" && unionid !== "" ? unionid : undefined) };
}

/** The identity of a mini-program's user, as WeChat names them. */
export function wechatIdentity(appid: string, openid: string, unionid?: string): WechatIdentity {
  return { iss: `${WECHAT_ISSUER_PREFIX}${appid}`, sub: openid, openid, ...(unionid === undefined ? {} : { unionid }) };
}

/** WeChat's errcode as the broker's answer (docs/mini-programs.md, When WeChat says no). */
function refusal(errcode: unknown, errmsg: unknown): Attempt<never> {
  // errmsg is WeChat's text: only its request id ("rid: ...") is kept, for the log.
  const rid = typeof errmsg === "string" ? /rid: ([\w-]{1,64})/.exec(errmsg)?.[1] : undefined;
  const detail = [`errcode=${String(errcode).slice(0, 12)}`, rid && `rid=${rid}`].filter(Boolean).join(" ");
  const code = typeof errcode === "number" ? errcode : Number.NaN;
  const fail = (error: BrokerError, transient = false) => ({ error, transient });
  if (code === -1) return fail(new BrokerError("UpstreamThrottled", "WeChat's login service is busy; retry shortly", { detail, retryAfter: 1 }), true);
  if (BAD_CODE.has(code)) {
    return fail(new BrokerError("InvalidToken", "the WeChat login code is invalid, expired or already used: call wx.login again for a new one", { detail }));
  }
  if (code === 45011) {
    return fail(
      new BrokerError("TooManyRequests", "WeChat allows this user no more logins this minute; retry later", { detail, retryAfter: QUOTA_RETRY_AFTER_SECONDS }),
    );
  }
  if (code === 40226) return fail(new BrokerError("IdentityNotAllowed", "WeChat does not allow this user to sign in (a high-risk account)", { detail }));
  if (MISCONFIGURED.has(code)) {
    return fail(new BrokerError("ConfigError", "WeChat refused the broker's WECHAT_APPID or WECHAT_APP_SECRET; see the function's log", { detail }));
  }
  return fail(new BrokerError("UpstreamError", "WeChat's login service refused the exchange", { detail }));
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A code WeChat never gave: what the credential check exchanges. */
const PROBE_CODE = "cosstsbrokercredentialcheck";

/**
 * The credential check's probe of WeChat login (docs/scheduled-check.md): an unknown code comes
 * back as "invalid code" only once WeChat accepted the appid and the secret, so that answer
 * proves both and the way there. Resolves with what it proved; rejects with the BrokerError otherwise.
 */
export async function probeWechatLogin(config: WechatConfig, deps: WechatDeps = {}, budgetMs?: number): Promise<string> {
  try {
    await createWechatLogin(config, deps)(PROBE_CODE, budgetMs);
  } catch (error) {
    if (error instanceof BrokerError && error.code === "InvalidToken")
      return `${config.endpoint.host} accepts WECHAT_APPID ${config.appid} and its secret (a made-up code is refused as such)`;
    throw error;
  }
  throw new BrokerError("UpstreamError", "WeChat's login service signed in a made-up code");
}
