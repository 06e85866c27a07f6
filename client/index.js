// @ts-check
/**
 * cos-sts-broker's client, for mini-programs (cos-wx-sdk-v5) and web pages (cos-js-sdk-v5):
 * the SDKs' `getAuthorization` backed by the broker, signing in with a login token or with
 * wx.login, and the broker's refusals as errors that keep its code and message. No
 * dependencies: wx.request in a mini-program, fetch anywhere else. The request and the
 * answer are the broker's contract (docs/contract.md); the wiring is Tencent's
 * (https://cloud.tencent.com/document/product/436/11459, "getAuthorization").
 */

/**
 * @typedef {object} BrokerOptions
 * @property {string} url The broker's URL, e.g. its Function URL.
 * @property {() => string | Promise<string>} [token] Signs in with a login token (a JWT from your own sign-in), fetched anew for each request.
 * @property {boolean | { login: () => Promise<string> }} [wechat] Signs in with wx.login (`true`), or with codes from `login` (a stand-in for wx.login).
 * @property {string} [profile] The permission profile, default "upload".
 */

/**
 * @typedef {object} ScopeItem What the SDKs pass to getAuthorization as `options.Scope` with ScopeLimit.
 * @property {string} action
 * @property {string} bucket
 * @property {string} region
 * @property {string} prefix
 */

/**
 * @typedef {BrokerOptions & { key?: string, scope?: ScopeItem[], filename?: string }} CredentialRequest
 * At most one of `key` (relative to the user's prefix), `scope` and `filename` narrows the grant.
 */

/**
 * @typedef {object} Credentials The broker's 200 answer.
 * @property {{ tmpSecretId: string, tmpSecretKey: string, sessionToken: string }} credentials
 * @property {number} startTime The broker's clock, Unix seconds.
 * @property {number} expiredTime Unix seconds.
 * @property {string} expiration
 * @property {string} requestId
 * @property {string} bucket
 * @property {string} region
 * @property {string} prefix Where this user's objects go, ending in "/".
 * @property {string} profile
 * @property {string[]} allowActions
 * @property {string} [key] The object key, when the broker chose it.
 */

/**
 * @typedef {object} AuthorizationOptions
 * @property {boolean} [scopeLimit] Ask for a credential per request, covering exactly what the SDK names (ScopeLimit).
 * @property {(error: BrokerError) => void} [onError] Told each refusal; the SDK itself only learns "no credentials".
 */

/**
 * @typedef {object} SdkCredentials What the SDKs' getAuthorization callback takes.
 * @property {string} TmpSecretId
 * @property {string} TmpSecretKey
 * @property {string} SecurityToken
 * @property {number} StartTime
 * @property {number} ExpiredTime
 * @property {boolean} ScopeLimit
 */

/**
 * @typedef {((options: { Scope?: ScopeItem[] }, callback: (credentials: SdkCredentials) => void) => void) & { lastError?: BrokerError }} GetAuthorization
 * The function `new COS({ getAuthorization })` takes; `lastError` is the broker's last refusal, cleared by a success.
 */

/**
 * @typedef {object} WxApi The part of the mini-program runtime used here.
 * @property {(options: { success(result: { code?: string, errMsg?: string }): void, fail(result: { errMsg?: string }): void }) => void} login
 * @property {(options: { url: string, method: string, header: Record<string, string>, data: unknown, dataType: string,
 *   success(result: { statusCode: number, data: unknown, header?: Record<string, string> }): void, fail(result: { errMsg?: string }): void }) => void} request
 */

/** A refusal or failure on the way to credentials: the broker's `code` and `message`, or the client's own when it got no answer. */
export class BrokerError extends Error {
  /**
   * @param {number} status HTTP status; 0 when the broker was not reached.
   * @param {string} code The broker's error code (InvalidToken, ScopeNotAllowed, ...), or NetworkError, LoginFailed, BadResponse.
   * @param {string} message
   * @param {{ requestId?: string, retryAfter?: number }} [details]
   */
  constructor(status, code, message, details = {}) {
    super(message);
    this.name = "BrokerError";
    this.status = status;
    this.code = code;
    this.requestId = details.requestId;
    /** Seconds to wait before trying again (429, 503). */
    this.retryAfter = details.retryAfter;
  }
}

