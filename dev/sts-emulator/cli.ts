// Starts one STS emulator for manual runs:
//   npx tsx dev/sts-emulator/cli.ts --port 9100 [--tls --ca-out ca.pem] [--print-secret]
// The secret key stays unprinted unless asked for, so terminal logs do not carry it.
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { PortInUse } from "../listen.ts";
import { startStsEmulator } from "./index.ts";

const USAGE = `usage: npx tsx dev/sts-emulator/cli.ts [--port 9100] [--host 127.0.0.1] [--tls --ca-out ca.pem] [--print-secret]
  Starts one loopback STS emulator and prints its STS_ENDPOINT and key id.
  --tls           serve https with a self-signed certificate (--ca-out writes it)
  --print-secret  print the key's secret too (left out so terminal logs do not carry it)`;

function readOptions() {
  try {
    return parseArgs({
      options: {
        port: { type: "string", default: "0" },
        host: { type: "string", default: "127.0.0.1" },
        tls: { type: "boolean", default: false },
        "ca-out": { type: "string" },
        "print-secret": { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

const { values } = readOptions();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be an integer from 0 to 65535, got ${values.port}`);
  process.exit(2);
}

const emulator = await startStsEmulator({ port, host: values.host, tls: values.tls }).catch((error: unknown) => {
  if (!(error instanceof PortInUse)) throw error;
  console.error(`${error.message}: stop the process that holds it, or choose another with --port`);
  process.exit(1);
});
const key = emulator.keys[0]!;
console.log(`STS emulator listening on ${emulator.url}`);
console.log(`endpoint for clients: ${new URL(emulator.url).host} (STS_ENDPOINT=${emulator.url})`);
console.log(`secretId: ${key.secretId}  appid: ${key.appid}  uin: ${key.uin}`);
console.log(values["print-secret"] ? `secretKey: ${key.secretKey}` : "secretKey: hidden (pass --print-secret to show it)");
if (values["ca-out"] && emulator.caCert) {
  await writeFile(values["ca-out"], emulator.caCert);
  console.log(`certificate written to ${values["ca-out"]}`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void emulator.close().then(() => process.exit(0)));
}
