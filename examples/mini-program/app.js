// Your login flow (wx.login -> your auth service) stores the JWT the broker verifies here.
App({
  globalData: {
    loginToken: "",
  },
});