/**
 * Asks the broker for credentials once: how a page learns the user's bucket, region and prefix.
 * @param {CredentialRequest} request
 * @returns {Promise<Credentials>}
 */
export async function requestCredentials(request) {
  const { url, profile = "upload", key, scope, filename } = request;
  const authorization = await authorizationHeader(request);
  const body = { profile, ...(key === undefined ? {} : { key }), ...(scope === undefined ? {} : { scope }), ...(filename === undefined ? {} : { filename }) };
  const answer = await post(url, { Authorization: authorization, "Content-Type": "application/json" }, body);
  const data = /** @type {{ error?: { code?: unknown, message?: unknown }, requestId?: unknown } | null} */ (answer.data);
  if (answer.status === 200 && isCredentials(data)) return data;
  const error = data !== null && typeof data === "object" ? data.error : undefined;
  if (typeof error?.code !== "string")
    throw new BrokerError(answer.status, "BadResponse", `the broker answered HTTP ${answer.status} without a credential or an error`);
  const retryAfter = answer.retryAfter === undefined ? Number.NaN : Number(answer.retryAfter);
  throw new BrokerError(answer.status, error.code, String(error.message ?? error.code), {
    requestId: typeof data?.requestId === "string" ? data.requestId : undefined,
    retryAfter: Number.isFinite(retryAfter) ? retryAfter : undefined,
  });
}

/**
 * The `getAuthorization` option of `new COS({...})` (cos-js-sdk-v5 and cos-wx-sdk-v5): each time the
 * SDK needs a credential it asks the broker, with the SDK's Scope when `scopeLimit` is on.
 * @param {BrokerOptions & AuthorizationOptions} options
 * @returns {GetAuthorization}
 */
export function cosAuthorization(options) {
  const { scopeLimit = false, onError } = options;
  checkSignIn(options);
  /** @type {GetAuthorization} */
  const getAuthorization = (sdkOptions, callback) => {
    requestCredentials({ ...options, ...(scopeLimit ? { scope: sdkOptions.Scope } : {}) }).then(
      (data) => {
        getAuthorization.lastError = undefined;
        callback({
          TmpSecretId: data.credentials.tmpSecretId,
          TmpSecretKey: data.credentials.tmpSecretKey,
          SecurityToken: data.credentials.sessionToken,
          StartTime: data.startTime,
          ExpiredTime: data.expiredTime,
          ScopeLimit: scopeLimit,
        });
      },
      (/** @type {unknown} */ caught) => {
        const error = caught instanceof BrokerError ? caught : new BrokerError(0, "ClientError", String(caught));
        getAuthorization.lastError = error;
        onError?.(error);
        // No credentials: the SDK fails the call with 'getAuthorization callback params missing "TmpSecretId"', and errorOf says why.
        callback(/** @type {SdkCredentials} */ ({}));
      },
    );
  };
  return getAuthorization;
}

/**
 * One shape for any failure of an SDK call: the broker's refusal (when `getAuthorization` got
 * none), or COS's answer (`AccessDenied`, ...), with a status and a message.
 * @param {unknown} error What the SDK's callback (or a rejected promise) gave.
 * @param {GetAuthorization} [getAuthorization] The function the COS client was made with.
 * @returns {BrokerError | { status: number, code: string, message: string }}
 */
export function errorOf(error, getAuthorization) {
  if (error instanceof BrokerError) return error;
  const sdk = /** @type {{ statusCode?: number, code?: string, message?: string, error?: { Code?: string, Message?: string } | string }} */ (error ?? {});
  if (getAuthorization?.lastError && /getAuthorization/.test(sdk.message ?? "")) return getAuthorization.lastError;
  const cos = typeof sdk.error === "object" && sdk.error !== null ? sdk.error : {};
  const code = cos.Code ?? (sdk.statusCode ? sdk.code : undefined) ?? "NetworkError";
  return { status: sdk.statusCode ?? 0, code, message: cos.Message ?? sdk.message ?? (typeof sdk.error === "string" ? sdk.error : code) };
}

