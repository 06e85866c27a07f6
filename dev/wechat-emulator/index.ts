// A loopback WeChat login API for tests and `npm start`: `GET /sns/jscode2session` as WeChat
// answers it (https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html):
// JSON sent as text/plain, `{openid, session_key, unionid?}` or `{errcode, errmsg}`. It
// checks appid and secret, takes each code once and for five minutes, holds each user to 100
// exchanges a minute, and fails on demand. `GET /dev/code` mints a code for a chosen openid
// (what wx.login would give that user), for a mini-program run against `npm start`.
// Dev tooling only; never deployed.
import { randomBytes, randomUUID } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type Clock, systemClock } from "../../lib/shared/clock.ts";
import { listen } from "../listen.ts";
import { selfSignedCert } from "../sts-emulator/tls.ts";
import { type CodeGrant, FAULTS, type Fault, mintCode, type ReadCode, readCode, type WechatApp } from "./codes.ts";

export { FAULTS } from "./codes.ts";

export interface WechatEmulatorOptions {
  /** the mini-programs it serves; default one made-up app */
  readonly apps?: readonly WechatApp[];
  readonly host?: string;
  /** default 0 (any free port) */
  readonly port?: number;
  /** a self-signed certificate for 127.0.0.1/localhost, as the real API is https */
  readonly tls?: boolean;
  /** expiry and the per-user minute quota run on its wall time */
  readonly clock?: Pick<Clock, "now">;
  /** told each session_key it hands out, so a test can look for it in logs */
  readonly onSecret?: (kind: "session_key", value: string) => void;
}

interface WechatCall {
  readonly appid: string;
  /** the user, when the code named one */
  readonly openid?: string;
  /** 0 when a session was handed out; the fault's name when one was played */
  readonly errcode: number | Fault;
}

export interface WechatEmulator {
  readonly url: string;
  readonly port: number;
  readonly caCert?: string;
  readonly apps: readonly WechatApp[];
  readonly calls: WechatCall[];
  /** What wx.login would give this user of the first app (or of `appid`). */
  mint(openid: string, options?: Omit<CodeGrant, "openid"> & { appid?: string }): string;
  /** The next exchanges (all, or `times` of them) fail so, whatever their code. */
  inject(fault: Fault, options?: { times?: number }): void;
  clearFaults(): void;
  close(): Promise<void>;
}

/** WeChat allows 100 exchanges per user per minute, then answers 45011 (docs/mini-programs.md). */
const PER_USER_PER_MINUTE = 100;

interface State {
  readonly apps: ReadonlyMap<string, WechatApp>;
  readonly now: () => number;
  readonly used: Map<string, number>;
  readonly quota: Map<string, { minute: number; count: number }>;
  readonly faults: { fault: Fault; remaining: number }[];
  readonly calls: WechatCall[];
  readonly onSecret?: WechatEmulatorOptions["onSecret"];
}

export async function startWechatEmulator(options: WechatEmulatorOptions = {}): Promise<WechatEmulator> {
  const apps = options.apps ?? [{ appid: "wx0123456789abcdef", secret: randomBytes(16).toString("hex") }];
  const clock = options.clock ?? systemClock;
  const state: State = {
    apps: new Map(apps.map((app) => [app.appid, app])),
    now: () => clock.now(),
    used: new Map(),
    quota: new Map(),
    faults: [],
    calls: [],
    onSecret: options.onSecret,
  };
  const tls = options.tls ? await selfSignedCert() : undefined;
  const listener = (req: IncomingMessage, res: ServerResponse) => answer(req, res, state);
  const server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, listener) : createHttpServer(listener);
  const listening = await listen(server, { host: options.host, port: options.port, tls: Boolean(tls), name: "WeChat emulator" });
  const mint: WechatEmulator["mint"] = (openid, { appid, ...grant } = {}) => {
    const app = appid === undefined ? apps[0] : state.apps.get(appid);
    if (!app) throw new RangeError(`the emulator serves no app ${appid}`);
    return mintCode(app, { openid, ...grant }, state.now());
  };
  return {
    url: listening.origin,
    port: listening.port,
    caCert: tls?.cert,
    apps,
    calls: state.calls,
    mint,
    inject: (fault, { times = Number.POSITIVE_INFINITY } = {}) => void state.faults.push({ fault, remaining: times }),
    clearFaults: () => void state.faults.splice(0),
    close: listening.close,
  };
}

function answer(req: IncomingMessage, res: ServerResponse, state: State): void {
  const url = new URL(req.url ?? "/", "http://wechat.invalid");
  if (req.method !== "GET") return void send(res, 405, { errcode: 43001, errmsg: "require GET method" });
  if (url.pathname === "/sns/jscode2session") return void exchange(url.searchParams, req, res, state);
  if (url.pathname === "/dev/code") return void devCode(url.searchParams, res, state);
  send(res, 404, { errcode: 404, errmsg: "not found" });
}

