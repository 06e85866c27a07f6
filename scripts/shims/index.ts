/**
 * The shim wiring: which module of the STS SDK's dependency tree each file in scripts/shims/
 * replaces in the deployed bundles, and why. scripts/bundle.ts wires these in, test/build/
 * checks them, and the docs point here rather than repeat them. Each shim's own header says
 * why it behaves as the module it replaces does, for the calls the broker makes.
 */
import { join, sep } from "node:path";

export interface Shim {
  /** What the SDK's code requires: a package name, or a path relative to the requiring file. */
  readonly replaces: string;
  /** The stand-in, in scripts/shims/. */
  readonly file: string;
  /** Why the bundle does without the original. */
  readonly why: string;
  /**
   * The SDK files (`package/path`) whose use of the module the shim covers: re-read them after
   * an upgrade. Only their requires get the shim; any other file gets the original.
   */
  readonly usedBy: readonly string[];
  /** What the swap keeps out of the bundle, as paths under node_modules/. */
  readonly leavesOut: readonly string[];
  /** Options the SDK hands the original that the shim ignores on purpose, and why. */
  readonly ignores?: Readonly<Record<string, string>>;
}

/**
 * The versions the shims were last checked against. test/build/shim-versions.test.ts fails
 * when an installed one differs and names the shims and SDK files to re-read; raise a
 * version here only after doing so (and after test/build/shim-surface.test.ts passes).
 */
export const VERIFIED_VERSIONS: Readonly<Record<string, string>> = {
  "tencentcloud-sdk-nodejs-sts": "4.1.100",
  "tencentcloud-sdk-nodejs-common": "4.1.220",
  "node-fetch": "2.7.0",
  "form-data": "3.0.5",
  "json-bigint": "1.0.0",
  "https-proxy-agent": "5.0.1",
};

const COMMON = "tencentcloud-sdk-nodejs-common/tencentcloud/common";

export const SHIMS: readonly Shim[] = [
  {
    replaces: "node-fetch",
    file: "node-fetch.ts",
    why: "node-fetch v2 parses whatwg-url and tr46's unicode tables at every cold start; the SDK needs one request and a few fields of its answer",
    usedBy: [`${COMMON}/http/fetch.js`, `${COMMON}/http/http_connection.js`, `${COMMON}/abstract_client.js`],
    leavesOut: ["node-fetch/", "whatwg-url/", "tr46/", "webidl-conversions/"],
  },
  {
    replaces: "form-data",
    file: "form-data.ts",
    why: "only multipart requests build one, and no STS action is multipart; the stand-in refuses loudly",
    usedBy: [`${COMMON}/http/http_connection.js`],
    leavesOut: ["form-data/", "mime-db/", "mime-types/", "combined-stream/", "asynckit/"],
  },
  {
    replaces: "json-bigint",
    file: "json-bigint.ts",
    why: "the SDK only serializes request bodies with it, which JSON.stringify does to the same bytes; bignumber.js stays out",
    usedBy: [`${COMMON}/http/http_connection.js`, `${COMMON}/sign.js`],
    leavesOut: ["json-bigint/", "bignumber.js/"],
    ignores: { useNativeBigInt: "it shapes only parse, which the SDK never calls on this object; JSON.stringify throws on a BigInt" },
  },
  {
    replaces: "https-proxy-agent",
    file: "https-proxy-agent.ts",
    why: "the SDK requires it at load but builds one only when a proxy is set; the stand-in loads the real one then",
    usedBy: [`${COMMON}/http/fetch.js`],
    leavesOut: [],
  },
  {
    replaces: "tencentcloud-sdk-nodejs-common",
    file: "tencentcloud-sdk-nodejs-common.ts",
    why: "sts_client.js needs only AbstractClient; the package root also loads the credential-file and CVM-role providers",
    usedBy: ["tencentcloud-sdk-nodejs-sts/tencentcloud/services/sts/v20180813/sts_client.js"],
    leavesOut: [
      "tencentcloud-sdk-nodejs-common/tencentcloud/index.js",
      `${COMMON}/index.js`,
      `${COMMON}/credential.js`,
      `${COMMON}/cvm_role_credential.js`,
      `${COMMON}/common_client.js`,
      "ini/",
    ],
  },
  {
    replaces: "./sse_response_model",
    file: "sse-response-model.ts",
    why: "the server-sent-events reader (and readline) serves only text/event-stream answers, which no STS action gives",
    usedBy: [`${COMMON}/abstract_client.js`],
    leavesOut: [`${COMMON}/sse_response_model.js`],
  },
];

/** The STS SDK's own packages, which the files in `usedBy` belong to. */
export const SDK_PACKAGES: ReadonlySet<string> = new Set(SHIMS.flatMap((shim) => shim.usedBy.map((file) => file.slice(0, file.indexOf("/")))));

/** Every module some shim replaces, as an esbuild filter. */
export const SHIMMED = new RegExp(`^(${SHIMS.map((shim) => shim.replaces.replace(/[./]/g, "\\$&")).join("|")})$`);

/** The shim file for `specifier` as `importer` (a path) requires it: only the SDK files a shim names get it. */
export function shimFor(specifier: string, importer: string): string | undefined {
  const from = importer.split(sep).join("/");
  const shim = SHIMS.find((candidate) => candidate.replaces === specifier && candidate.usedBy.some((file) => from.endsWith(`node_modules/${file}`)));
  return shim && join(import.meta.dirname, shim.file);
}
