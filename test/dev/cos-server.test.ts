/**
 * The loopback COS server on its own: signatures as COS checks them, hostile requests,
 * condition keys, CORS, and XML errors. Requests are signed with the SDK's own signer
 * (COS.getAuthorization) and sent byte for byte with node:http.
 */
import { createHash, createHmac } from "node:crypto";
import { request as httpsRequest } from "node:https";
import COS from "cos-nodejs-sdk-v5";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CosServer, credentialsFrom, startCosServer } from "../../dev/cos-server/index.ts";
import { loadConfig } from "../../lib/broker/config.ts";
import type { CamPolicy } from "../../lib/cam/policy.ts";
import { encodePolicy } from "../../lib/grant/policy.ts";
import { createStsClient, type IssuedCredentials } from "../../lib/sts/client.ts";
import { nodeTransport } from "../../lib/sts/node-transport.ts";
import { AT, BUCKET, type CosStack, errorCode, HOST, type RawResponse, REGION, rawRequest, startCosStack } from "../support/cos.ts";

let stack: CosStack;
let root: { secretId: string; secretKey: string };
const RESOURCE = `qcs::cos:${REGION}:uid/1250000000:${BUCKET}`;

beforeAll(async () => {
  stack = await startCosStack({ cos: { buckets: [BUCKET, "otheraccount-1300000000"], corsOrigins: ["http://127.0.0.1:8080"], maxBodyBytes: 256 * 1024 } });
  root = stack.emulator.keys[0]!;
  stack.cos.storage.put(BUCKET, "users/alice/a.txt", Buffer.from("alice's"));
});
afterAll(() => stack?.close());

/** Credentials from the emulator for any session policy, through the broker's STS client. */
async function issue(policy: CamPolicy): Promise<IssuedCredentials> {
  const config = loadConfig({
    COS_BUCKET: BUCKET,
    COS_REGION: REGION,
    JWT_SECRET: "x".repeat(32),
    STS_ENDPOINT: stack.emulator.url,
    STS_SECRET_ID: root.secretId,
    STS_SECRET_KEY: root.secretKey,
  });
  return createStsClient(config.sts, {}, { transport: nodeTransport() }).requestCredentials({
    encodedPolicy: encodePolicy(policy),
    subjectHash: "test",
    durationSeconds: 900,
    budgetMs: 3000,
  });
}

interface Signed {
  method?: string;
  key: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Buffer;
  secretId?: string;
  secretKey?: string;
  token?: string;
  keyTime?: string;
  /** what reaches the wire instead of what was signed */
  sendPath?: string;
  sendHeaders?: Record<string, string>;
}

/** Signs with the SDK's signer, then sends; sendPath/sendHeaders tamper after signing. */
function signed(options: Signed, cos: CosServer = stack.cos): Promise<RawResponse> {
  const headers = { host: HOST, ...options.headers };
  const authorization = COS.getAuthorization({
    SecretId: options.secretId ?? root.secretId,
    SecretKey: options.secretKey ?? root.secretKey,
    Method: (options.method ?? "GET") as COS.Method,
    Key: options.key,
    Query: options.query ?? {},
    Headers: headers,
    ...(options.keyTime ? { KeyTime: options.keyTime } : {}),
  });
  const search = new URLSearchParams(options.query ?? {}).toString().replace(/\+/g, "%20");
  const path = options.sendPath ?? `/${COS_ENCODE(options.key)}${search ? `?${search}` : ""}`;
  return rawRequest(cos, {
    method: options.method ?? "GET",
    path,
    headers: { ...headers, authorization, ...(options.token ? { "x-cos-security-token": options.token } : {}), ...options.sendHeaders },
    body: options.body,
  });
}

const COS_ENCODE = (key: string) =>
  encodeURIComponent(key)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, "/");
const now = () => Math.floor(Date.now() / 1000);

