/**
 * End to end with the real Node SDK: cos-nodejs-sdk-v5 -> broker (HTTP) -> STS emulator, and
 * the SDK's signed requests -> the loopback COS server, which verifies them and enforces the
 * session policy the broker asked STS for.
 */
import { createHash, createHmac } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import COS from "cos-nodejs-sdk-v5";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AT, BUCKET, type CosStack, HOST, rawRequest, startCosStack } from "../support/cos.ts";
import { hsToken } from "../support/tokens.ts";

let stack: CosStack;
let alice: string;
let work: string;

/** A custom profile (issue 3's STS_PROFILES format) whose conditions only COS can check. */
const PROFILES = JSON.stringify({ "secure-images": { actions: ["PutObject"], conditions: { maxBytes: 1024, contentTypes: ["image/*"], httpsOnly: true } } });

beforeAll(async () => {
  stack = await startCosStack({ env: { STS_PROFILES: PROFILES } });
  alice = await hsToken({ sub: "alice" });
  work = mkdtempSync(join(tmpdir(), "cos-e2e-"));
});
afterAll(async () => {
  await stack?.close();
  rmSync(work, { recursive: true, force: true });
});

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => ({ code: "resolved", statusCode: 0, message: "" }),
    (error: { code?: string; statusCode?: number; message?: string }) => error,
  );

