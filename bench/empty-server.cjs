// The server's cold-start floor: node:http listening as the broker's server does (PORT, HOST,
// a `listening` log line) and answering every request at once, loading nothing else.
const { createServer } = require("node:http");

const server = createServer((req, res) => {
  req.resume().on("end", () => res.writeHead(200, { "Content-Type": "application/json" }).end("{}"));
});
server.listen(Number(process.env.PORT ?? 9000), process.env.HOST ?? "0.0.0.0", () => {
  console.log(JSON.stringify({ event: "listening", port: server.address().port }));
});
process.once("SIGTERM", () => server.close(() => process.exit(0)));
