// Choose a photo, upload it into the user's own folder. cos-wx-sdk-v5's uploadFile sends
// small files with PostObject (its default SimpleUploadMethod) and large ones in parts.
const COS = require("cos-wx-sdk-v5");
const config = require("../../config.js");
const { brokerAuthorization, requestCredentials } = require("../../utils/broker.js");

const loginToken = () => getApp().globalData.loginToken;

Page({
  data: { prefix: "", percent: 0, status: "", failed: false, uploading: false },

  onLoad() {
    this.brokerError = "";
    this.cos = new COS({
      getAuthorization: brokerAuthorization({
        request: wx.request,
        brokerUrl: config.brokerUrl,
        token: loginToken,
        onError: (message) => (this.brokerError = message),
      }),
    });
    // One call up front tells the page the user's folder.
    requestCredentials({ request: wx.request, brokerUrl: config.brokerUrl, token: loginToken(), profile: "upload" }).then(
      (data) => this.setData({ prefix: data.prefix }),
      (error) => this.setData({ status: error.message, failed: true }),
    );
  },

  chooseAndUpload() {
    wx.chooseMedia({
      count: 1,
      mediaType: ["image"],
      success: (res) => this.upload(res.tempFiles[0].tempFilePath),
    });
  },

  upload(filePath) {
    const name = filePath.slice(filePath.lastIndexOf("/") + 1);
    this.brokerError = "";
    this.setData({ uploading: true, percent: 0, status: "Uploading…", failed: false });
    this.cos.uploadFile(
      {
        Bucket: config.bucket,
        Region: config.region,
        Key: this.data.prefix + name,
        FilePath: filePath,
        onProgress: (info) => this.setData({ percent: Math.round(info.percent * 100) }),
      },
      (err) => {
        if (!err) return this.setData({ uploading: false, percent: 100, status: `Uploaded ${name}` });
        // COS's refusal arrives as err.error.Code (AccessDenied, ExpiredToken, ...).
        const code = err.error?.Code || err.code;
        const status =
          this.brokerError || (code === "AccessDenied" ? "Access denied: you may not write there." : `Upload failed: ${code || err.errMsg || "network error"}`);
        this.setData({ uploading: false, status, failed: true });
      },
    );
  },
});
