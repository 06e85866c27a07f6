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

export async function listen(server: Server, options: { host?: string; port?: number; tls?: boolean } = {}): Promise<Listening> {
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    port,
    origin: `${options.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
