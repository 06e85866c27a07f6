// The emulator's login codes. WeChat's are opaque, single use and valid for five minutes
// (https://developers.weixin.qq.com/miniprogram/dev/api/open-api/login/wx.login.html). These
// are opaque too, but carry what the emulator needs, MACed with the app's secret: so
// `npm run wxcode` can mint one for any emulator that serves the same app without talking to
// it, and a code names the failure it should meet, if any. Single use is the emulator's
// to enforce (it remembers the codes it has exchanged).
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** How an exchange can be told to fail: WeChat's own answers, and the network's. */
export const FAULTS = ["busy", "rate-limited", "blocked", "hang", "malformed", "server-error"] as const;
export type Fault = (typeof FAULTS)[number];

export interface WechatApp {
  /** `wx` + 16 hex digits, as the mini-program admin console shows it */
  readonly appid: string;
  readonly secret: string;
}

export interface CodeGrant {
  readonly openid: string;
  readonly unionid?: string;
  /** answer this exchange with a failure instead */
  readonly fault?: Fault;
}

export interface ReadCode extends CodeGrant {
  /** unique per code: what single use remembers */
  readonly id: string;
  /** Unix seconds */
  readonly expiresAt: number;
}

/** WeChat's codes live five minutes. */
const CODE_TTL_SECONDS = 300;
/** Real openids are 28 characters and unionids 29, of these. */
const ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const VERSION = 1;
const NONCE_BYTES = 6;
const MAC_BYTES = 12;

export function mintCode(app: WechatApp, grant: CodeGrant, nowMs: number): string {
  for (const [name, value] of [
    ["openid", grant.openid],
    ["unionid", grant.unionid],
  ] as const) {
    if (value !== undefined && !ID_PATTERN.test(value)) throw new RangeError(`${name} must be 1-32 letters, digits, _ or -`);
  }
  const expiry = Buffer.alloc(4);
  expiry.writeUInt32BE(Math.floor(nowMs / 1000) + CODE_TTL_SECONDS);
  const payload = Buffer.concat([
    Buffer.from([VERSION]),
    expiry,
    randomBytes(NONCE_BYTES),
    Buffer.from([grant.fault === undefined ? 0 : FAULTS.indexOf(grant.fault) + 1]),
    lengthPrefixed(grant.openid),
    lengthPrefixed(grant.unionid ?? ""),
  ]);
  return Buffer.concat([payload, mac(app, payload)]).toString("base64url");
}

/** The code's content, or undefined for anything this app did not mint (expiry is the caller's to check). */
export function readCode(app: WechatApp, code: string): ReadCode | undefined {
  if (!/^[A-Za-z0-9_-]{1,256}$/.test(code)) return undefined;
  const bytes = Buffer.from(code, "base64url");
  const payload = bytes.subarray(0, -MAC_BYTES);
  const given = bytes.subarray(-MAC_BYTES);
  if (payload.length < 13 || given.length !== MAC_BYTES || !timingSafeEqual(given, mac(app, payload)) || payload[0] !== VERSION) return undefined;
  const fault = FAULTS[(payload[11] ?? 0) - 1];
  const openidLength = payload[12] ?? 0;
  const openid = payload.subarray(13, 13 + openidLength).toString();
  const unionid = payload.subarray(14 + openidLength, 14 + openidLength + (payload[13 + openidLength] ?? 0)).toString();
  return {
    id: payload.subarray(1, 11).toString("hex"),
    expiresAt: payload.readUInt32BE(1),
    openid,
    ...(unionid ? { unionid } : {}),
    ...(fault ? { fault } : {}),
  };
}

function lengthPrefixed(text: string): Buffer {
  return Buffer.concat([Buffer.from([text.length]), Buffer.from(text)]);
}

function mac(app: WechatApp, payload: Buffer): Buffer {
  return createHmac("sha256", app.secret).update(app.appid).update(payload).digest().subarray(0, MAC_BYTES);
}
