// Tencent's demo approach (qcloud-cos-sts-sdk, nodejs/demo/sts-server.js): qcloud-cos-sts
// required from node_modules, a policy built per request, getCredential; no authentication.
// The policy has no `principal`: qcloud-cos-sts's getPolicy() adds one, which STS refuses.
const STS = require("qcloud-cos-sts");

const UPLOAD = [
  "PutObject",
  "PostObject",
  "InitiateMultipartUpload",
  "ListMultipartUploads",
  "ListParts",
  "UploadPart",
  "CompleteMultipartUpload",
  "AbortMultipartUpload",
];

exports.main_handler = async () => {
  const { COS_BUCKET: bucket, COS_REGION: region, STS_SECRET_ID: secretId, STS_SECRET_KEY: secretKey, DEMO_STS_HOST: host } = process.env;
  const appId = bucket.slice(bucket.lastIndexOf("-") + 1);
  const policy = {
    version: "2.0",
    statement: [
      { effect: "allow", action: UPLOAD.map((action) => `name/cos:${action}`), resource: [`qcs::cos:${region}:uid/${appId}:${bucket}/users/alice/*`] },
    ],
  };
  const credential = await STS.getCredential({ secretId, secretKey, host, region, durationSeconds: 900, policy });
  return { isBase64Encoded: false, statusCode: 200, headers: { "Content-Type": "application/json" }, body: JSON.stringify(credential) };
};