describe("cos-nodejs-sdk-v5 with the broker's credentials", () => {
  it("uploads inside the user's prefix", async () => {
    const result = await stack.client(alice).putObject({ ...AT, Key: "users/alice/hello.txt", Body: Buffer.from("hello"), ContentType: "text/plain" });
    expect(result.statusCode).toBe(200);
    const stored = stack.cos.storage.get(BUCKET, "users/alice/hello.txt");
    expect(stored.body.toString()).toBe("hello");
    expect(stored.headers["content-type"]).toBe("text/plain");
    expect(result.ETag).toBe(stored.etag);
  });

  it("downloads and lists inside the prefix with the read and list profiles", async () => {
    await stack.client(alice).putObject({ ...AT, Key: "users/alice/notes/today.txt", Body: Buffer.from("notes") });
    const reader = stack.client(alice, { profile: "read" });
    expect((await reader.getObject({ ...AT, Key: "users/alice/notes/today.txt" })).Body.toString()).toBe("notes");
    expect((await reader.headObject({ ...AT, Key: "users/alice/notes/today.txt" })).statusCode).toBe(200);
    // A presigned URL (query-string signature and token) from the same credentials.
    const url = new URL(
      await new Promise<string>((resolve, reject) =>
        reader.getObjectUrl({ ...AT, Key: "users/alice/notes/today.txt", Sign: true }, (error, data) => (error ? reject(error) : resolve(data.Url))),
      ),
    );
    expect(url.searchParams.get("x-cos-security-token")).toBeTruthy();
    expect((await rawRequest(stack.cos, { path: `${url.pathname}${url.search}` })).body).toBe("notes");

    const lister = stack.client(alice, { profile: "list" });
    const listed = await lister.getBucket({ ...AT, Prefix: "users/alice/notes/" });
    expect(listed.Contents.map((item) => item.Key)).toEqual(["users/alice/notes/today.txt"]);
    for (const prefix of ["users/", "users/bob/", ""]) {
      expect(await failure(lister.getBucket({ ...AT, Prefix: prefix }))).toMatchObject({ code: "AccessDenied" });
    }
  });

  it("cannot read another user's objects", async () => {
    await stack.root().putObject({ ...AT, Key: "users/bob/secret.txt", Body: Buffer.from("bob's") });
    const reader = stack.client(alice, { profile: "read" });
    expect(await failure(reader.getObject({ ...AT, Key: "users/bob/secret.txt" }))).toMatchObject({ code: "AccessDenied", statusCode: 403 });
    expect(await failure(reader.putObject({ ...AT, Key: "users/alice/x.txt", Body: Buffer.from("read-only") }))).toMatchObject({ code: "AccessDenied" });
  });

  it("gets AccessDenied writing into another user's prefix", async () => {
    const error = await failure(stack.client(alice).putObject({ ...AT, Key: "users/bob/x.txt", Body: Buffer.from("no") }));
    expect(error).toMatchObject({ code: "AccessDenied", statusCode: 403 });
    expect(() => stack.cos.storage.get(BUCKET, "users/bob/x.txt")).toThrow();
    // `users/alice*` must not reach `users/alice2/`.
    const sibling = await failure(stack.client(alice).putObject({ ...AT, Key: "users/alice2/x.txt", Body: Buffer.from("no") }));
    expect(sibling).toMatchObject({ code: "AccessDenied" });
  });

  it("gets AccessDenied for actions outside the profile", async () => {
    const client = stack.client(alice);
    await client.putObject({ ...AT, Key: "users/alice/mine.txt", Body: Buffer.from("mine") });
    for (const attempt of [
      client.getObject({ ...AT, Key: "users/alice/mine.txt" }),
      client.deleteObject({ ...AT, Key: "users/alice/mine.txt" }),
      client.getBucket({ ...AT, Prefix: "users/alice/" }),
    ]) {
      expect(await failure(attempt)).toMatchObject({ code: "AccessDenied", statusCode: 403 });
    }
    const denied = stack.cos.calls.filter((call) => call.code === "AccessDenied").map((call) => call.operation);
    expect(denied).toEqual(expect.arrayContaining(["GetObject", "DeleteObject", "GetBucket"]));
  });

  it("refuses a credential once it has expired (COS clock moved, no sleeping)", async () => {
    const client = stack.client(alice);
    await client.putObject({ ...AT, Key: "users/alice/before.txt", Body: Buffer.from("ok") });
    stack.advance(900 + 5);
    try {
      const error = await failure(client.putObject({ ...AT, Key: "users/alice/after.txt", Body: Buffer.from("late") }));
      expect(error).toMatchObject({ code: "ExpiredToken", statusCode: 400 });
    } finally {
      stack.advance(-(900 + 5));
    }
  });

  it("works with ScopeLimit: true, one credential narrowed to each object", async () => {
    const client = stack.client(alice, { scopeLimit: true });
    const before = stack.answers.length;
    await client.putObject({ ...AT, Key: "users/alice/scoped/a.txt", Body: Buffer.from("a") });
    await client.putObject({ ...AT, Key: "users/alice/scoped/b.txt", Body: Buffer.from("b") });
    const issued = stack.answers.slice(before);
    expect(issued.map((answer) => answer.status)).toEqual([200, 200]);
    const policy = stack.emulator.issued.get(issued[1]!.body.credentials.tmpSecretId)!.policy as { statement: { resource: string[] }[] };
    expect(policy.statement.flatMap((statement) => statement.resource)).toEqual([`qcs::cos:ap-guangzhou:uid/1250000000:${BUCKET}/users/alice/scoped/b.txt`]);

    const cosCalls = stack.cos.calls.length;
    const error = await failure(client.putObject({ ...AT, Key: "users/bob/scoped.txt", Body: Buffer.from("no") }));
    expect(error.message).toMatch(/TmpSecretId/);
    expect(stack.answers.at(-1)).toMatchObject({ status: 403, body: { error: { code: "ScopeNotAllowed" } } });
    expect(stack.cos.calls.length).toBe(cosCalls);
  });

  it("uploads a file over 5 MB in parts (sliceUploadFile)", async () => {
    const file = join(work, "big.bin");
    const content = Buffer.alloc(5 * 1024 * 1024 + 300_000);
    for (let i = 0; i < content.length; i += 4096) content.writeUInt32BE(i, i);
    writeFileSync(file, content);
    const from = stack.cos.calls.length;
    const result = await stack
      .client(alice)
      .sliceUploadFile({ ...AT, Key: "users/alice/big.bin", FilePath: file, SliceSize: 1024 * 1024, ChunkSize: 1024 * 1024 });
    expect(result.statusCode).toBe(200);
    expect(stack.cos.storage.get(BUCKET, "users/alice/big.bin").body.equals(content)).toBe(true);
    const operations = stack.cos.calls
      .slice(from)
      .filter((call) => call.status === 200)
      .map((call) => call.operation);
    expect(operations.filter((operation) => operation === "UploadPart")).toHaveLength(6);
    expect(operations).toEqual(expect.arrayContaining(["InitiateMultipartUpload", "CompleteMultipartUpload"]));
  });
});

describe("a custom profile's conditions, enforced by COS", () => {
  let secure: CosStack;
  beforeAll(async () => {
    secure = await startCosStack({ env: { STS_PROFILES: PROFILES }, cos: { tls: true } });
  });
  afterAll(() => secure?.close());

  const png = (bytes: number) => ({ ...AT, Key: "users/alice/me.png", Body: Buffer.alloc(bytes, 1), ContentType: "image/png" });

  it("allows a small image over HTTPS", async () => {
    expect((await secure.client(alice, { profile: "secure-images" }).putObject(png(100))).statusCode).toBe(200);
    expect(secure.cos.calls.at(-1)!.decision?.context["cos:secure-transport"]).toBe(true);
  });

  it("refuses plain HTTP, a larger body and another content type", async () => {
    expect(await failure(stack.client(alice, { profile: "secure-images" }).putObject(png(100)))).toMatchObject({ code: "AccessDenied" });
    const client = secure.client(alice, { profile: "secure-images" });
    expect(await failure(client.putObject(png(2048)))).toMatchObject({ code: "AccessDenied" });
    expect(await failure(client.putObject({ ...png(100), ContentType: "text/html" }))).toMatchObject({ code: "AccessDenied" });
  });
});