describe("request signatures", () => {
  it("accepts a request signed as the SDK signs it, and answers with COS headers", async () => {
    const response = await signed({ key: "users/alice/a.txt" });
    expect(response.status).toBe(200);
    expect(response.body).toBe("alice's");
    expect(response.headers["x-cos-request-id"]).toBeTruthy();
    expect(response.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
  });

  it("answers an unsigned request AccessDenied, as COS-shaped XML", async () => {
    const response = await rawRequest(stack.cos, { path: "/users/alice/a.txt" });
    expect(response.status).toBe(403);
    expect(response.headers["content-type"]).toBe("application/xml");
    expect(response.body).toMatch(
      /<Error><Code>AccessDenied<\/Code><Message>Access Denied\.<\/Message><Resource>[^<]+<\/Resource><RequestId>[^<]+<\/RequestId>/,
    );
  });

  it("refuses an unknown key id, a wrong secret, and every tampered part", async () => {
    const cases: [Signed, string][] = [
      [{ key: "users/alice/a.txt", secretId: "AKIDunknownunknownunknownunknown0000" }, "InvalidAccessKeyId"],
      [{ key: "users/alice/a.txt", secretKey: "not-the-secret" }, "SignatureDoesNotMatch"],
      [{ key: "users/alice/a.txt", sendPath: "/users/alice/b.txt" }, "SignatureDoesNotMatch"],
      [
        {
          key: "users/alice/a.txt",
          method: "GET",
          query: { "response-content-type": "text/plain" },
          sendPath: "/users/alice/a.txt?response-content-type=text/html",
        },
        "SignatureDoesNotMatch",
      ],
      [{ key: "users/alice/a.txt", headers: { "x-cos-meta-a": "1" }, sendHeaders: { "x-cos-meta-a": "2" } }, "SignatureDoesNotMatch"],
      [{ key: "users/alice/a.txt", sendHeaders: { host: `otheraccount-1300000000.cos.${REGION}.myqcloud.com` } }, "SignatureDoesNotMatch"],
    ];
    for (const [options, code] of cases) {
      const response = await signed(options);
      expect({ code: errorCode(response.body), status: response.status }).toEqual({ code, status: 403 });
    }
  });

  it("refuses a signature outside its time window, as COS words it", async () => {
    const past = await signed({ key: "users/alice/a.txt", keyTime: `${now() - 1000};${now() - 10}` });
    expect([past.status, errorCode(past.body)]).toEqual([403, "AccessDenied"]);
    expect(past.body).toContain("<Message>Request has expired</Message>");
    const future = await signed({ key: "users/alice/a.txt", keyTime: `${now() + 600};${now() + 1200}` });
    expect([future.status, errorCode(future.body)]).toEqual([403, "RequestTimeTooSkewed"]);
  });

  it("binds the token to its key and refuses it after it expires", async () => {
    const policy: CamPolicy = { version: "2.0", statement: [{ effect: "allow", action: ["name/cos:GetObject"], resource: [`${RESOURCE}/users/alice/*`] }] };
    const [mine, other] = await Promise.all([issue(policy), issue(policy)]);
    const as = (token?: string) => signed({ key: "users/alice/a.txt", secretId: mine.tmpSecretId, secretKey: mine.tmpSecretKey, token });
    expect((await as(mine.sessionToken)).status).toBe(200);
    for (const token of [undefined, other.sessionToken, `${mine.sessionToken}x`]) {
      const response = await as(token);
      expect([response.status, errorCode(response.body)]).toEqual([400, "InvalidToken"]);
    }
    stack.advance(901);
    try {
      const response = await signed({
        key: "users/alice/a.txt",
        secretId: mine.tmpSecretId,
        secretKey: mine.tmpSecretKey,
        token: mine.sessionToken,
        keyTime: `${now()};${now() + 2000}`,
      });
      expect([response.status, errorCode(response.body)]).toEqual([400, "ExpiredToken"]);
    } finally {
      stack.advance(-901);
    }
  });

  it("verifies presigned URLs (query-string signatures)", async () => {
    const url = new URL(stack.root().getObjectUrl({ ...AT, Key: "users/alice/a.txt", Sign: true }, () => undefined));
    const ok = await rawRequest(stack.cos, { path: `${url.pathname}${url.search}` });
    expect([ok.status, ok.body]).toEqual([200, "alice's"]);
    const tampered = await rawRequest(stack.cos, { path: `/users/alice/b.txt${url.search}` });
    expect(errorCode(tampered.body)).toBe("SignatureDoesNotMatch");
  });

  it("takes path-style requests: the bucket in the path, and in what is signed", async () => {
    const response = await signed({ key: `${BUCKET}/users/alice/a.txt`, headers: { host: new URL(stack.cos.url).host } });
    expect([response.status, response.body]).toEqual([200, "alice's"]);
  });

  it("property: any key, parameter and header value signed by the SDK verifies, and any change to one fails", async () => {
    const text = fc
      .string({ unit: "binary", minLength: 1, maxLength: 24 })
      .filter((s) => !/[\p{Cc}\uD800-\uDFFF]/u.test(s) && s.split("/").every((seg) => seg !== "." && seg !== ".."));
    const headerValue = fc.string({ unit: fc.constantFrom(..."abcXYZ019 -_.~!*'()/:;=,"), minLength: 1, maxLength: 20 }).filter((s) => s.trim() === s);
    await fc.assert(
      fc.asyncProperty(text, text, headerValue, fc.constantFrom("key", "param", "header"), async (name, paramValue, meta, part) => {
        const key = `users/alice/${name}`;
        const base: Signed = { method: "HEAD", key, query: { "response-cache-control": paramValue }, headers: { "x-cos-meta-p": meta } };
        // HEAD of a key that does not exist: 404 once the signature verified, 403 if not.
        expect((await signed(base)).status).toBe(404);
        const changed: Signed =
          part === "key"
            ? { ...base, sendPath: `/${COS_ENCODE(`${key}x`)}?response-cache-control=${encodeURIComponent(paramValue)}` }
            : part === "param"
              ? { ...base, sendPath: `/${COS_ENCODE(key)}?response-cache-control=${encodeURIComponent(`${paramValue}x`)}` }
              : { ...base, sendHeaders: { "x-cos-meta-p": `${meta}x` } };
        expect((await signed(changed)).status).toBe(403);
      }),
      { numRuns: 40 },
    );
  });

  it("property: no Authorization header, however hostile, gets anything but a 4xx COS error", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 300 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
        async (authorization) => {
          const response = await rawRequest(stack.cos, { path: "/users/alice/a.txt", headers: { authorization: authorization || "x" } });
          expect(response.status).toBeGreaterThanOrEqual(400);
          expect(response.status).toBeLessThan(500);
          expect(errorCode(response.body)).toBeTruthy();
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("session policies, with the request's condition keys", () => {
  const allow = (actions: string[], resource: string, condition?: CamPolicy["statement"][number]["condition"]): CamPolicy => ({
    version: "2.0",
    statement: [{ effect: "allow", action: actions.map((action) => `name/cos:${action}`), resource: [resource], ...(condition ? { condition } : {}) }],
  });
  const as = (credentials: IssuedCredentials) => ({ secretId: credentials.tmpSecretId, secretKey: credentials.tmpSecretKey, token: credentials.sessionToken });

  it("limits GetBucket by cos:prefix, and evaluates it on the bucket resource", async () => {
    const credentials = as(await issue(allow(["GetBucket"], `${RESOURCE}/`, { string_equal: { "cos:prefix": "users/alice/" } })));
    const own = await signed({ key: "", query: { prefix: "users/alice/" }, ...credentials });
    expect(own.status).toBe(200);
    expect(own.body).toContain("<Key>users/alice/a.txt</Key>");
    for (const query of [{}, { prefix: "users/" }, { prefix: "users/bob/" }] as Record<string, string>[]) {
      expect(errorCode((await signed({ key: "", query, ...credentials })).body)).toBe("AccessDenied");
    }
    const call = stack.cos.calls.at(-1)!;
    expect(call.decision).toMatchObject({ action: "name/cos:GetBucket", resource: `${RESOURCE}/`, allowed: false });
  });

  it("checks ListMultipartUploads against the prefix it asks for", async () => {
    const credentials = as(await issue(allow(["ListMultipartUploads"], `${RESOURCE}/users/alice/*`)));
    expect((await signed({ key: "", query: { uploads: "", prefix: "users/alice/big.bin" }, ...credentials })).status).toBe(200);
    expect(errorCode((await signed({ key: "", query: { uploads: "", prefix: "users/bob/" }, ...credentials })).body)).toBe("AccessDenied");
  });

  it("passes content-length, content-type, x-cos-acl and the source IP as condition keys", async () => {
    const credentials = as(
      await issue(
        allow(["PutObject"], `${RESOURCE}/users/alice/*`, {
          numeric_less_than_equal: { "cos:content-length": 10 },
          string_like: { "cos:content-type": "image/*" },
          string_not_equal_if_exist: { "cos:x-cos-acl": "public-read" },
          ip_equal: { "qcs:ip": "127.0.0.0/8" },
        }),
      ),
    );
    const put = (body: string, headers: Record<string, string>) =>
      signed({ method: "PUT", key: "users/alice/p.png", body, headers: { "content-type": "image/png", ...headers }, ...credentials });
    expect((await put("small", {})).status).toBe(200);
    expect(errorCode((await put("far too large for it", {})).body)).toBe("AccessDenied");
    expect(errorCode((await put("small", { "content-type": "text/html" })).body)).toBe("AccessDenied");
    expect(errorCode((await put("small", { "x-cos-acl": "public-read" })).body)).toBe("AccessDenied");
    expect(stack.cos.calls.at(-1)!.decision?.context).toMatchObject({ "qcs:ip": "127.0.0.1", "cos:secure-transport": false, "cos:x-cos-acl": "public-read" });
  });

  it("reports cos:secure-transport true only over TLS", async () => {
    const credentials = as(await issue(allow(["GetObject"], `${RESOURCE}/users/alice/*`, { bool_equal: { "cos:secure-transport": "true" } })));
    expect(errorCode((await signed({ key: "users/alice/a.txt", ...credentials })).body)).toBe("AccessDenied");
    const tls = await startCosServer({ credentials: credentialsFrom(stack.emulator), region: REGION, buckets: [BUCKET], tls: true });
    try {
      tls.storage.put(BUCKET, "users/alice/a.txt", Buffer.from("over tls"));
      const authorization = COS.getAuthorization({
        SecretId: credentials.secretId,
        SecretKey: credentials.secretKey,
        Method: "GET",
        Key: "users/alice/a.txt",
        Headers: { host: HOST },
      });
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: "127.0.0.1",
            port: tls.port,
            path: "/users/alice/a.txt",
            ca: tls.caCert,
            servername: "localhost",
            headers: { host: HOST, authorization, "x-cos-security-token": credentials.token },
          },
          (res) => {
            let text = "";
            res.on("data", (chunk: Buffer) => (text += chunk.toString()));
            res.on("end", () => resolve(`${res.statusCode} ${text}`));
          },
        );
        req.on("error", reject);
        req.end();
      });
      expect(body).toBe("200 over tls");
    } finally {
      await tls.close();
    }
  });

  it("grants nothing on another account's bucket, even to a root key", async () => {
    const response = await signed({ key: "x.txt", headers: { host: `otheraccount-1300000000.cos.${REGION}.myqcloud.com` } });
    expect([response.status, errorCode(response.body)]).toEqual([403, "AccessDenied"]);
  });
});

describe("hostile and unsupported requests", () => {
  it("answers each with its COS error code and status", async () => {
    const cases: [Signed, number, string][] = [
      [{ key: "x", sendHeaders: { host: `nobucket-1250000000.cos.${REGION}.myqcloud.com` } }, 404, "NoSuchBucket"],
      [{ key: "users/alice/missing.txt" }, 404, "NoSuchKey"],
      [{ key: "users/alice/../bob/x.txt", sendPath: "/users/alice/../bob/x.txt" }, 400, "InvalidURI"],
      [{ key: "users/alice/%zz", sendPath: "/users/alice/%zz" }, 400, "InvalidURI"],
      [{ key: "users/alice/a.txt", query: { acl: "" } }, 501, "NotImplemented"],
      [{ method: "PATCH", key: "users/alice/a.txt" }, 405, "MethodNotAllowed"],
      [{ method: "PUT", key: "users/alice/d.txt", body: "abc", headers: { "content-md5": "AAAAAAAAAAAAAAAAAAAAAA==" } }, 400, "BadDigest"],
      [{ method: "PUT", key: "users/alice/huge.bin", body: Buffer.alloc(300 * 1024) }, 400, "EntityTooLarge"],
      [
        { method: "POST", key: "users/alice/m.bin", query: { uploadId: "nope" }, body: "<CompleteMultipartUpload></CompleteMultipartUpload>" },
        404,
        "NoSuchUpload",
      ],
      [{ method: "PUT", key: "users/alice/m.bin", query: { partNumber: "0", uploadId: "nope" }, body: "x" }, 404, "NoSuchUpload"],
      [{ key: `users/alice/${"k".repeat(900)}` }, 400, "KeyTooLong"],
    ];
    for (const [options, status, code] of cases) {
      const response = await signed(options);
      expect({ key: options.key.slice(0, 30), status: response.status, code: errorCode(response.body) ?? "" }).toEqual({
        key: options.key.slice(0, 30),
        status,
        code,
      });
    }
  });

  it("checks a multipart upload's part list", async () => {
    const init = await signed({ method: "POST", key: "users/alice/parts.bin", query: { uploads: "" } });
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(init.body)![1]!;
    const part = async (number: number, size: number) =>
      (await signed({ method: "PUT", key: "users/alice/parts.bin", query: { partNumber: String(number), uploadId }, body: Buffer.alloc(size, number) })).headers
        .etag as string;
    const [one, two] = [await part(1, 1000), await part(2, 1000)];
    const complete = (xml: string) => signed({ method: "POST", key: "users/alice/parts.bin", query: { uploadId }, body: xml });
    const parts = (list: [number, string][]) =>
      `<CompleteMultipartUpload>${list.map(([n, etag]) => `<Part><PartNumber>${n}</PartNumber><ETag>${etag}</ETag></Part>`).join("")}</CompleteMultipartUpload>`;
    expect(errorCode((await complete("<nope/>")).body)).toBe("MalformedXML");
    expect(
      errorCode(
        (
          await complete(
            parts([
              [2, two],
              [1, one],
            ]),
          )
        ).body,
      ),
    ).toBe("InvalidPartOrder");
    expect(
      errorCode(
        (
          await complete(
            parts([
              [1, '"0000"'],
              [2, two],
            ]),
          )
        ).body,
      ),
    ).toBe("InvalidPart");
    expect(
      errorCode(
        (
          await complete(
            parts([
              [1, one],
              [2, two],
            ]),
          )
        ).body,
      ),
    ).toBe("EntityTooSmall");
    const listed = await signed({ key: "users/alice/parts.bin", query: { uploadId } });
    expect(listed.body.match(/<PartNumber>/g)).toHaveLength(2);
    expect((await signed({ method: "DELETE", key: "users/alice/parts.bin", query: { uploadId } })).status).toBe(204);
    expect(errorCode((await complete(parts([[1, one]]))).body)).toBe("NoSuchUpload");
  });

  it("still serves after all of it", async () => {
    expect((await signed({ key: "users/alice/a.txt" })).status).toBe(200);
  });
});

describe("bucket CORS", () => {
  const preflight = (origin: string, method = "PUT", headers = "authorization,content-type,x-cos-security-token") =>
    rawRequest(stack.cos, {
      method: "OPTIONS",
      path: "/users/alice/a.txt",
      headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers },
    });

  it("answers a preflight from an allowed origin without a signature", async () => {
    const response = await preflight("http://127.0.0.1:8080");
    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({
      "access-control-allow-origin": "http://127.0.0.1:8080",
      "access-control-allow-headers": "authorization,content-type,x-cos-security-token",
      "access-control-expose-headers": expect.stringContaining("ETag"),
    });
  });

  it("refuses other origins and methods with AccessForbidden", async () => {
    for (const response of [
      await preflight("http://evil.example"),
      await preflight("http://127.0.0.1:8080", "PATCH"),
      await preflight("http://127.0.0.1:8080", "PUT", "bad header"),
    ]) {
      expect([response.status, errorCode(response.body)]).toEqual([403, "AccessForbidden"]);
      expect(response.headers["access-control-allow-origin"]).toBeUndefined();
    }
  });

  it("lets an allowed page read errors too", async () => {
    const response = await rawRequest(stack.cos, { path: "/users/alice/a.txt", headers: { origin: "http://127.0.0.1:8080" } });
    expect(response.status).toBe(403);
    expect(response.headers["access-control-allow-origin"]).toBe("http://127.0.0.1:8080");
  });

  it("keeps the rules GET/PUT/DELETE Bucket cors set, with the account's key (cos-nodejs-sdk-v5), and preflights follow them", async () => {
    const cos = stack.root();
    const initial = await cos.getBucketCors(AT);
    expect(initial.CORSRules).toEqual([expect.objectContaining({ ID: "initial", AllowedOrigins: ["http://127.0.0.1:8080"] })]);
    const rule = {
      ID: "site",
      AllowedOrigins: ["https://*.example.com"],
      AllowedMethods: ["PUT"],
      AllowedHeaders: ["authorization", "content-type"],
      ExposeHeaders: ["ETag"],
      MaxAgeSeconds: 60,
    };
    await cos.putBucketCors({ ...AT, CORSRules: [rule as unknown as COS.CORSRule] });
    expect((await cos.getBucketCors(AT)).CORSRules).toEqual([{ ...rule, MaxAgeSeconds: "60" }]);
    expect((await preflight("https://app.example.com", "PUT", "authorization,content-type")).headers["access-control-max-age"]).toBe("60");
    for (const refused of [
      await preflight("https://app.example.com", "POST", "authorization"),
      await preflight("https://app.example.com", "PUT", "x-other"),
      await preflight("http://127.0.0.1:8080"),
    ]) {
      expect([refused.status, errorCode(refused.body)]).toEqual([403, "AccessForbidden"]);
    }
    await cos.deleteBucketCors(AT);
    expect((await cos.getBucketCors(AT)).CORSRules).toEqual([]);
    await cos.putBucketCors({ ...AT, CORSRules: initial.CORSRules as COS.CORSRule[] });
    expect((await preflight("http://127.0.0.1:8080")).status).toBe(200);
  });

  it("answers the CORS API only to a signed request allowed to use it, and refuses malformed rules", async () => {
    expect(errorCode((await rawRequest(stack.cos, { path: "/?cors" })).body)).toBe("AccessDenied");
    const readOnly = await issue({ version: "2.0", statement: [{ effect: "allow", action: ["name/cos:GetObject"], resource: [`${RESOURCE}/*`] }] });
    const response = await signed({
      key: "",
      query: { cors: "" },
      secretId: readOnly.tmpSecretId,
      secretKey: readOnly.tmpSecretKey,
      token: readOnly.sessionToken,
    });
    expect([response.status, errorCode(response.body)]).toEqual([403, "AccessDenied"]);
    const bad = await signed({
      method: "PUT",
      key: "",
      query: { cors: "" },
      body: "<CORSConfiguration><CORSRule><AllowedMethod>PUT</AllowedMethod></CORSRule></CORSConfiguration>",
    });
    expect([bad.status, errorCode(bad.body)]).toEqual([400, "MalformedXML"]);
  });
});

