/** A loopback chat webhook that records what it is sent and answers as scripted (WeCom-style by default). */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { listen } from "../../dev/listen.ts";

type WebhookReply = { status: number; body?: string } | "hang" | "reset";

export interface WebhookReceiver {
  readonly url: string;
  /** Bodies received, parsed as JSON. */
  readonly bodies: unknown[];
  /** Answers for the next requests, in order; afterwards HTTP 200 `{"errcode":0,"errmsg":"ok"}`. */
  readonly replies: WebhookReply[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(path = "/cgi-bin/webhook/send?key=test-robot-key-do-not-log"): Promise<WebhookReceiver> {
  const bodies: unknown[] = [];
  const replies: WebhookReply[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      const reply = replies.shift() ?? { status: 200, body: '{"errcode":0,"errmsg":"ok"}' };
      if (reply === "hang") return;
      if (reply === "reset") return void req.socket.destroy();
      res.writeHead(reply.status, { "content-type": "application/json" }).end(reply.body ?? "");
    });
  });
  const { origin, close } = await listen(server);
  return { url: `${origin}${path}`, bodies, replies, close };
}