describe("PostObject with the broker's credentials", () => {
  async function credentials(): Promise<{ tmpSecretId: string; tmpSecretKey: string; sessionToken: string; startTime: number; expiredTime: number }> {
    const response = await fetch(`${stack.broker.url}/`, { method: "POST", headers: { authorization: `Bearer ${alice}` } });
    const data = (await response.json()) as Record<string, any>;
    return { ...data.credentials, startTime: data.startTime, expiredTime: data.expiredTime };
  }

  /** The form cos-wx-sdk-v5 posts (lib/request.js): key, success_action_status, Signature (of `POST /`), token. */
  async function wxForm(key: string): Promise<FormData> {
    const c = await credentials();
    const form = new FormData();
    form.append("key", key);
    form.append("success_action_status", "200");
    form.append(
      "Signature",
      COS.getAuthorization({
        SecretId: c.tmpSecretId,
        SecretKey: c.tmpSecretKey,
        Method: "POST",
        Pathname: "/",
        Headers: { host: HOST },
        KeyTime: `${c.startTime};${c.expiredTime}`,
      }),
    );
    form.append("x-cos-security-token", c.sessionToken);
    form.append("Content-Type", "");
    form.append("file", new Blob(["from a mini-program"]), "photo.jpg");
    return form;
  }

  async function post(form: FormData): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
    const request = new Request("http://x/", { method: "POST", body: form });
    const body = Buffer.from(await request.arrayBuffer());
    return rawRequest(stack.cos, { method: "POST", path: "/", headers: { "content-type": request.headers.get("content-type")! }, body });
  }

  it("accepts the form cos-wx-sdk-v5 sends, inside the prefix", async () => {
    const response = await post(await wxForm("users/alice/wx.jpg"));
    expect(response.status).toBe(200);
    expect(response.headers.etag).toBe(stack.cos.storage.get(BUCKET, "users/alice/wx.jpg").etag);
  });

  it("refuses the same form for another user's prefix", async () => {
    const response = await post(await wxForm("users/bob/wx.jpg"));
    expect(response.status).toBe(403);
    expect(response.body).toContain("<Code>AccessDenied</Code>");
  });

  it("accepts a policy-signed form, and enforces its conditions", async () => {
    const c = await credentials();
    const keyTime = `${c.startTime};${c.expiredTime}`;
    /** The fields of the POST Object doc: policy, q-sign-algorithm, q-ak, q-key-time, q-signature. */
    const form = (key: string, maxBytes: number) => {
      const policy = JSON.stringify({
        expiration: new Date(c.expiredTime * 1000).toISOString(),
        conditions: [
          { bucket: BUCKET },
          ["starts-with", "$key", "users/alice/"],
          { "q-sign-algorithm": "sha1" },
          { "q-ak": c.tmpSecretId },
          { "q-sign-time": keyTime },
          ["content-length-range", 1, maxBytes],
        ],
      });
      const signKey = hmacSha1(c.tmpSecretKey, keyTime);
      const fields: Record<string, string> = {
        key,
        policy: Buffer.from(policy).toString("base64"),
        "q-sign-algorithm": "sha1",
        "q-ak": c.tmpSecretId,
        "q-key-time": keyTime,
        "q-signature": hmacSha1(signKey, createHash("sha1").update(policy).digest("hex")),
        "x-cos-security-token": c.sessionToken,
        success_action_status: "201",
      };
      const data = new FormData();
      for (const [name, value] of Object.entries(fields)) data.append(name, value);
      data.append("file", new Blob(["0123456789"]), "a.txt");
      return data;
    };
    const ok = await post(form("users/alice/form.txt", 100));
    expect(ok.status).toBe(201);
    expect(ok.body).toContain("<Key>users/alice/form.txt</Key>");
    const tooBig = await post(form("users/alice/form2.txt", 5));
    expect(tooBig.status).toBe(400);
    expect(tooBig.body).toContain("<Code>EntityTooLarge</Code>");
    const outside = await post(form("users/bob/form.txt", 100));
    expect(outside.status).toBe(403);
    expect(outside.body).toContain("Policy Condition failed");
  });
});

const hmacSha1 = (key: string, text: string) => createHmac("sha1", key).update(text).digest("hex");