/** WeChat's answer: JSON with a text/plain content type, errmsg ending in a request id. */
function send(res: ServerResponse, status: number, body: object): void {
  const withRid = "errmsg" in body ? { ...body, errmsg: `${(body as { errmsg: string }).errmsg}, rid: ${randomUUID().slice(0, 23)}` } : body;
  res.writeHead(status, { "Content-Type": "text/plain" });
  res.end(JSON.stringify(withRid));
}

function exchange(params: URLSearchParams, req: IncomingMessage, res: ServerResponse, state: State): void {
  const appid = params.get("appid") ?? "";
  const refuse = (errcode: number, errmsg: string, openid?: string) => {
    state.calls.push({ appid, openid, errcode });
    send(res, 200, { errcode, errmsg });
  };
  const app = state.apps.get(appid);
  if (!app) return void refuse(40013, "invalid appid");
  if (params.get("secret") !== app.secret) return void refuse(40125, "invalid appsecret");
  if (params.get("grant_type") !== "authorization_code") return void refuse(40002, "invalid grant_type");
  const jsCode = params.get("js_code");
  if (!jsCode) return void refuse(41008, "missing code");
  const code = readCode(app, jsCode);
  const nowSeconds = state.now() / 1000;
  if (!code || code.expiresAt <= nowSeconds) return void refuse(40029, "invalid code");
  const fault = takeFault(state) ?? code.fault;
  if (fault) {
    state.calls.push({ appid, openid: code.openid, errcode: fault });
    return void playFault(fault, req, res);
  }
  forgetExpired(state.used, nowSeconds);
  if (state.used.has(code.id)) return void refuse(40163, "code been used", code.openid);
  state.used.set(code.id, code.expiresAt);
  if (!withinQuota(state, `${appid}/${code.openid}`)) return void refuse(45011, "api minute-quota reach limit  mustslower  retry next minute", code.openid);
  handOut(res, state, appid, code);
}

function handOut(res: ServerResponse, state: State, appid: string, code: ReadCode): void {
  const sessionKey = randomBytes(16).toString("base64");
  state.onSecret?.("session_key", sessionKey);
  state.calls.push({ appid, openid: code.openid, errcode: 0 });
  send(res, 200, { session_key: sessionKey, openid: code.openid, ...(code.unionid ? { unionid: code.unionid } : {}) });
}

function takeFault(state: State): Fault | undefined {
  const armed = state.faults[0];
  if (!armed) return undefined;
  armed.remaining -= 1;
  if (armed.remaining <= 0) state.faults.shift();
  return armed.fault;
}

function playFault(fault: Fault, req: IncomingMessage, res: ServerResponse): void {
  switch (fault) {
    case "busy":
      return void send(res, 200, { errcode: -1, errmsg: "system error" });
    case "rate-limited":
      return void send(res, 200, { errcode: 45011, errmsg: "api minute-quota reach limit  mustslower  retry next minute" });
    case "blocked":
      return void send(res, 200, { errcode: 40226, errmsg: "high risk user" });
    case "malformed":
      res.writeHead(200, { "Content-Type": "text/plain" });
      return void res.end('{"session_key":"');
    case "server-error":
      res.writeHead(502, { "Content-Type": "text/html" });
      return void res.end("<html><body><h1>502 Bad Gateway</h1></body></html>");
    case "hang":
      // Holds the connection until the client gives up or the emulator closes.
      req.resume();
      return;
  }
}

function forgetExpired(used: Map<string, number>, nowSeconds: number): void {
  for (const [id, expiresAt] of used) if (expiresAt <= nowSeconds) used.delete(id);
}

function withinQuota(state: State, user: string): boolean {
  const minute = Math.floor(state.now() / 60_000);
  const entry = state.quota.get(user);
  const count = entry?.minute === minute ? entry.count + 1 : 1;
  state.quota.set(user, { minute, count });
  return count <= PER_USER_PER_MINUTE;
}

/** `GET /dev/code?openid=o_alice[&unionid=...][&appid=...][&fail=busy]` -> `{"code": "..."}`. */
function devCode(params: URLSearchParams, res: ServerResponse, state: State): void {
  const appid = params.get("appid") ?? state.apps.keys().next().value ?? "";
  const app = state.apps.get(appid);
  const fail = params.get("fail") ?? undefined;
  if (!app) return void send(res, 400, { errcode: 40013, errmsg: "invalid appid" });
  if (fail !== undefined && !(FAULTS as readonly string[]).includes(fail))
    return void send(res, 400, { errcode: 40097, errmsg: `fail must be one of ${FAULTS.join(", ")}` });
  try {
    const code = mintCode(
      app,
      { openid: params.get("openid") ?? "", unionid: params.get("unionid") ?? undefined, fault: fail as Fault | undefined },
      state.now(),
    );
    send(res, 200, { code });
  } catch (error) {
    send(res, 400, { errcode: 40097, errmsg: (error as Error).message });
  }
}
