// index.js of every deployed function (docs/deploy.md, What is in the bundle): it runs the
// bundle, app.js, from V8's code cache for it, app.cache, made at build time after a first
// request (scripts/code-cache.ts), so a cold start does not compile what that request runs.
// V8 rejects a cache made by another Node.js build, with other V8 flags or for other source;
// it then compiles app.js as require would, and only the saving is lost.
"use strict";
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { Script } = require("node:vm");

const file = join(__dirname, "app.js");
let cachedData;
try {
  cachedData = readFileSync(join(__dirname, "app.cache"));
} catch {
  cachedData = undefined;
}
// app.js is built as the function Node wraps a CommonJS module in (scripts/bundle.ts), so it runs as if required.
const script = new Script(readFileSync(file, "utf8"), { filename: file, cachedData });
script.runInThisContext()(module.exports, require, module, file, __dirname);
// What became of the cache, for tests and for anyone checking a deployed package.
const codeCache = cachedData === undefined ? "absent" : script.cachedDataRejected ? "rejected" : "accepted";
Object.defineProperty(module.exports, Symbol.for("cos-sts-broker.codeCache"), { value: codeCache });
