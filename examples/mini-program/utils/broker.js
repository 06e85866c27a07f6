// cos-wx-sdk-v5's getAuthorization backed by cos-sts-broker: the same request and the same
// response as the static site uses (docs/contract.md, "The request"), through wx.request.
// `request` is wx.request, passed in so this file has no hidden dependency on the runtime.

/** The broker's refusal in words a user can act on. */
function describeBrokerError(statusCode, data) {
  const error = data?.error || {};
  if (statusCode === 401) return "Your login has expired or was not accepted. Sign in again.";
  if (error.code === "ScopeNotAllowed") return `Not allowed: ${error.message}`;
  if (statusCode === 429 || statusCode === 503) return "The service is busy. Try again in a moment.";
  return `The credential service answered ${statusCode} ${error.code || ""}${error.message ? `: ${error.message}` : ""}`;
}

/** POST {profile, scope} with the login token; resolves with the broker's JSON. */
function requestCredentials({ request, brokerUrl, token, profile, scope }) {
  return new Promise((resolve, reject) => {
    request({
      url: brokerUrl,
      method: "POST",
      header: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      data: scope ? { profile, scope } : { profile },
      dataType: "json",
      success(res) {
        if (res.statusCode === 200 && res.data && res.data.credentials) resolve(res.data);
        else reject(new Error(describeBrokerError(res.statusCode, res.data)));
      },
      fail(res) {
        reject(new Error(`Could not reach the credential service (${res?.errMsg}). Is its domain in the request legal domains?`));
      },
    });
  });
}

/**
 * The getAuthorization option of `new COS({...})`, as Tencent's mini-program guide wires it
 * (https://cloud.tencent.com/document/product/436/31953): StartTime is the broker's clock,
 * ExpiredTime comes from STS, and with ScopeLimit the SDK's options.Scope is sent along.
 * onError receives the broker's reason, since the SDK itself only learns "no credentials".
 */
function brokerAuthorization({ request, brokerUrl, token, profile = "upload", scopeLimit = false, onError = () => {} }) {
  return function getAuthorization(options, callback) {
    requestCredentials({ request, brokerUrl, token: token(), profile, scope: scopeLimit ? options.Scope : undefined }).then(
      (data) =>
        callback({
          TmpSecretId: data.credentials.tmpSecretId,
          TmpSecretKey: data.credentials.tmpSecretKey,
          SecurityToken: data.credentials.sessionToken,
          StartTime: data.startTime,
          ExpiredTime: data.expiredTime,
          ScopeLimit: scopeLimit,
        }),
      (error) => {
        onError(error.message);
        callback({});
      },
    );
  };
}

module.exports = { brokerAuthorization, describeBrokerError, requestCredentials };
