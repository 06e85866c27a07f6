/**
 * The broker behind Node's http server, for `npm start` and the end-to-end tests: the
 * production server (functions/server) on loopback, trusting no proxy, stopped at once.
 */
import type { Server } from "node:http";
import { startServer } from "../functions/server/index.ts";
import { loadServerSettings } from "../functions/server/settings.ts";
import type { App, AppDeps } from "../lib/broker/app.ts";
import { type ListenOptions, PortInUse } from "./listen.ts";

export interface LocalServer {
  readonly url: string;
  readonly app: App;
  readonly server: Server;
  close(): Promise<void>;
}

export type LocalServerOptions = AppDeps & Pick<ListenOptions, "host" | "port" | "name">;

export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const port = options.port ?? 0;
  const settings = { ...loadServerSettings({}), host: options.host ?? "127.0.0.1", port };
  const running = await startServer({ ...options, settings }).catch((error: NodeJS.ErrnoException) => {
    throw error.code === "EADDRINUSE" ? new PortInUse(options.name ?? "server", port) : error;
  });
  return { url: running.origin, app: running.app, server: running.server, close: running.close };
}
