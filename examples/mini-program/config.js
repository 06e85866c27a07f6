// Where the broker is, and for local development where npm start's COS server and WeChat
// emulator are (npm start prints these three). For a real deployment keep only brokerUrl, set
// to the broker's HTTPS URL, and list its host among the request legal domains (README.md).
export default {
  brokerUrl: "http://127.0.0.1:9000/",
  // npm start's loopback COS server; delete for a real bucket.
  cos: { Domain: "{Bucket}.cos.{Region}.localhost:9002", Protocol: "http:" },
  // npm start's WeChat emulator stands in for wx.login (the real one's codes only real WeChat
  // can exchange); delete to sign in with wx.login against a broker that has your app secret.
  devLogin: { emulator: "http://127.0.0.1:9003", openid: "o_alice" },
};
