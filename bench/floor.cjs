// The floor for `npm run bench`: the least code that does the broker's job in Node, never
// shipped. An HS256 check with node:crypto, one fixed upload policy under users/<sub>/, one
// AssumeRole signed with TC3 by hand over a keep-alive https agent, the broker's response shape.
// It checks no other claim rule, scope or prefix safety and retries nothing: a lower bound.
const { createHash, createHmac, timingSafeEqual } = require("node:crypto");
const https = require("node:https");

const agent = new https.Agent({ keepAlive: true });
const ACTIONS = [
  "PutObject",
  "PostObject",
  "InitiateMultipartUpload",
  "ListMultipartUploads",
  "ListParts",
  "UploadPart",
  "CompleteMultipartUpload",
  "AbortMultipartUpload",
].map((action) => `name/cos:${action}`);

const refuse = (statusCode, code) => ({
  isBase64Encoded: false,
  statusCode,
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ error: { code } }),
});
const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const hmac = (key, text) => createHmac("sha256", key).update(text).digest();

function verify(token, secret, nowSeconds) {
  const [header, payload, signature] = (token ?? "").split(".");
  if (!signature) return undefined;
  const given = Buffer.from(signature, "base64url");
  const expected = hmac(secret, `${header}.${payload}`);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  if (JSON.parse(Buffer.from(header, "base64url").toString()).alg !== "HS256") return undefined;
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
  return typeof claims.sub === "string" && claims.exp > nowSeconds ? claims : undefined;
}

function assumeRole(env, params) {
  const url = new URL(env.STS_ENDPOINT);
  const body = JSON.stringify(params);
  const timestamp = Math.floor(Date.now() / 1000);
  const date = new Date(timestamp * 1000).toISOString().slice(0, 10);
  const scope = `${date}/sts/tc3_request`;
  const canonical = `POST\n/\n\ncontent-type:application/json\nhost:${url.hostname}\n\ncontent-type;host\n${sha256(body)}`;
  const key = hmac(hmac(hmac(`TC3${env.STS_SECRET_KEY}`, date), "sts"), "tc3_request");
  const signature = createHmac("sha256", key)
    .update(`TC3-HMAC-SHA256\n${timestamp}\n${scope}\n${sha256(canonical)}`)
    .digest("hex");
  const headers = {
    "Content-Type": "application/json",
    Host: url.host,
    "X-TC-Action": "AssumeRole",
    "X-TC-Version": "2018-08-13",
    "X-TC-Timestamp": String(timestamp),
    "X-TC-Region": env.COS_REGION,
    Authorization: `TC3-HMAC-SHA256 Credential=${env.STS_SECRET_ID}/${scope}, SignedHeaders=content-type;host, Signature=${signature}`,
  };
  return new Promise((resolve, reject) => {
    const request = https.request(url, { method: "POST", agent, headers }, (response) => {
      let text = "";
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => resolve(JSON.parse(text).Response));
    });
    request.on("error", reject);
    request.end(body);
  });
}

exports.main_handler = async (event) => {
  const env = process.env;
  const now = Date.now();
  const claims = verify(/^Bearer (\S+)$/i.exec(event.headers.authorization ?? "")?.[1], env.JWT_SECRET, now / 1000);
  if (!claims) return refuse(401, "InvalidToken");
  const bucket = env.COS_BUCKET;
  const prefix = `users/${claims.sub}/`;
  const policy = {
    version: "2.0",
    statement: [
      { effect: "allow", action: ACTIONS, resource: [`qcs::cos:${env.COS_REGION}:uid/${bucket.slice(bucket.lastIndexOf("-") + 1)}:${bucket}/${prefix}*`] },
    ],
  };
  const sts = await assumeRole(env, {
    RoleArn: env.STS_ROLE_ARN,
    RoleSessionName: `cos-${createHash("sha256").update(claims.sub).digest("base64url").slice(0, 32)}`,
    Policy: encodeURIComponent(JSON.stringify(policy)),
    DurationSeconds: 900,
  });
  if (!sts.Credentials) return refuse(502, "UpstreamError");
  const answer = {
    credentials: { tmpSecretId: sts.Credentials.TmpSecretId, tmpSecretKey: sts.Credentials.TmpSecretKey, sessionToken: sts.Credentials.Token },
    startTime: Math.floor(now / 1000),
    expiredTime: sts.ExpiredTime,
    expiration: sts.Expiration,
    requestId: sts.RequestId,
    bucket,
    region: env.COS_REGION,
    prefix,
    profile: "upload",
    allowActions: ACTIONS,
  };
  return {
    isBase64Encoded: false,
    statusCode: 200,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
    body: JSON.stringify(answer),
  };
};
