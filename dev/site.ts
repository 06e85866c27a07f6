/**
 * Serves examples/static-site for `npm start`: the page, cos-js-sdk-v5 straight from
 * node_modules, the client helper (client/index.js), a /config.json that points the page at this broker (and at the loopback COS
 * server), and, on embedded defaults only, /dev-token to mint a login token for a name.
 * None of this is deployed: a real site is plain files with its own config.json.
 */
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { listen } from "./listen.ts";

/** What the page reads from config.json (docs/local-development.md, The upload page). */
export interface SiteConfig {
  /** the broker's URL, e.g. its Function URL https://1250000000-abcd1234.ap-guangzhou.tencentscf.com/ */
  readonly brokerUrl: string;
  /** extra cos-js-sdk-v5 options, e.g. Domain and Protocol of a loopback COS server */
  readonly cos?: Readonly<Record<string, string>>;
  /** true when /dev-token is served */
  readonly devTokens: boolean;
}

export interface SiteServerOptions {
  readonly config: () => SiteConfig;
  /** mints a login token for a name, served while config() says devTokens; absent: no /dev-token route */
  readonly devToken?: (sub: string) => Promise<string>;
  readonly host?: string;
  readonly port?: number;
}

export interface SiteServer {
  readonly url: string;
  readonly origin: string;
  close(): Promise<void>;
}

const ROOT = resolve(import.meta.dirname, "../examples/static-site");
const SDK = createRequire(import.meta.url).resolve("cos-js-sdk-v5/dist/cos-js-sdk-v5.min.js");
const CLIENT = resolve(import.meta.dirname, "../client/index.js");
/** Only these paths exist; nothing is resolved from the URL, so nothing else can be reached. */
const FILES: Readonly<Record<string, readonly [string, string]>> = {
  "/": [resolve(ROOT, "index.html"), "text/html; charset=utf-8"],
  "/index.html": [resolve(ROOT, "index.html"), "text/html; charset=utf-8"],
  "/app.js": [resolve(ROOT, "app.js"), "text/javascript; charset=utf-8"],
  "/style.css": [resolve(ROOT, "style.css"), "text/css; charset=utf-8"],
  "/vendor/cos-js-sdk-v5.min.js": [SDK, "text/javascript; charset=utf-8"],
  "/vendor/cos-sts-broker-client.js": [CLIENT, "text/javascript; charset=utf-8"],
};
const SUBJECT = /^[\w.@-]{1,64}$/;

export async function startSiteServer(options: SiteServerOptions): Promise<SiteServer> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    const url = new URL(req.url ?? "/", "http://site.invalid");
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "text/plain", "GET only\n");
    const file = FILES[url.pathname];
    if (file) {
      readFile(file[0]).then(
        (body) => send(200, file[1], body),
        () => send(500, "text/plain", "could not read the file\n"),
      );
      return;
    }
    if (url.pathname === "/config.json") return send(200, "application/json", JSON.stringify(options.config()));
    // Only while the page's own config says so: dev tokens work beside the STS emulator only.
    if (url.pathname === "/dev-token" && options.devToken && options.config().devTokens) {
      const sub = url.searchParams.get("sub") ?? "";
      if (!SUBJECT.test(sub)) return send(400, "application/json", JSON.stringify({ error: "sub must be 1-64 characters of letters, digits, _ . @ -" }));
      options.devToken(sub).then(
        (token) => send(200, "application/json", JSON.stringify({ token })),
        () => send(500, "application/json", "{}"),
      );
      return;
    }
    send(404, "text/plain", "not found\n");
  });
  const { origin, close } = await listen(server, { host: options.host, port: options.port, name: "upload page" });
  return {
    url: `${origin}/`,
    origin,
    close,
  };
}
