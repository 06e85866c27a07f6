// Nothing to keep between pages: each credential request signs in anew with wx.login.
App({});
