// The STS emulator, driven by the real Tencent Cloud SDK (and by hand-built requests
// where the SDK cannot misbehave on purpose). Loopback only; nothing reaches the internet.
import { createHmac } from "node:crypto";
import { createServer, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import sts from "tencentcloud-sdk-nodejs-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PermanentKey, type StsEmulator, startStsEmulator } from "../../dev/sts-emulator/index.ts";
import { ledgered } from "../support/capture.ts";

const Client = sts.sts.v20180813.Client;
type StsClient = InstanceType<typeof Client>;

interface Credential {
  secretId: string;
  secretKey: string;
  token?: string;
}
interface SdkError {
  code?: string;
  message: string;
  httpCode?: number;
}
interface ClientOptions {
  reqTimeout?: number;
  signMethod?: "TC3-HMAC-SHA256" | "HmacSHA256" | "HmacSHA1";
  hostname?: string;
  port?: number;
}

const ROLE = "qcs::cam::uin/100000000001:roleName/cos-uploader";
const APPID = "1250000000";
const policy = policyFor(APPID);

function policyFor(appid: string) {
  return {
    version: "2.0",
    statement: [
      {
        effect: "allow",
        action: ["name/cos:PutObject", "name/cos:PostObject"],
        resource: [`qcs::cos:ap-guangzhou:uid/${appid}:examplebucket-${appid}/users/alice/*`],
      },
    ],
  };
}

function encode(value: unknown): string {
  return encodeURIComponent(JSON.stringify(value));
}

function client(port: number, credential: Credential, opts: ClientOptions = {}): StsClient {
  return new Client({
    credential,
    region: "ap-guangzhou",
    profile: {
      signMethod: opts.signMethod,
      httpProfile: {
        endpoint: `${opts.hostname ?? "127.0.0.1"}:${opts.port ?? port}`,
        protocol: "http://",
        reqTimeout: opts.reqTimeout ?? 5,
      },
    },
  });
}

function asCredential(key: PermanentKey): Credential {
  return { secretId: key.secretId, secretKey: key.secretKey };
}

/** Resolves with the SDK's error; fails the test if the call succeeded. */
async function refusal(promise: Promise<unknown>): Promise<SdkError> {
  let result: unknown;
  try {
    result = await promise;
  } catch (error) {
    return error as SdkError;
  }
  throw new Error(`expected a refusal, got ${JSON.stringify(result)}`);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

interface RawRequest {
  method?: string;
  path?: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

function send(port: number, request: RawRequest, tls?: { ca: string }): Promise<RawResponse> {
  const body = typeof request.body === "string" ? Buffer.from(request.body) : request.body;
  const options = {
    host: "127.0.0.1",
    port,
    method: request.method ?? "POST",
    path: request.path ?? "/",
    headers: { host: `127.0.0.1:${port}`, ...request.headers, "content-length": String(body.length) },
    agent: false as const,
    ...(tls ? { ca: tls.ca } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (tls ? httpsRequest : httpRequest)(options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The API envelope's Response object of a raw answer. */
function envelope(response: RawResponse): { Error?: { Code: string; Message: string }; RequestId: string; [k: string]: unknown } {
  expect(response.status).toBe(200);
  expect(response.headers["content-type"]).toBe("application/json");
  return JSON.parse(response.text).Response;
}

/** What the SDK puts on the wire, caught by a throwaway server so it can be replayed and tampered with. */
async function captureSdkRequest(credential: Credential, action: string, params: object): Promise<RawRequest & { body: string }> {
  let captured: (RawRequest & { body: string }) | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === "string" && !["host", "content-length", "connection"].includes(name)) headers[name] = value;
      }
      captured = { path: req.url, headers, body: Buffer.concat(chunks).toString() };
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ Response: { Error: { Code: "Captured", Message: "captured" }, RequestId: "capture" } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const error = await refusal(client(port, credential).request(action, params));
    expect(error.code).toBe("Captured");
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return captured!;
}

/** Legacy v1 signature as documented: sorted raw k=v, `POST<host>/?...`, base64 HMAC. */
function signV1(params: Record<string, string>, secretKey: string, host: string, algorithm: "sha1" | "sha256"): string {
  const query = Object.keys(params)
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join("&");
  return createHmac(algorithm, secretKey).update(`POST${host}/?${query}`).digest("base64");
}

function v1Params(secretId: string, action: string, extra: Record<string, string>): Record<string, string> {
  return {
    Action: action,
    Version: "2018-08-13",
    Region: "ap-guangzhou",
    SecretId: secretId,
    Timestamp: String(nowSeconds()),
    Nonce: String(10000 + Math.floor(Math.random() * 10000)),
    ...extra,
  };
}

function formBody(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

describe("STS emulator: issuing credentials through the real SDK", () => {
  let emulator: StsEmulator;
  let sdk: StsClient;
  let key: PermanentKey;

  beforeAll(async () => {
    emulator = await startStsEmulator(ledgered());
    key = emulator.keys[0]!;
    sdk = client(emulator.port, asCredential(key));
  });
  afterAll(() => emulator.close());

  it("generates a real-looking permanent key at start", () => {
    expect(emulator.keys).toHaveLength(1);
    expect(key.secretId).toMatch(/^AKID[A-Za-z0-9]{32}$/);
    expect(key.secretKey.length).toBeGreaterThanOrEqual(32);
    expect(key.appid).toBe(APPID);
  });

  it("GetFederationToken issues credentials bound to the decoded policy", async () => {
    const before = nowSeconds();
    const response = await sdk.GetFederationToken({ Name: "cos-sts-alice", Policy: encode(policy), DurationSeconds: 900 });
    const credentials = response.Credentials!;
    expect(credentials.TmpSecretId).toMatch(/^AKID[A-Za-z0-9]{32}$/);
    expect(credentials.TmpSecretKey!.length).toBeGreaterThanOrEqual(32);
    expect(credentials.Token!.length).toBeGreaterThan(100);
    expect(response.ExpiredTime).toBeGreaterThanOrEqual(before + 900);
    expect(response.ExpiredTime).toBeLessThanOrEqual(nowSeconds() + 900);
    expect(response.Expiration).toBe(new Date(response.ExpiredTime! * 1000).toISOString().replace(".000Z", "Z"));
    expect(response.RequestId).toMatch(/^[0-9a-f-]{36}$/);

    const issued = emulator.issued.get(credentials.TmpSecretId!);
    expect(issued).toMatchObject({
      action: "GetFederationToken",
      name: "cos-sts-alice",
      policy,
      issuedBy: key.secretId,
      appid: APPID,
      expiredTime: response.ExpiredTime,
    });
    expect(emulator.credentialByToken(credentials.Token!)).toBe(issued);
    expect(emulator.calls.at(-1)).toMatchObject({
      action: "GetFederationToken",
      signature: "TC3",
      policy,
      handled: true,
      secretId: key.secretId,
    });
    expect(emulator.calls.at(-1)?.error).toBeUndefined();
  });

  it("GetFederationToken defaults to 1800 s", async () => {
    const response = await sdk.GetFederationToken({ Name: "cos-sts", Policy: encode(policy) });
    expect(response.ExpiredTime! - nowSeconds()).toBeGreaterThanOrEqual(1799);
    expect(response.ExpiredTime! - nowSeconds()).toBeLessThanOrEqual(1800);
  });

  it("AssumeRole issues credentials, 7200 s by default, recording role and session", async () => {
    const response = await sdk.AssumeRole({ RoleArn: ROLE, RoleSessionName: "u-3f9a", Policy: encode(policy) });
    expect(response.ExpiredTime! - nowSeconds()).toBeGreaterThanOrEqual(7199);
    const issued = emulator.credentialByToken(response.Credentials!.Token!);
    expect(issued).toMatchObject({ action: "AssumeRole", roleArn: ROLE, roleSessionName: "u-3f9a", policy, issuedBy: key.secretId });
  });

  it("AssumeRole without a Policy issues credentials with policy undefined", async () => {
    const response = await sdk.AssumeRole({ RoleArn: ROLE, RoleSessionName: "no-policy" });
    const issued = emulator.issued.get(response.Credentials!.TmpSecretId!);
    expect(issued).toBeDefined();
    expect(issued!.policy).toBeUndefined();
  });

  it("accepts the issued temporary credentials, with their token, as a caller", async () => {
    const first = await sdk.AssumeRole({ RoleArn: ROLE, RoleSessionName: "chain-1" });
    const temporary = {
      secretId: first.Credentials!.TmpSecretId!,
      secretKey: first.Credentials!.TmpSecretKey!,
      token: first.Credentials!.Token!,
    };
    const second = await client(emulator.port, temporary).AssumeRole({ RoleArn: ROLE, RoleSessionName: "chain-2" });
    expect(emulator.issued.get(second.Credentials!.TmpSecretId!)?.issuedBy).toBe(temporary.secretId);

    const identity = await client(emulator.port, temporary).GetCallerIdentity(null);
    expect(identity).toMatchObject({ AccountId: key.uin, Type: "CAMRole", UserId: "cos-uploader:chain-1" });
  });

  it("accepts execution-role keys from addTemporaryKey() for AssumeRole but not GetFederationToken", async () => {
    const role = emulator.addTemporaryKey({ ttlSeconds: 600 });
    expect(role.secretId).toMatch(/^AKID[A-Za-z0-9]{32}$/);
    expect(role.expiredTime - nowSeconds()).toBeGreaterThan(590);
    const scf = client(emulator.port, role);
    const response = await scf.AssumeRole({ RoleArn: ROLE, RoleSessionName: "from-scf", Policy: encode(policy) });
    expect(emulator.issued.get(response.Credentials!.TmpSecretId!)?.issuedBy).toBe(role.secretId);

    const error = await refusal(scf.GetFederationToken({ Name: "cos-sts", Policy: encode(policy) }));
    expect(error.code).toBe("InvalidParameter.AccessKeyNotSupport");
  });

  it("refuses GetFederationToken with issued temporary credentials too", async () => {
    const first = await sdk.GetFederationToken({ Name: "cos-sts", Policy: encode(policy) });
    const temporary = client(emulator.port, {
      secretId: first.Credentials!.TmpSecretId!,
      secretKey: first.Credentials!.TmpSecretKey!,
      token: first.Credentials!.Token!,
    });
    expect((await refusal(temporary.GetFederationToken({ Name: "again", Policy: encode(policy) }))).code).toBe("InvalidParameter.AccessKeyNotSupport");
    const identity = await temporary.GetCallerIdentity(null);
    expect(identity).toMatchObject({ Type: "FederatedUser", UserId: `${key.uin}:cos-sts` });
  });

  it("GetCallerIdentity describes a permanent key", async () => {
    const identity = await sdk.GetCallerIdentity(null);
    expect(identity).toMatchObject({
      AccountId: key.uin,
      UserId: key.uin,
      PrincipalId: key.uin,
      Type: "CAMUser",
      Arn: `qcs::cam::uin/${key.uin}:uin/${key.uin}`,
    });
  });

  it("verifies the hostname the client signed, whatever the endpoint (localhost)", async () => {
    const viaLocalhost = client(emulator.port, asCredential(key), { hostname: "localhost" });
    await expect(viaLocalhost.GetCallerIdentity(null)).resolves.toMatchObject({ Type: "CAMUser" });
  });

  it("counts only calls that passed auth and reached a handler", async () => {
    const before = emulator.stsCallCount("AssumeRole");
    const total = emulator.stsCallCount();
    await sdk.AssumeRole({ RoleArn: ROLE, RoleSessionName: "counted" });
    const wrongKey = client(emulator.port, { ...asCredential(key), secretKey: "wrong" });
    await refusal(wrongKey.AssumeRole({ RoleArn: ROLE, RoleSessionName: "x1" }));
    await refusal(sdk.AssumeRole({ RoleArn: ROLE, RoleSessionName: "x" })); // reached the handler, refused there
    expect(emulator.stsCallCount("AssumeRole")).toBe(before + 2);
    expect(emulator.stsCallCount()).toBe(total + 2);
  });
});

describe("STS emulator: authentication failures", () => {
  let emulator: StsEmulator;
  let key: PermanentKey;
  let offsetMs = 0;
  let captured: RawRequest & { body: string };

  beforeAll(async () => {
    emulator = await startStsEmulator(ledgered({ clock: { now: () => Date.now() + offsetMs } }));
    key = emulator.keys[0]!;
    captured = await captureSdkRequest(asCredential(key), "AssumeRole", {
      RoleArn: ROLE,
      RoleSessionName: "replayed",
      DurationSeconds: 900,
    });
  });
  afterAll(() => emulator.close());

  async function withClockOffset<T>(ms: number, run: () => Promise<T>): Promise<T> {
    offsetMs = ms;
    try {
      return await run();
    } finally {
      offsetMs = 0;
    }
  }

  function sdk(credential: Credential = asCredential(key)): StsClient {
    return client(emulator.port, credential);
  }

  it("a wrong secret key is AuthFailure.SignatureFailure and never reaches a handler", async () => {
    const handled = emulator.stsCallCount();
    const error = await refusal(sdk({ ...asCredential(key), secretKey: "not-the-key" }).GetCallerIdentity(null));
    expect(error.code).toBe("AuthFailure.SignatureFailure");
    expect(emulator.stsCallCount()).toBe(handled);
    expect(emulator.calls.at(-1)).toMatchObject({ error: "AuthFailure.SignatureFailure", handled: false, secretId: key.secretId });
  });

  it("an unknown SecretId is AuthFailure.SecretIdNotFound", async () => {
    const error = await refusal(sdk({ secretId: `AKID${"x".repeat(32)}`, secretKey: key.secretKey }).GetCallerIdentity(null));
    expect(error.code).toBe("AuthFailure.SecretIdNotFound");
  });

  it("a clock more than 300 s off either way is AuthFailure.SignatureExpire; 290 s is accepted", async () => {
    expect((await withClockOffset(301_000, () => refusal(sdk().GetCallerIdentity(null)))).code).toBe("AuthFailure.SignatureExpire");
    expect((await withClockOffset(-301_000, () => refusal(sdk().GetCallerIdentity(null)))).code).toBe("AuthFailure.SignatureExpire");
    await expect(withClockOffset(290_000, () => sdk().GetCallerIdentity(null))).resolves.toMatchObject({ Type: "CAMUser" });
  });

  it("temporary credentials need their own, unexpired token: AuthFailure.TokenFailure", async () => {
    const issued = await sdk().AssumeRole({ RoleArn: ROLE, RoleSessionName: "short", DurationSeconds: 100 });
    const temporary = {
      secretId: issued.Credentials!.TmpSecretId!,
      secretKey: issued.Credentials!.TmpSecretKey!,
      token: issued.Credentials!.Token!,
    };
    await expect(sdk(temporary).GetCallerIdentity(null)).resolves.toBeDefined();
    expect((await refusal(sdk({ ...temporary, token: undefined }).GetCallerIdentity(null))).code).toBe("AuthFailure.TokenFailure");
    expect((await refusal(sdk({ ...temporary, token: `${temporary.token}x` }).GetCallerIdentity(null))).code).toBe("AuthFailure.TokenFailure");
    // 200 s later the signature is still fresh, but the 100 s credential has expired.
    expect((await withClockOffset(200_000, () => refusal(sdk(temporary).GetCallerIdentity(null)))).code).toBe("AuthFailure.TokenFailure");
  });

  it("an execution-role key without its token is AuthFailure.TokenFailure", async () => {
    const role = emulator.addTemporaryKey();
    const error = await refusal(sdk({ secretId: role.secretId, secretKey: role.secretKey }).GetCallerIdentity(null));
    expect(error.code).toBe("AuthFailure.TokenFailure");
  });

  it("replaying the SDK's exact request succeeds (control for the tampering cases)", async () => {
    const response = envelope(await send(emulator.port, captured));
    expect(response.Error).toBeUndefined();
    expect(response.Credentials).toBeDefined();
  });

  it("a tampered body fails the signature", async () => {
    const body = captured.body.replace('"DurationSeconds":900', '"DurationSeconds":43200');
    expect(body).not.toBe(captured.body);
    const response = envelope(await send(emulator.port, { ...captured, body }));
    expect(response.Error?.Code).toBe("AuthFailure.SignatureFailure");
  });

  it("a different Host, path or timestamp fails the signature", async () => {
    const otherHost = { ...captured, headers: { ...captured.headers, host: "sts.tencentcloudapi.com" } };
    expect(envelope(await send(emulator.port, otherHost)).Error?.Code).toBe("AuthFailure.SignatureFailure");
    expect(envelope(await send(emulator.port, { ...captured, path: "/?x=1" })).Error?.Code).toBe("AuthFailure.SignatureFailure");
    const timestamp = String(Number(captured.headers["x-tc-timestamp"]) - 1);
    const otherTime = { ...captured, headers: { ...captured.headers, "x-tc-timestamp": timestamp } };
    expect(envelope(await send(emulator.port, otherTime)).Error?.Code).toBe("AuthFailure.SignatureFailure");
  });

  it("a credential scope dated another day fails the signature", async () => {
    const authorization = captured.headers.authorization!.replace(/\/\d{4}-\d{2}-\d{2}\//, "/2001-01-01/");
    const response = envelope(await send(emulator.port, { ...captured, headers: { ...captured.headers, authorization } }));
    expect(response.Error?.Code).toBe("AuthFailure.SignatureFailure");
    expect(response.Error?.Message).toMatch(/scope date/);
  });

  it("a malformed Authorization, or one that leaves host unsigned, is AuthFailure.InvalidAuthorization", async () => {
    for (const authorization of [
      "Bearer abc",
      "TC3-HMAC-SHA256 Credential=abc",
      captured.headers.authorization!.replace("SignedHeaders=content-type;host", "SignedHeaders=content-type"),
    ]) {
      const response = envelope(await send(emulator.port, { ...captured, headers: { ...captured.headers, authorization } }));
      expect(response.Error?.Code).toBe("AuthFailure.InvalidAuthorization");
    }
  });

  it("a request with no signature at all is AuthFailure.InvalidAuthorization", async () => {
    const { authorization: _dropped, ...headers } = captured.headers;
    const response = envelope(await send(emulator.port, { ...captured, headers }));
    expect(response.Error?.Code).toBe("AuthFailure.InvalidAuthorization");
    expect(emulator.calls.at(-1)).toMatchObject({ signature: "none", action: "AssumeRole" });
  });

  it("checks version and action after auth: NoSuchVersion, InvalidAction, MissingParameter", async () => {
    const replay = (headers: Record<string, string>) => send(emulator.port, { ...captured, headers });
    const version = envelope(await replay({ ...captured.headers, "x-tc-version": "2017-03-12" }));
    expect(version.Error?.Code).toBe("NoSuchVersion");
    const action = envelope(await replay({ ...captured.headers, "x-tc-action": "DeleteEverything" }));
    expect(action.Error?.Code).toBe("InvalidAction");
    const { "x-tc-action": _action, ...withoutAction } = captured.headers;
    expect(envelope(await replay(withoutAction)).Error?.Code).toBe("MissingParameter");
  });
});

describe("STS emulator: parameter rules", () => {
  let emulator: StsEmulator;
  let sdk: StsClient;

  beforeAll(async () => {
    emulator = await startStsEmulator(ledgered({ roles: [ROLE, "qcs::cam::uin/100000000001:role/4611686018427397919"] }));
    sdk = client(emulator.port, asCredential(emulator.keys[0]!));
  });
  afterAll(() => emulator.close());

  async function code(promise: Promise<unknown>): Promise<string | undefined> {
    return (await refusal(promise)).code;
  }

  it("AssumeRole DurationSeconds must be 1..43200", async () => {
    for (const DurationSeconds of [43201, 0, -5]) {
      const error = await code(sdk.AssumeRole({ RoleArn: ROLE, RoleSessionName: "dur", DurationSeconds }));
      expect(error).toBe("InvalidParameter.OverTimeError");
    }
    const longest = await sdk.AssumeRole({ RoleArn: ROLE, RoleSessionName: "dur", DurationSeconds: 43200 });
    expect(longest.ExpiredTime! - nowSeconds()).toBeGreaterThanOrEqual(43199);
  });

  it("GetFederationToken DurationSeconds may not pass 7200 with the root account's key", async () => {
    expect(await code(sdk.GetFederationToken({ Name: "dur", Policy: encode(policy), DurationSeconds: 7201 }))).toBe("InvalidParameter.OverTimeError");
    await expect(sdk.GetFederationToken({ Name: "dur", Policy: encode(policy), DurationSeconds: 7200 })).resolves.toBeDefined();
  });

  it("GetFederationToken DurationSeconds may reach 129600 with a sub-account's key", async () => {
    const sub: PermanentKey = { ...emulator.keys[0]!, secretId: `${emulator.keys[0]!.secretId.slice(0, -1)}S`, uin: "100000000002", subAccount: true };
    const subAccount = await startStsEmulator(ledgered({ keys: [sub] }));
    try {
      const subSdk = client(subAccount.port, asCredential(sub));
      const longest = await subSdk.GetFederationToken({ Name: "dur", Policy: encode(policy), DurationSeconds: 129_600 });
      expect(longest.ExpiredTime! - nowSeconds()).toBeGreaterThanOrEqual(129_599);
      expect(await code(subSdk.GetFederationToken({ Name: "dur", Policy: encode(policy), DurationSeconds: 129_601 }))).toBe("InvalidParameter.OverTimeError");
    } finally {
      await subAccount.close();
    }
  });

  it("DurationSeconds sent as a JSON string is InvalidParameter (API 3.0 is typed)", async () => {
    const request = sdk.request("AssumeRole", { RoleArn: ROLE, RoleSessionName: "typed", DurationSeconds: "900" });
    expect(await code(request)).toBe("InvalidParameter");
  });

  it("RoleSessionName must be 2-128 characters of [\\w+=,.@-]", async () => {
    for (const name of ["a", "has space", "slash/no", "x".repeat(129)]) {
      expect(await code(sdk.AssumeRole({ RoleArn: ROLE, RoleSessionName: name }))).toBe("InvalidParameter");
    }
    await expect(sdk.AssumeRole({ RoleArn: ROLE, RoleSessionName: `u_9+=,.@-${"x".repeat(119)}` })).resolves.toBeDefined();
  });

  it("GetFederationToken Name must be 2-32 characters of [\\w+=,.@-]", async () => {
    for (const name of ["x", "x".repeat(33), "bad name"]) {
      expect(await code(sdk.GetFederationToken({ Name: name, Policy: encode(policy) }))).toBe("InvalidParameter");
    }
  });

  it("RoleArn must be well-formed, and a known role when roles are configured", async () => {
    expect(await code(sdk.AssumeRole({ RoleArn: "cos-uploader", RoleSessionName: "arn" }))).toBe("InvalidParameter");
    expect(await code(sdk.AssumeRole({ RoleArn: "qcs::cam::uin/1:roleName/other", RoleSessionName: "arn" }))).toBe("ResourceNotFound.RoleNotFound");
    await expect(sdk.AssumeRole({ RoleArn: "qcs::cam::uin/100000000001:role/4611686018427397919", RoleSessionName: "arn" })).resolves.toBeDefined();
  });

  it("missing required parameters are MissingParameter; unknown ones UnknownParameter", async () => {
    expect(await code(sdk.request("AssumeRole", { RoleSessionName: "x1" }))).toBe("MissingParameter");
    expect(await code(sdk.request("GetFederationToken", { Name: "no-policy" }))).toBe("MissingParameter");
    expect(await code(sdk.request("AssumeRole", { RoleArn: ROLE, RoleSessionName: "x1", Durationseconds: 900 }))).toBe("UnknownParameter");
  });

  it("a policy with a principal anywhere (any case) is InvalidParameter.StrategyFormatError", async () => {
    const withPrincipal = { ...policy, statement: [{ ...policy.statement[0], Principal: { qcs: ["*"] } }] };
    expect(await code(sdk.GetFederationToken({ Name: "principal", Policy: encode(withPrincipal) }))).toBe("InvalidParameter.StrategyFormatError");
    const nested = { ...policy, statement: [{ ...policy.statement[0], condition: { x: { principal: "a" } } }] };
    expect(await code(sdk.AssumeRole({ RoleArn: ROLE, RoleSessionName: "pp", Policy: encode(nested) }))).toBe("InvalidParameter.StrategyFormatError");
  });

  it("a policy that is not URL-encoded JSON is InvalidParameter.StrategyFormatError", async () => {
    for (const raw of [JSON.stringify(policy), "%E0%A4%A", encodeURIComponent("not json"), ""]) {
      const error = await refusal(sdk.GetFederationToken({ Name: "enc", Policy: raw }));
      expect(error.code).toBe("InvalidParameter.StrategyFormatError");
    }
    const raw = await refusal(sdk.GetFederationToken({ Name: "enc", Policy: JSON.stringify(policy) }));
    expect(raw.message).toMatch(/encodeURIComponent/);
  });

  it("a policy without version 2.0 or a proper statement is InvalidParameter.StrategyFormatError", async () => {
    const statement = policy.statement[0]!;
    for (const bad of [
      { ...policy, version: "1.0" },
      { version: "2.0", statement: [] },
      { version: "2.0", statement: [{ ...statement, effect: "permit" }] },
      { version: "2.0", statement: [{ effect: "allow", action: ["name/cos:PutObject"] }] },
      { version: "2.0", statement: [{ ...statement, action: [] }] },
      [policy],
    ]) {
      expect(await code(sdk.GetFederationToken({ Name: "shape", Policy: encode(bad) }))).toBe("InvalidParameter.StrategyFormatError");
    }
  });

  it("a resource of another account is InvalidParameter.GrantOtherResource", async () => {
    const error = await refusal(sdk.GetFederationToken({ Name: "other", Policy: encode(policyFor("1300000000")) }));
    expect(error.code).toBe("InvalidParameter.GrantOtherResource");
    expect(error.message).toContain("uid/1300000000");
  });

  it("refused requests issue nothing, but record the decoded policy and the error", async () => {
    const issued = emulator.issued.size;
    await refusal(sdk.GetFederationToken({ Name: "other", Policy: encode(policyFor("1300000000")) }));
    expect(emulator.issued.size).toBe(issued);
    expect(emulator.calls.at(-1)).toMatchObject({ error: "InvalidParameter.GrantOtherResource", policy: policyFor("1300000000") });
  });

  it("a policy longer than maxPolicyLength once encoded is InvalidParameter.PolicyTooLong", async () => {
    const small = await startStsEmulator(ledgered({ maxPolicyLength: 200 }));
    try {
      const tight = client(small.port, asCredential(small.keys[0]!));
      expect(encode(policy).length).toBeGreaterThan(200);
      expect(await code(tight.GetFederationToken({ Name: "long", Policy: encode(policy) }))).toBe("InvalidParameter.PolicyTooLong");
    } finally {
      await small.close();
    }
  });
});

describe("STS emulator: injected faults", () => {
  let emulator: StsEmulator;
  let key: PermanentKey;

  beforeAll(async () => {
    emulator = await startStsEmulator(ledgered());
    key = emulator.keys[0]!;
  });
  afterAll(() => emulator.close());

  function sdk(reqTimeout = 5): StsClient {
    return client(emulator.port, asCredential(key), { reqTimeout });
  }

  async function withFault<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } finally {
      emulator.clearFaults();
    }
  }

  it("error: answers HTTP 200 with the injected code, before auth, and records it", async () => {
    await withFault(async () => {
      emulator.inject({ kind: "error", code: "InternalError.GetSeedTokenError", message: "seed down" });
      const error = await refusal(sdk().GetFederationToken({ Name: "f", Policy: encode(policy) }));
      expect(error).toMatchObject({ code: "InternalError.GetSeedTokenError", message: "seed down" });
      // Faults model the service, so they win over a bad key too.
      const badKey = client(emulator.port, { secretId: `AKID${"0".repeat(32)}`, secretKey: "x" });
      expect((await refusal(badKey.GetCallerIdentity(null))).code).toBe("InternalError.GetSeedTokenError");
      expect(emulator.calls.at(-1)).toMatchObject({
        action: "GetCallerIdentity",
        error: "InternalError.GetSeedTokenError",
        handled: false,
      });
    });
  });

  it("throttle: RequestLimitExceeded, for `times` requests only", async () => {
    await withFault(async () => {
      emulator.inject({ kind: "throttle" }, { times: 1 });
      expect((await refusal(sdk().GetCallerIdentity(null))).code).toBe("RequestLimitExceeded");
      await expect(sdk().GetCallerIdentity(null)).resolves.toMatchObject({ Type: "CAMUser" });
    });
  });

  it("`actions` limits which actions a fault hits", async () => {
    await withFault(async () => {
      emulator.inject({ kind: "throttle" }, { actions: ["GetFederationToken"] });
      await expect(sdk().AssumeRole({ RoleArn: ROLE, RoleSessionName: "unaffected" })).resolves.toBeDefined();
      expect((await refusal(sdk().GetFederationToken({ Name: "f", Policy: encode(policy) }))).code).toBe("RequestLimitExceeded");
      expect((await refusal(sdk().GetFederationToken({ Name: "f", Policy: encode(policy) }))).code).toBe("RequestLimitExceeded");
    });
  });

  it("delay: answers normally after the delay", async () => {
    await withFault(async () => {
      emulator.inject({ kind: "delay", ms: 100 });
      const started = Date.now();
      await expect(sdk().GetCallerIdentity(null)).resolves.toMatchObject({ Type: "CAMUser" });
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    });
  });

  it("hang: the SDK times out", async () => {
    await withFault(async () => {
      emulator.inject({ kind: "hang" });
      const started = Date.now();
      const error = await refusal(sdk(1).GetCallerIdentity(null));
      expect(error.message).toMatch(/timeout/i);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(emulator.calls.at(-1)).toMatchObject({ error: "Fault.hang" });
    });
  });

  it("http: the SDK sees the HTTP status", async () => {
    await withFault(async () => {
      emulator.inject({ kind: "http", status: 502 });
      const error = await refusal(sdk().GetCallerIdentity(null));
      expect(error.httpCode).toBe(502);
      expect(error.code).toBeUndefined();
    });
  });

  it("malformed: HTTP 200 whose body is not JSON", async () => {
    await withFault(async () => {
      emulator.inject({ kind: "malformed" });
      const error = await refusal(sdk().GetCallerIdentity(null));
      expect(error.code).toBeUndefined();
      expect(error.message).toMatch(/json/i);
    });
  });

  it("reset: the connection drops without a response", async () => {
    await withFault(async () => {
      emulator.inject({ kind: "reset" });
      const error = await refusal(sdk().GetCallerIdentity(null));
      expect(error.code).toBeUndefined();
      expect(error.message).toMatch(/ECONNRESET|socket hang up/);
      expect(emulator.calls.at(-1)).toMatchObject({ error: "Fault.reset" });
    });
  });

  it("reset() clears calls and faults but keeps keys and issued credentials", async () => {
    await sdk().GetFederationToken({ Name: "kept", Policy: encode(policy) });
    const issued = emulator.issued.size;
    emulator.inject({ kind: "throttle" });
    emulator.reset();
    expect(emulator.calls).toHaveLength(0);
    expect(emulator.stsCallCount()).toBe(0);
    expect(emulator.issued.size).toBe(issued);
    await expect(sdk().GetCallerIdentity(null)).resolves.toBeDefined();
  });

  it("close() ends hung requests", async () => {
    const own = await startStsEmulator(ledgered());
    own.inject({ kind: "hang" });
    const hung = refusal(client(own.port, asCredential(own.keys[0]!), { reqTimeout: 30 }).GetCallerIdentity(null));
    await expect.poll(() => own.calls.length).toBe(1);
    const started = Date.now();
    await own.close();
    const error = await hung;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.message).toMatch(/socket hang up|ECONNRESET/);
  });
});

describe("STS emulator: legacy v1 signature", () => {
  let emulator: StsEmulator;
  let tlsEmulator: StsEmulator;
  let key: PermanentKey;
  let tlsKey: PermanentKey;

  beforeAll(async () => {
    emulator = await startStsEmulator(ledgered());
    tlsEmulator = await startStsEmulator(ledgered({ tls: true }));
    key = emulator.keys[0]!;
    tlsKey = tlsEmulator.keys[0]!;
  });
  afterAll(async () => {
    await emulator.close();
    await tlsEmulator.close();
  });

  it("the SDK's HmacSHA1 and HmacSHA256 v1 modes are verified", async () => {
    for (const signMethod of ["HmacSHA1", "HmacSHA256"] as const) {
      const sdk = client(emulator.port, asCredential(key), { signMethod });
      const response = await sdk.GetFederationToken({ Name: "v1-sdk", Policy: encode(policy), DurationSeconds: 600 });
      expect(response.ExpiredTime! - nowSeconds()).toBeGreaterThanOrEqual(599);
      expect(emulator.calls.at(-1)).toMatchObject({ signature: "v1", action: "GetFederationToken", policy, handled: true });
      const wrong = client(emulator.port, { ...asCredential(key), secretKey: "wrong" }, { signMethod });
      expect((await refusal(wrong.GetCallerIdentity(null))).code).toBe("AuthFailure.SignatureFailure");
    }
  });

  it("v1 with issued temporary credentials needs the Token parameter", async () => {
    const issued = await client(emulator.port, asCredential(key)).AssumeRole({ RoleArn: ROLE, RoleSessionName: "v1-temp" });
    const temporary = {
      secretId: issued.Credentials!.TmpSecretId!,
      secretKey: issued.Credentials!.TmpSecretKey!,
      token: issued.Credentials!.Token!,
    };
    await expect(client(emulator.port, temporary, { signMethod: "HmacSHA256" }).GetCallerIdentity(null)).resolves.toBeDefined();
    const noToken = client(emulator.port, { ...temporary, token: undefined }, { signMethod: "HmacSHA256" });
    expect((await refusal(noToken.GetCallerIdentity(null))).code).toBe("AuthFailure.TokenFailure");
  });

  it("a hand-signed v1 request over TLS (as qcloud-cos-sts sends it) is accepted", async () => {
    expect(tlsEmulator.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(tlsEmulator.caCert).toMatch(/BEGIN CERTIFICATE/);
    const host = `127.0.0.1:${tlsEmulator.port}`;
    const params = v1Params(tlsKey.secretId, "GetFederationToken", {
      Name: "cos-sts-nodejs",
      DurationSeconds: "1800",
      Policy: encode(policy),
    });
    params.Signature = signV1(params, tlsKey.secretKey, host, "sha1");
    const request = { headers: { "content-type": "application/x-www-form-urlencoded", host }, body: formBody(params) };
    const response = envelope(await send(tlsEmulator.port, request, { ca: tlsEmulator.caCert! }));
    expect(response.Error).toBeUndefined();
    const credentials = response.Credentials as { TmpSecretId: string };
    expect(tlsEmulator.issued.get(credentials.TmpSecretId)).toMatchObject({
      action: "GetFederationToken",
      name: "cos-sts-nodejs",
      policy,
    });
  });

  it("a tampered or wrongly hosted v1 request over TLS fails the signature", async () => {
    const host = `127.0.0.1:${tlsEmulator.port}`;
    const params = v1Params(tlsKey.secretId, "GetFederationToken", { Name: "cos-sts", Policy: encode(policy) });
    const signed = { ...params, Signature: signV1(params, tlsKey.secretKey, host, "sha256"), SignatureMethod: "HmacSHA256" };
    // SignatureMethod is signed too, so adding it after signing must fail as well.
    const headers = { "content-type": "application/x-www-form-urlencoded", host };
    const tls = { ca: tlsEmulator.caCert! };
    expect(envelope(await send(tlsEmulator.port, { headers, body: formBody(signed) }, tls)).Error?.Code).toBe("AuthFailure.SignatureFailure");

    const good = { ...params, SignatureMethod: "HmacSHA256" };
    const tampered = { ...good, Signature: signV1(good, tlsKey.secretKey, host, "sha256"), DurationSeconds: "7200" };
    expect(envelope(await send(tlsEmulator.port, { headers, body: formBody(tampered) }, tls)).Error?.Code).toBe("AuthFailure.SignatureFailure");
    // Clients sign the endpoint they send as Host, port included.
    const hostnameOnly = { ...good, Signature: signV1(good, tlsKey.secretKey, "127.0.0.1", "sha256") };
    expect(envelope(await send(tlsEmulator.port, { headers, body: formBody(hostnameOnly) }, tls)).Error?.Code).toBe("AuthFailure.SignatureFailure");
    const control = { ...good, Signature: signV1(good, tlsKey.secretKey, host, "sha256") };
    expect(envelope(await send(tlsEmulator.port, { headers, body: formBody(control) }, tls)).Error).toBeUndefined();
  });

  it("the SDK's TC3 mode works over TLS when it trusts caCert", async () => {
    const sdk = new Client({
      credential: asCredential(tlsKey),
      region: "ap-guangzhou",
      profile: {
        httpProfile: {
          endpoint: `127.0.0.1:${tlsEmulator.port}`,
          protocol: "https://",
          reqTimeout: 5,
          agent: new HttpsAgent({ ca: tlsEmulator.caCert }),
        },
      },
    });
    await expect(sdk.GetCallerIdentity(null)).resolves.toMatchObject({ Type: "CAMUser" });
  });

  it("v1 nested parameters arrive flattened and are rebuilt; prototype keys are dropped", async () => {
    const host = `127.0.0.1:${emulator.port}`;
    const params = v1Params(key.secretId, "AssumeRole", {
      RoleArn: ROLE,
      RoleSessionName: "tagged",
      "Tags.0.Key": "team",
      "Tags.0.Value": "web",
      "Tags.1.Key": "env",
      "Tags.1.Value": "dev",
    });
    params.Signature = signV1(params, key.secretKey, host, "sha1");
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const response = envelope(await send(emulator.port, { headers: form, body: formBody(params) }));
    expect(response.Error).toBeUndefined();
    expect(emulator.calls.at(-1)?.params.Tags).toEqual([
      { Key: "team", Value: "web" },
      { Key: "env", Value: "dev" },
    ]);

    const hostile = v1Params(key.secretId, "AssumeRole", { "__proto__.polluted": "yes", "constructor.prototype.polluted": "yes" });
    hostile.Signature = signV1(hostile, key.secretKey, host, "sha1");
    const refused = envelope(await send(emulator.port, { headers: form, body: formBody(hostile) }));
    expect(refused.Error?.Code).toBe("MissingParameter");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("STS emulator: hostile and malformed requests", () => {
  let emulator: StsEmulator;

  beforeAll(async () => {
    emulator = await startStsEmulator(ledgered());
  });
  afterAll(() => emulator.close());

  it("a body over 1 MB is RequestSizeLimitExceeded", async () => {
    const response = envelope(await send(emulator.port, { headers: { "content-type": "application/json" }, body: Buffer.alloc(1024 * 1024 + 1, 0x61) }));
    expect(response.Error?.Code).toBe("RequestSizeLimitExceeded");
  });

  it("non-POST methods are UnsupportedProtocol", async () => {
    const response = envelope(await send(emulator.port, { method: "PUT", headers: {}, body: "" }));
    expect(response.Error?.Code).toBe("UnsupportedProtocol");
  });

  it("garbage in any shape gets an API error, and the emulator keeps serving", async () => {
    const garbage: RawRequest[] = [
      { headers: { "content-type": "application/x-www-form-urlencoded" }, body: Buffer.from([0xff, 0xfe, 0x00, 0x25, 0x25]) },
      { headers: { "content-type": "application/json", authorization: `TC3-HMAC-SHA256 ${"A".repeat(10_000)}` }, body: "{" },
      { headers: { "content-type": "application/json", "x-tc-action": "AssumeRole" }, body: "[[[[[[[[" },
      { headers: { "content-type": "text/plain" }, body: "\u0000" },
    ];
    for (const request of garbage) {
      const response = envelope(await send(emulator.port, request));
      expect(response.Error?.Code).toMatch(/^(AuthFailure\.|MissingParameter|InvalidParameter)/);
      expect(response.RequestId).toMatch(/^[0-9a-f-]{36}$/);
    }
    const sdk = client(emulator.port, asCredential(emulator.keys[0]!));
    await expect(sdk.GetCallerIdentity(null)).resolves.toMatchObject({ Type: "CAMUser" });
  });
});

describe("STS emulator: onSecret", () => {
  it("is told every secret key and session token it is configured with or hands out", async () => {
    const told: string[] = [];
    const own = await startStsEmulator({ onSecret: (kind, value) => void told.push(`${kind}=${value}`) });
    try {
      const role = own.addTemporaryKey();
      const issued = await client(own.port, asCredential(own.keys[0]!)).GetFederationToken({ Name: "alice", Policy: encode(policy), DurationSeconds: 900 });
      expect(told).toEqual([
        `secretKey=${own.keys[0]!.secretKey}`,
        `secretKey=${role.secretKey}`,
        `sessionToken=${role.token}`,
        `tmpSecretKey=${issued.Credentials!.TmpSecretKey}`,
        `sessionToken=${issued.Credentials!.Token}`,
      ]);
    } finally {
      await own.close();
    }
  });
});
