// Where the broker is, and the bucket it issues credentials for. The broker's host must be a
// "request legal domain" and the bucket's COS host an "uploadFile legal domain" (README.md).
module.exports = {
  brokerUrl: "https://your-broker.example.com/",
  bucket: "examplebucket-1250000000",
  region: "ap-guangzhou",
};
