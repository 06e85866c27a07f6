/**
 * lib/sts/tc3.ts against Tencent's own SDK (tencentcloud-sdk-nodejs-sts, the reference): for
 * every call the broker makes (AssumeRole and GetFederationToken, with and without a session
 * token, the public and internal endpoints over https and http, a loopback one, any region,
 * policy, name and duration), the broker's client sends the request the SDK sends, byte for
 * byte: method, path, every header the SDK sets (X-TC-RequestClient included), and the body.
 * X-TC-TraceId is a fresh v4 UUID per request on both sides and is not signed: the comparison
 * gives ours the SDK's id, so everything else must match exactly. node-fetch's own transport
 * headers (user-agent, accept, accept-encoding, connection) are the HTTP client's, not the request's.
 */
import { Agent, createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import fc from "fast-check";
import { Client } from "tencentcloud-sdk-nodejs-sts/tencentcloud/services/sts/v20180813/sts_client.js";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createStsClient } from "../../../lib/sts/client.ts";
import { nodeTransport } from "../../../lib/sts/node-transport.ts";
import type { StsConfig } from "../../../lib/sts/settings.ts";
import { type SignedRequest, type StsTransport, signStsCall } from "../../../lib/sts/tc3.ts";
import { recordSecret } from "../../support/capture.ts";
import { fakeClock } from "../../support/clock.ts";

interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const ANSWER = JSON.stringify({
  Response: {
    Credentials: { TmpSecretId: "AKIDtmp", TmpSecretKey: "tmp-key", Token: "tmp-token" },
    ExpiredTime: 1767226500,
    Expiration: "2026-01-01T00:15:00Z",
    RequestId: "req-1",
  },
});
/** Headers that node-fetch (the SDK's HTTP client) or Node's http module add on their own. */
const TRANSPORT_HEADERS = ["user-agent", "accept", "accept-encoding", "connection", "content-length"];
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let server: Server;
let port: number;
const received: Received[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      received.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers as Record<string, string>, body });
      res.writeHead(200, { "Content-Type": "application/json" }).end(ANSWER);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  vi.useRealTimers();
  received.length = 0;
});

/** Every connection goes to the recording server, whatever host and protocol the URL names. */
function toRecorder(protocol: "https:" | "http:"): Agent {
  const agent = new Agent();
  agent.createConnection = () => connect(port, "127.0.0.1");
  // ClientRequest refuses an agent whose protocol is not the URL's.
  (agent as { protocol?: string }).protocol = protocol;
  return agent;
}

interface Case {
  readonly mode: StsConfig["mode"];
  readonly endpoint: StsConfig["endpoint"] | "loopback";
  readonly token: string | undefined;
  readonly region: string;
  readonly encodedPolicy: string;
  readonly subjectHash: string;
  readonly durationSeconds: number;
  readonly secretKey: string;
  readonly timestamp: number;
}

const endpointOf = (call: Case): StsConfig["endpoint"] => (call.endpoint === "loopback" ? { host: `127.0.0.1:${port}`, protocol: "http://" } : call.endpoint);

function configOf(call: Case): StsConfig {
  return {
    mode: call.mode,
    roleArn: call.mode === "AssumeRole" ? "qcs::cam::uin/100000000001:roleName/cos-uploader" : undefined,
    endpoint: endpointOf(call),
    region: call.region,
    credentials: call.token ? { kind: "execution-role" } : { kind: "explicit", secretId: "AKIDbroker", secretKey: call.secretKey },
    timeoutMs: 3000,
    maxAttempts: 1,
  };
}

const roleEnv = (call: Case) => ({ TENCENTCLOUD_SECRETID: "AKIDrole", TENCENTCLOUD_SECRETKEY: call.secretKey, TENCENTCLOUD_SESSIONTOKEN: call.token ?? "" });

/** The broker's client, its request captured at the transport seam (and sent on, for a loopback endpoint). */
async function brokerRequest(call: Case): Promise<SignedRequest> {
  const sent: SignedRequest[] = [];
  const forward = nodeTransport({});
  const transport: StsTransport = async (request, timeoutMs) => {
    sent.push(request);
    return call.endpoint === "loopback" ? forward(request, timeoutMs) : { status: 200, statusText: "OK", body: ANSWER };
  };
  const client = createStsClient(configOf(call), roleEnv(call), { transport, clock: fakeClock(call.timestamp * 1000) });
  const issued = await client.requestCredentials({ encodedPolicy: call.encodedPolicy, subjectHash: call.subjectHash, durationSeconds: call.durationSeconds });
  expect(issued.tmpSecretId).toBe("AKIDtmp");
  return sent[0]!;
}

/** The SDK's request for the same parameters, as it arrived at the recording server. */
async function sdkRequest(call: Case, params: Record<string, unknown>): Promise<Received> {
  const endpoint = endpointOf(call);
  vi.useFakeTimers({ toFake: ["Date"], now: call.timestamp * 1000 });
  const secretId = call.token ? "AKIDrole" : "AKIDbroker";
  const sdk = new Client({
    credential: { secretId, secretKey: call.secretKey, token: call.token },
    region: call.region,
    profile: {
      httpProfile: { endpoint: endpoint.host, protocol: endpoint.protocol, agent: toRecorder(endpoint.protocol === "https://" ? "https:" : "http:") },
    },
  });
  await sdk.request(call.mode, params);
  vi.useRealTimers();
  return received.pop()!;
}

