/**
 * Loads https-proxy-agent (and its agent-base, debug, assert) only when a proxy is actually
 * used. The SDK requires it at load time (common/http/fetch.js) but builds one only when
 * `http_proxy` or a `proxy` option is set; the real module then does the work unchanged.
 */
import type { Agent } from "node:http";

export default function HttpsProxyAgent(proxy: string | URL): Agent {
  const createHttpsProxyAgent = require("https-proxy-agent/dist/index.js") as (proxy: string | URL) => Agent;
  return createHttpsProxyAgent(proxy);
}
