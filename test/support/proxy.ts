/** A loopback HTTP CONNECT proxy that counts the tunnels it opens, and to where. */
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { listen } from "../../dev/listen.ts";

export interface ConnectProxy {
  readonly url: string;
  readonly tunnels: string[];
  close(): Promise<void>;
}

export async function startConnectProxy(): Promise<ConnectProxy> {
  const tunnels: string[] = [];
  // Tunnelled sockets leave the server's bookkeeping, so close() ends them itself.
  const open = new Set<Duplex>();
  const server: Server = createServer((_req, res) => res.writeHead(405).end());
  server.on("connect", (req, client, head) => {
    const target = req.url ?? "";
    tunnels.push(target);
    const [host, port] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))];
    const upstream = connect(port, host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
    }
    const drop = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on("error", drop);
    client.on("error", drop);
  });
  const listening = await listen(server);
  return {
    url: listening.origin,
    tunnels,
    close: () => {
      // Tunnels are raw sockets the HTTP server no longer tracks.
      for (const socket of open) socket.destroy();
      return listening.close();
    },
  };
}