/**
 * Refuses options that name no way, or two ways, to sign in: a mistake in the code, not a refusal.
 * @param {BrokerOptions} options
 */
function checkSignIn({ url, token, wechat }) {
  if (typeof url !== "string" || !url) throw new TypeError("cos-sts-broker-client: give the broker's url");
  if (Boolean(token) === Boolean(wechat)) throw new TypeError("cos-sts-broker-client: give one of token (a getter for your login token) and wechat");
}

/**
 * @param {BrokerOptions} options
 * @returns {Promise<string>}
 */
async function authorizationHeader(options) {
  checkSignIn(options);
  const { token, wechat } = options;
  if (token) {
    const value = await Promise.resolve()
      .then(token)
      .catch((/** @type {unknown} */ caught) => {
        throw new BrokerError(0, "LoginFailed", `could not get the login token: ${caught instanceof Error ? caught.message : String(caught)}`);
      });
    if (!value) throw new BrokerError(0, "LoginFailed", "there is no login token: sign in first");
    return `Bearer ${value}`;
  }
  const code = await (typeof wechat === "object" ? wechat.login() : wxLogin());
  return `WeChat ${code}`;
}

/** @returns {WxApi | undefined} The mini-program runtime, when running in one. */
function miniProgram() {
  // @ts-expect-error `wx` is the mini-program runtime's global; a browser has none.
  return typeof wx === "undefined" ? undefined : wx;
}

/** wx.login's one-time code (https://developers.weixin.qq.com/miniprogram/dev/api/open-api/login/wx.login.html). */
function wxLogin() {
  const wx = miniProgram();
  if (!wx) return Promise.reject(new BrokerError(0, "LoginFailed", "wechat: true needs the mini-program runtime (wx.login)"));
  return /** @type {Promise<string>} */ (
    new Promise((resolve, reject) => {
      const fail = (/** @type {string | undefined} */ why) => reject(new BrokerError(0, "LoginFailed", `wx.login failed: ${why ?? "no code"}`));
      wx.login({ success: (result) => (result.code ? resolve(result.code) : fail(result.errMsg)), fail: (result) => fail(result.errMsg) });
    })
  );
}

/**
 * POSTs JSON; the answer's status, parsed body (null when not JSON) and Retry-After.
 * @param {string} url
 * @param {Record<string, string>} header
 * @param {object} body
 * @returns {Promise<{ status: number, data: unknown, retryAfter?: string }>}
 */
function post(url, header, body) {
  const wx = miniProgram();
  const unreachable = (/** @type {string} */ why) => new BrokerError(0, "NetworkError", `could not reach the broker at ${url}: ${why}`);
  if (wx) {
    return new Promise((resolve, reject) =>
      wx.request({
        url,
        method: "POST",
        header,
        data: body,
        dataType: "json",
        success: (result) =>
          resolve({
            status: result.statusCode,
            data: typeof result.data === "object" ? result.data : null,
            retryAfter: headerOf(result.header, "retry-after"),
          }),
        // In a mini-program, a host missing from the request legal domains fails here too.
        fail: (result) => reject(unreachable(result.errMsg ?? "request failed")),
      }),
    );
  }
  return fetch(url, { method: "POST", headers: header, body: JSON.stringify(body) }).then(
    async (response) => ({
      status: response.status,
      data: await response.json().catch(() => null),
      retryAfter: response.headers.get("Retry-After") ?? undefined,
    }),
    (/** @type {unknown} */ caught) => {
      throw unreachable(caught instanceof Error ? caught.message : String(caught));
    },
  );
}

/**
 * wx.request keeps the header names as the server sent them.
 * @param {Record<string, string> | undefined} headers
 * @param {string} name lower-case
 */
function headerOf(headers, name) {
  const found = Object.entries(headers ?? {}).find(([key]) => key.toLowerCase() === name);
  return found?.[1];
}

/**
 * @param {unknown} data
 * @returns {data is Credentials}
 */
function isCredentials(data) {
  const credentials = /** @type {{ credentials?: { tmpSecretId?: unknown } } | null} */ (data)?.credentials;
  return typeof credentials?.tmpSecretId === "string";
}
