/** `npm run package`: dist/<function>.zip for every function built by `npm run build`. */
import { statSync } from "node:fs";
import { join, relative } from "node:path";
import { DIST_DIR, ROOT } from "./bundle.ts";
import { exitOnHelp } from "./help.ts";
import { packageFunctions } from "./zip.ts";

exitOnHelp("usage: npm run package\n  Zips each bundle npm run build made into dist/<function>.zip.");

for (const zip of packageFunctions(join(ROOT, DIST_DIR))) {
  console.log(`${relative(ROOT, zip)}  ${(statSync(zip).size / 1024).toFixed(1)} KB`);
}
