/**
 * `npm run build`: dist/<function>/ (index.js, app.js and its code cache) for every function,
 * ready for `npm run package`, and dist/serverless.yml for `scf deploy`. Reads the shell and a .env file, as
 * `npm run deploy` does. STS_PROFILES_FILE, if set, is compiled into the bundles (scripts/bundle.ts).
 */
import { buildDist } from "./deploy/build.ts";
import { deployEnv } from "./deploy/cli.ts";
import { exitOnHelp } from "./help.ts";

exitOnHelp(
  "usage: npm run build\n  Bundles every function into dist/<function>/ (index.js, app.js, app.cache) and writes dist/serverless.yml; STS_PROFILES_FILE, if set, is compiled in.",
);

await buildDist(deployEnv(), (line) => console.log(line));
