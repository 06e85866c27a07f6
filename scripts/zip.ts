/**
 * SCF code packages: one zip per function with index.js at its root, so the handler
 * `index.main_handler` resolves (https://www.tencentcloud.com/document/product/583/46770). fflate, because no `zip` binary is
 * guaranteed where this runs.
 */

import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { type Zippable, zipSync } from "fflate";
import { listFunctions } from "./bundle.ts";

/** A fixed timestamp, so the same build always zips to the same bytes. */
const MTIME = new Date("2000-01-01T00:00:00Z");

/** Zips every built function under distDir into distDir/<function>.zip; returns the zip paths. */
export function packageFunctions(distDir: string, functions = listFunctions()): string[] {
  return functions.map((name) => {
    const dir = join(distDir, name);
    if (!existsSync(join(dir, "index.js"))) throw new Error(`${relative(process.cwd(), dir)}/index.js is missing: run \`npm run build\` first`);
    const zipPath = `${dir}.zip`;
    writeFileSync(zipPath, zipDirectory(dir));
    return zipPath;
  });
}

/**
 * Unix modes ride in each entry, as SCF needs scf_bootstrap executable (755 or 777,
 * cloud.tencent.com/document/product/583/56126); normalised to 755 or 644, so the bytes do
 * not depend on the umask.
 */
export function zipDirectory(dir: string): Uint8Array {
  const files: Zippable = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const mode = statSync(path).mode & 0o111 ? 0o755 : 0o644;
    files[relative(dir, path).split("\\").join("/")] = [readFileSync(path), { mtime: MTIME, os: UNIX, attrs: (REGULAR_FILE | mode) << 16 }];
  }
  return zipSync(files, { level: 9 });
}

/** APPNOTE.txt 4.4.2.2: the entry's attributes are Unix ones; S_IFREG in their high bits. */
const UNIX = 3;
const REGULAR_FILE = 0o100000;
