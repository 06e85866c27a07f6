/**
 * Just enough of the WeChat mini-program runtime for cos-wx-sdk-v5 and the example's page to
 * run in Node: the globals they expect (`wx`, `window`, `Page`, `App`, `getApp`), wx.login,
 * wx.request and wx.uploadFile over node:http, wx.chooseMedia, and the file system calls the
 * SDK uses. It plays the phone's network too: hosts ending in `.myqcloud.com` are sent to the
 * loopback COS server, and `*.localhost` to 127.0.0.1 (as browsers resolve it), with their Host
 * header unchanged. This stands in for the platform, not the SDK or the page: their own code
 * builds and signs every request.
 */
import { readFileSync, statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { basename } from "node:path";

interface Callbacks {
  success?(result: unknown): void;
  fail?(result: { errMsg: string }): void;
}

type Send = (
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
) => Promise<{ statusCode: number; header: Record<string, string>; body: Buffer }>;

export interface WxOptions {
  /** where `*.myqcloud.com` goes */
  readonly cos?: { readonly hostname: string; readonly port: number };
}

/** What the test decides on the phone's behalf. */
export interface WxControl {
  /** What wx.login gives (WeChat's code for the user on this phone); a throw is wx.login's fail. */
  login: () => string | Promise<string>;
  /** The file wx.chooseMedia picks. */
  chosen?: string;
}

export function installWx(given: WxOptions | NonNullable<WxOptions["cos"]> = {}): WxControl {
  // The COS server's address alone is what this took before it learned wx.login.
  const options: WxOptions = "hostname" in given ? { cos: given } : given;
  const control: WxControl = {
    login: () => {
      throw new Error("no user is signed in to WeChat on this phone");
    },
  };
  const send: Send = (url, method, headers, body) => {
    const target = new URL(url);
    const viaCos = options.cos && target.hostname.endsWith(".myqcloud.com");
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: viaCos ? options.cos!.hostname : target.hostname.endsWith(".localhost") ? "127.0.0.1" : target.hostname,
          port: viaCos ? options.cos!.port : target.port,
          method,
          path: `${target.pathname}${target.search}`,
          headers: { host: target.host, ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => resolve({ statusCode: res.statusCode ?? 0, header: res.headers as Record<string, string>, body: Buffer.concat(chunks) }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  };
  const storage = new Map<string, unknown>();
  const wx = {
    canIUse: () => false,
    getStorageSync: (key: string) => storage.get(key),
    setStorageSync: (key: string, value: unknown) => void storage.set(key, value),
    removeStorageSync: (key: string) => void storage.delete(key),
    getNetworkType: (options: Callbacks) => options.success?.({ networkType: "wifi" }),
    login(options: Callbacks) {
      Promise.resolve()
        .then(() => control.login())
        .then(
          (code) => options.success?.({ code, errMsg: "login:ok" }),
          (error: Error) => options.fail?.({ errMsg: `login:fail ${error.message}` }),
        );
    },
    chooseMedia(options: Callbacks) {
      if (control.chosen) options.success?.({ tempFiles: [{ tempFilePath: control.chosen, fileType: "image" }] });
      else options.fail?.({ errMsg: "chooseMedia:fail cancel" });
    },
    getFileSystemManager: () => ({
      stat: (options: Callbacks & { path: string }) => options.success?.({ stats: statSync(options.path) }),
      readFile: (options: Callbacks & { filePath: string; position?: number; length?: number }) => {
        const data = readFileSync(options.filePath);
        const start = options.position ?? 0;
        // Without an encoding, the runtime hands over an ArrayBuffer.
        const part = data.subarray(start, options.length === undefined ? undefined : start + options.length);
        options.success?.({ data: part.buffer.slice(part.byteOffset, part.byteOffset + part.byteLength) });
      },
    }),
    /** wx.request: an object `data` is sent as JSON; the answer's `data` is parsed when dataType is json. */
    request(options: Callbacks & { url: string; method?: string; header?: Record<string, string>; data?: unknown; dataType?: string }) {
      const body =
        options.data === undefined
          ? undefined
          : typeof options.data === "string"
            ? Buffer.from(options.data)
            : options.data instanceof ArrayBuffer || ArrayBuffer.isView(options.data)
              ? Buffer.from(options.data as ArrayBuffer)
              : Buffer.from(JSON.stringify(options.data));
      send(options.url, options.method ?? "GET", options.header ?? {}, body).then(
        (res) => {
          const text = res.body.toString("utf8");
          let data: unknown = text;
          if (options.dataType === "json") {
            try {
              data = JSON.parse(text);
            } catch {
              // wx.request leaves unparsable text as is
            }
          }
          options.success?.({ statusCode: res.statusCode, header: res.header, data });
        },
        (error: Error) => options.fail?.({ errMsg: `request:fail ${error.message}` }),
      );
      return { abort() {} };
    },
    /** wx.uploadFile: a multipart/form-data POST of formData and the file under `name`. */
    uploadFile(options: Callbacks & { url: string; filePath: string; name: string; header?: Record<string, string>; formData?: Record<string, unknown> }) {
      let progress: ((info: { progress: number; totalBytesSent: number; totalBytesExpectedToSend: number }) => void) | undefined;
      const form = new FormData();
      for (const [name, value] of Object.entries(options.formData ?? {})) form.append(name, String(value));
      const file = readFileSync(options.filePath);
      form.append(options.name, new Blob([new Uint8Array(file)]), basename(options.filePath));
      const encoded = new Request("http://form.invalid/", { method: "POST", body: form });
      encoded
        .arrayBuffer()
        .then((body) => send(options.url, "POST", { ...options.header, "content-type": encoded.headers.get("content-type")! }, Buffer.from(body)))
        .then(
          (res) => {
            progress?.({ progress: 100, totalBytesSent: file.length, totalBytesExpectedToSend: file.length });
            options.success?.({ statusCode: res.statusCode, header: res.header, data: res.body.toString("utf8") });
          },
          (error: Error) => options.fail?.({ errMsg: `uploadFile:fail ${error.message}` }),
        );
      return {
        onProgressUpdate: (listener: typeof progress) => {
          progress = listener;
        },
        abort() {},
      };
    },
  };
  Object.assign(globalThis, { wx, window: globalThis, App: () => undefined, getApp: () => ({}) });
  return control;
}

type PageDefinition = { data: Record<string, unknown> } & Record<string, unknown>;
export type PageInstance = { data: Record<string, any>; setData(patch: Record<string, unknown>): void } & Record<string, any>;

/**
 * A page of the example, as the runtime would run it: its module calls `Page(definition)`
 * once; each `open()` is a fresh instance with its own data, `setData` merging into it.
 */
export async function loadPage(path: string): Promise<{ open(): PageInstance }> {
  let definition: PageDefinition | undefined;
  (globalThis as Record<string, unknown>).Page = (given: PageDefinition) => {
    definition = given;
  };
  await import(path);
  if (!definition) throw new Error(`${path} did not call Page()`);
  const defined = definition;
  return {
    open: () => {
      const page = { ...defined, data: structuredClone(defined.data) } as PageInstance;
      page.setData = (patch) => Object.assign(page.data, patch);
      return page;
    },
  };
}
