// Development only: a login code from npm start's WeChat emulator for a chosen openid, where
// wx.login would give one from real WeChat (docs/mini-programs.md, "Against npm start").

/** A `login` for the client helper's `wechat` option: resolves with the emulator's code. */
export function emulatorLogin({ emulator, openid }) {
  return () =>
    new Promise((resolve, reject) =>
      wx.request({
        url: `${emulator.replace(/\/$/, "")}/dev/code?openid=${encodeURIComponent(openid)}`,
        dataType: "json",
        success: (res) =>
          res.statusCode === 200 && res.data.code ? resolve(res.data.code) : reject(new Error(`the WeChat emulator answered ${res.statusCode}`)),
        fail: (res) => reject(new Error(`could not reach the WeChat emulator at ${emulator} (${res.errMsg}): is npm start running?`)),
      }),
    );
}
