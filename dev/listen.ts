/**
 * Starting and stopping the loopback servers of `npm start` and the tests (broker, page,
 * STS emulator, COS server) the same way.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Listening {
  readonly port: number;
  /** `http(s)://host:port`, IPv6 hosts bracketed. */
  readonly origin: string;
  /** Ends open and hung connections too, which would otherwise hold it open forever; once. */
  close(): Promise<void>;
}

/** Another process holds the port: says which of our servers could not start, so the message can name what moves it. */
export class PortInUse extends Error {
  constructor(
    readonly server: string,
    readonly port: number,
  ) {
    super(`port ${port} is already in use, so the ${server} cannot listen there`);
  }
}

export interface ListenOptions {
  readonly host?: string;
  readonly port?: number;
  readonly tls?: boolean;
  /** what this server is, for PortInUse: "broker", "upload page" */
  readonly name?: string;
}

export async function listen(server: Server, options: ListenOptions = {}): Promise<Listening> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 0;
  await new Promise<void>((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) => reject(error.code === "EADDRINUSE" ? new PortInUse(options.name ?? "server", port) : error);
    server.once("error", fail);
    server.listen(port, host, () => {
      server.off("error", fail);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    port: bound,
    origin: `${options.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${bound}`,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