/** The request's own headers, lower-cased, its trace id (a fresh v4 UUID) checked and replaced by `traceId`. */
function requestHeaders(headers: Readonly<Record<string, string>>, traceId: string): Record<string, string> {
  const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  expect(lower["x-tc-traceid"]).toMatch(UUID_V4);
  lower["x-tc-traceid"] = traceId;
  for (const name of TRANSPORT_HEADERS) delete lower[name];
  return lower;
}

async function compare(call: Case): Promise<void> {
  const ours = await brokerRequest(call);
  const wire = call.endpoint === "loopback" ? received.pop() : undefined;
  const theirs = await sdkRequest(call, JSON.parse(ours.body));
  expect(ours.method).toBe(theirs.method);
  // The SDK's URL is protocol + endpoint + "/" (abstract_client.js); the Host header is compared below.
  expect(theirs.path).toBe("/");
  expect(ours.url).toBe(`${endpointOf(call).protocol}${endpointOf(call).host}/`);
  const traceId = theirs.headers["x-tc-traceid"]!;
  expect(requestHeaders(ours.headers, traceId)).toEqual(requestHeaders(theirs.headers, traceId));
  expect(ours.body).toBe(theirs.body);
  if (wire) {
    // On the wire too, through the node transport: the same headers and body, and a correct length.
    expect(requestHeaders(wire.headers, traceId)).toEqual(requestHeaders(theirs.headers, traceId));
    expect(wire.body).toBe(theirs.body);
    expect(wire.headers["content-length"]).toBe(theirs.headers["content-length"]);
  }
}

const PUBLIC = { host: "sts.tencentcloudapi.com", protocol: "https://" } as const;
const INTERNAL = { host: "sts.internal.tencentcloudapi.com", protocol: "https://" } as const;
const base: Case = {
  mode: "AssumeRole",
  endpoint: PUBLIC,
  token: undefined,
  region: "ap-guangzhou",
  encodedPolicy: encodeURIComponent(JSON.stringify({ version: "2.0", statement: [{ effect: "allow", action: ["name/cos:PutObject"], resource: ["*"] }] })),
  subjectHash: "AbC-_0123456789abcdefghijklmnopqrstuvwxyzAB",
  durationSeconds: 900,
  secretKey: "broker-secret-key-000000000000000",
  timestamp: 1767225600,
};
recordSecret("tc3 test secret key", base.secretKey);

describe("the broker's STS requests, against the SDK's", () => {
  it.each<[string, Partial<Case>]>([
    ["AssumeRole, permanent key, public endpoint", {}],
    ["AssumeRole with the execution role's session token", { token: "role-session-token" }],
    ["GetFederationToken, permanent key", { mode: "GetFederationToken" }],
    ["GetFederationToken with a session token (STS refuses it; the request is still the SDK's)", { mode: "GetFederationToken", token: "t" }],
    ["the internal endpoint", { endpoint: INTERNAL }],
    ["plain http to the public host", { endpoint: { host: PUBLIC.host, protocol: "http://" } }],
    ["an explicit default port, which the URL parser drops", { endpoint: { host: `${PUBLIC.host}:443`, protocol: "https://" } }],
    ["a loopback emulator: service '127', port in Host, sent by the node transport", { endpoint: "loopback", token: "t" }],
    ["another region, the last second of a UTC day", { region: "na-siliconvalley", timestamp: Date.UTC(2026, 5, 30, 23, 59, 59) / 1000 }],
  ])("%s", async (_name, over) => {
    await compare({ ...base, ...over });
  });

  it("for any policy, subject, duration, region, key and time", async () => {
    const call = fc.record({
      mode: fc.constantFrom<StsConfig["mode"]>("AssumeRole", "GetFederationToken"),
      endpoint: fc.constantFrom<Case["endpoint"]>(PUBLIC, INTERNAL, "loopback"),
      token: fc.option(fc.stringMatching(/^[\w+/=-]{1,300}$/), { nil: undefined }),
      region: fc.stringMatching(/^[a-z]{2,4}(-[a-z0-9]{1,12}){1,2}$/),
      encodedPolicy: fc.string({ unit: "grapheme", maxLength: 300 }).map(encodeURIComponent),
      subjectHash: fc.stringMatching(/^[\w-]{43}$/),
      durationSeconds: fc.integer({ min: 120, max: 43_200 }),
      secretKey: fc.stringMatching(/^[\w]{1,64}$/),
      timestamp: fc.integer({ min: 1_500_000_000, max: 4_000_000_000 }),
    });
    await fc.assert(fc.asyncProperty(call, compare), { numRuns: 60 });
  });
});

describe("signStsCall", () => {
  it("sends the token only when there is one, and never signs it", () => {
    const call = { endpoint: PUBLIC, action: "AssumeRole", region: "ap-guangzhou", params: { A: 1 }, secretId: "id", secretKey: "k", timestamp: 1 };
    const plain = signStsCall(call, "trace");
    const withToken = signStsCall({ ...call, token: "tok" }, "trace");
    expect(plain.headers).not.toHaveProperty("X-TC-Token");
    expect(withToken.headers["X-TC-Token"]).toBe("tok");
    expect(withToken.headers.Authorization).toBe(plain.headers.Authorization);
  });
});
