/**
 * Stands in for the SDK's package root in the deployed bundle. sts_client.js uses only
 * `AbstractClient` from it; the root (common/index.js) also loads the credential-file and
 * CVM-role providers (fs, os, path, ini) and CommonClient, which the broker never uses, as
 * it passes its key to the client itself (lib/sts/client.ts).
 */
export { AbstractClient } from "tencentcloud-sdk-nodejs-common/tencentcloud/common/abstract_client.js";
