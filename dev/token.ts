/**
 * `npm run token -- --sub alice [--ttl 3600] [--iss URL] [--aud NAME] [--claim k=v ...]`:
 * mints an HS256 login token with JWT_SECRET, or the dev secret `npm start` uses by default.
 */
import { parseArgs } from "node:util";
import { readVar } from "../lib/shared/env.ts";
import { DEV_JWT_SECRET, loadDotEnv, mintToken } from "./defaults.ts";

const USAGE = `usage: npm run token -- --sub <subject> [--ttl <seconds>] [--iss <issuer>] [--aud <audience>] [--claim name=value ...]
  Prints an HS256 login token for <subject>, signed with JWT_SECRET (shell or .env) or npm start's dev secret.
  --ttl    lifetime in seconds (default 3600)
  --claim  an extra claim, for PREFIX_TEMPLATEs with other {claim}s; repeatable`;

async function main(): Promise<void> {
  loadDotEnv();
  const { values } = readOptions();
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.sub) throw new Error(`--sub is required\n${USAGE}`);
  const ttlSeconds = Number(values.ttl);
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) throw new Error(`--ttl must be a positive whole number\n${USAGE}`);
  const claims = Object.fromEntries(
    values.claim.map((pair) => {
      const at = pair.indexOf("=");
      if (at < 1) throw new Error(`--claim wants name=value, got '${pair}'\n${USAGE}`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  const secret = readVar(process.env, "JWT_SECRET") ?? DEV_JWT_SECRET;
  console.log(await mintToken({ sub: values.sub, secret, ttlSeconds, issuer: values.iss, audience: values.aud, claims }));
}

function readOptions() {
  try {
    return parseArgs({
      options: {
        sub: { type: "string" },
        ttl: { type: "string", default: "3600" },
        iss: { type: "string" },
        aud: { type: "string" },
        claim: { type: "string", multiple: true, default: [] },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(2);
});
