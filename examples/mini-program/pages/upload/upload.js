// Sign in with wx.login, upload a photo into the user's own folder with putObject, and list
// that folder. Credentials come from cos-sts-broker through its client helper: each time the
// SDK needs one, the helper calls wx.login and the broker, which exchanges the code with WeChat.
import { cosAuthorization, errorOf, requestCredentials } from "cos-sts-broker-client";
import COS from "cos-wx-sdk-v5";
import config from "../../config.js";
import { emulatorLogin } from "../../utils/dev-login.js";

/** The broker, and how this user signs in: wx.login, or npm start's WeChat emulator. */
const broker = () => ({ url: config.brokerUrl, wechat: config.devLogin ? { login: emulatorLogin(config.devLogin) } : true });

/** A cos-wx-sdk-v5 client for one permission profile; its README strongly recommends putObject for small files. */
function clientFor(profile) {
  const getAuthorization = cosAuthorization({ ...broker(), profile });
  return { cos: new COS({ ...config.cos, SimpleUploadMethod: "putObject", getAuthorization }), getAuthorization };
}

Page({
  data: { signedIn: false, prefix: "", percent: 0, status: "", failed: false, busy: false, files: [] },

  onLoad() {
    return this.signIn();
  },

  async signIn() {
    this.setData({ status: "Signing in…", failed: false });
    try {
      // One credential tells the page the user's bucket, region and folder.
      this.session = await requestCredentials({ ...broker(), profile: "list" });
      this.uploader = clientFor("upload");
      this.lister = clientFor("list");
      this.setData({ signedIn: true, prefix: this.session.prefix, status: "" });
      await this.listFiles();
    } catch (error) {
      this.fail(error);
    }
  },

  chooseAndUpload() {
    wx.chooseMedia({ count: 1, mediaType: ["image"], success: (res) => this.upload(res.tempFiles[0].tempFilePath) });
  },

  /** Uploads into the user's folder; `key` is for trying somewhere else (COS refuses it). */
  async upload(filePath, key = this.data.prefix + filePath.slice(filePath.lastIndexOf("/") + 1)) {
    this.setData({ busy: true, percent: 0, status: `Uploading ${key}…`, failed: false });
    const params = { Bucket: this.session.bucket, Region: this.session.region, Key: key, FilePath: filePath };
    const progress = (info) => this.setData({ percent: Math.round(info.percent * 100) });
    try {
      await this.call(this.uploader, "uploadFile", { ...params, onProgress: progress });
      this.setData({ busy: false, percent: 100, status: `Uploaded ${key}` });
      await this.listFiles();
    } catch (error) {
      this.setData({ busy: false, percent: 0 });
      this.fail(error);
    }
  },

  refresh() {
    return this.listFiles();
  },

  /** The user's files, with the list profile; `prefix` is for trying another folder. */
  async listFiles(prefix = this.data.prefix) {
    try {
      const data = await this.call(this.lister, "getBucket", { Bucket: this.session.bucket, Region: this.session.region, Prefix: prefix });
      const files = (data.Contents || []).map((item) => ({ name: item.Key.slice(prefix.length), size: Number(item.Size) }));
      this.setData({ files });
    } catch (error) {
      this.fail(error);
    }
  },

  /** One SDK call as a promise; a failure keeps the broker's or COS's code and message. */
  call({ cos, getAuthorization }, method, params) {
    return new Promise((resolve, reject) => cos[method](params, (err, data) => (err ? reject(errorOf(err, getAuthorization)) : resolve(data))));
  },

  fail(error) {
    this.setData({ status: describe(error), failed: true });
  },
});

/** A failure in words a user can act on. */
function describe({ status, code, message }) {
  if (code === "NetworkError") return `${message}. Is the host among the request legal domains?`;
  if (code === "LoginFailed") return `WeChat login failed: ${message}`;
  if (status === 401) return `Sign-in was not accepted (${code}): ${message}`;
  if (code === "IdentityNotAllowed") return `This WeChat account may not use the storage: ${message}`;
  if (status === 429 || status === 503) return "The service is busy. Try again in a moment.";
  if (code === "AccessDenied") return "Access denied: you may not use that folder.";
  return `${code || "Error"}: ${message}`;
}