describe("PostObject forms", () => {
  const keyTime = () => `${now() - 1};${now() + 600}`;
  /** A policy-signed form with the account's key; `fields` override or add form fields. */
  function form(policy: unknown, fields: Record<string, string> = {}, file: string | null = "file body"): FormData {
    const text = typeof policy === "string" ? policy : JSON.stringify(policy);
    const time = fields["q-key-time"] ?? keyTime();
    const signKey = createHmac("sha1", root.secretKey).update(time).digest("hex");
    const data = new FormData();
    const all: Record<string, string> = {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: COS PostObject's literal ${filename} placeholder
      key: "users/alice/${filename}",
      policy: Buffer.from(text).toString("base64"),
      "q-sign-algorithm": "sha1",
      "q-ak": root.secretId,
      "q-key-time": time,
      "q-signature": createHmac("sha1", signKey).update(createHash("sha1").update(text).digest("hex")).digest("hex"),
      ...fields,
    };
    for (const [name, value] of Object.entries(all)) data.append(name, value);
    if (file !== null) data.append("file", new Blob([file]), "photo.png");
    return data;
  }
  async function post(data: FormData | string, contentType?: string): Promise<RawResponse> {
    if (typeof data === "string") return rawRequest(stack.cos, { method: "POST", path: "/", headers: { "content-type": contentType! }, body: data });
    const request = new Request("http://x/", { method: "POST", body: data });
    return rawRequest(stack.cos, {
      method: "POST",
      path: "/",
      headers: { "content-type": request.headers.get("content-type")! },
      body: Buffer.from(await request.arrayBuffer()),
    });
  }
  const later = () => new Date(Date.now() + 600_000).toISOString();

  // biome-ignore lint/suspicious/noTemplateCurlyInString: COS PostObject's literal ${filename} placeholder
  it("stores the file under the key, with ${filename} replaced, answering 204 by default", async () => {
    const response = await post(form({ expiration: later(), conditions: [["starts-with", "$key", "users/alice/"]] }));
    expect(response.status).toBe(204);
    expect(stack.cos.storage.get(BUCKET, "users/alice/photo.png").body.toString()).toBe("file body");
  });

  it("refuses expired, unreadable, unmet and unsigned forms", async () => {
    const cases: [FormData | string, number, string, string?][] = [
      [form({ expiration: new Date(Date.now() - 1000).toISOString(), conditions: [] }), 403, "AccessDenied", "Policy expired"],
      [form("not json"), 400, "InvalidPolicyDocument"],
      [form({ expiration: later(), conditions: [["matches", "$key", ".*"]] }), 400, "InvalidPolicyDocument"],
      [form({ expiration: later(), conditions: [{ bucket: "otheraccount-1300000000" }] }), 403, "AccessDenied", "Policy Condition failed"],
      [form({ expiration: later(), conditions: [] }, { "q-signature": "0".repeat(40) }), 403, "SignatureDoesNotMatch"],
      [form({ expiration: later(), conditions: [] }, { "q-key-time": `${now() - 100};${now() - 10}` }), 403, "AccessDenied", "Request has expired"],
      [form({ expiration: later(), conditions: [] }, {}, null), 400, "InvalidArgument"],
      [form({ expiration: later(), conditions: [] }, { key: "users/alice/../bob/x" }), 400, "InvalidURI"],
      ["--x\r\nnot a form", 400, "MalformedPOSTRequest", undefined],
    ];
    for (const [data, status, code, text] of cases) {
      const response = await post(data, typeof data === "string" ? "multipart/form-data; boundary=x" : undefined);
      expect([response.status, errorCode(response.body)]).toEqual([status, code]);
      if (text) expect(response.body).toContain(text);
    }
    const unsigned = new FormData();
    unsigned.append("key", "users/alice/x");
    unsigned.append("file", new Blob(["x"]), "x");
    expect(errorCode((await post(unsigned)).body)).toBe("AccessDenied");
  });
});
