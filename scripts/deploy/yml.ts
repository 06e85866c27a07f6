/**
 * serverless.yml, the one description of the deployment, read the way `npm run deploy` and the
 * `multi-scf` component both need it. What the component does with it (its src/formatter.ts and
 * tencent-component-toolkit, docs/deploy.md): a function's variables come only from
 * `environments: [{key, value}]`, and an unset `${env:X}` would arrive as the text "undefined".
 * So a variable reaches a function only when it is set, here and in the resolved copy
 * `npm run build` writes for `scf deploy`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isMap, isSeq, parse, parseDocument } from "yaml";
import { type Env, readVar } from "../../lib/shared/env.ts";

export const YML_FILE = "serverless.yml";

export interface YmlVariable {
  readonly key: string;
  readonly value: string;
}

export interface YmlFunction {
  readonly name?: string;
  readonly src: string;
  /** An event function's; a web function starts from scf_bootstrap. */
  readonly handler?: string;
  readonly type?: string;
  /** Web functions only: several requests at once per instance. */
  readonly instanceConcurrencyConfig?: { readonly enable?: boolean; readonly dynamicEnabled?: boolean; readonly maxConcurrency?: number };
  readonly runtime?: string;
  readonly memorySize?: number;
  readonly timeout?: number;
  readonly role?: string;
  readonly namespace?: string;
  readonly environments?: readonly YmlVariable[];
}

export interface YmlTrigger {
  readonly type: string;
  readonly function: string;
  readonly parameters?: Readonly<Record<string, unknown>>;
}

export interface Yml {
  readonly app: string;
  readonly stage: string;
  readonly component: string;
  readonly name: string;
  readonly inputs: {
    readonly src: { readonly src: string; readonly exclude?: readonly string[] };
    readonly region?: string;
    readonly runtime?: string;
    readonly type?: string;
    readonly memorySize?: number;
    readonly namespace?: string;
    readonly functions: Readonly<Record<string, YmlFunction>>;
    readonly triggers?: readonly YmlTrigger[];
  };
}

export function readYml(path: string): Yml {
  return parse(readFileSync(path, "utf8")) as Yml;
}

const WHOLE_REFERENCE = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$/;
const REFERENCE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** X of a value that is exactly `${env:X}`. */
export function envReference(value: unknown): string | undefined {
  return typeof value === "string" ? WHOLE_REFERENCE.exec(value)?.[1] : undefined;
}

/** Every X a text refers to as `${env:X}`. */
function referencedVariables(text: string): string[] {
  return [...text.matchAll(REFERENCE)].map((match) => match[1]!);
}

/** Empty counts as unset, as the functions read it (lib/shared/env.ts). A literal value is always set. */
export function isSet(variable: YmlVariable, env: Env): boolean {
  const name = envReference(variable.value);
  return name === undefined ? String(variable.value ?? "") !== "" : readVar(env, name) !== undefined;
}

/** Fills `${env:X}` in a text; names the unset ones instead of writing "undefined". */
export function substitute(text: string, env: Env): { readonly text: string; readonly unset: readonly string[] } {
  const unset: string[] = [];
  const filled = text.replace(REFERENCE, (_, name: string) => {
    const value = readVar(env, name);
    if (value === undefined) unset.push(name);
    return value ?? "";
  });
  return { text: filled, unset };
}

const HEADER = [
  " Written by `npm run build` from ../serverless.yml: give this file to `scf deploy` (run it here,",
  " in dist/). Each function lists only the variables that were set when it was written, still as",
  ` $\{env:X}, so no secret is on disk and none arrives as the text "undefined". Rebuild after`,
  " setting or unsetting one. Do not edit: edit ../serverless.yml.",
].join("\n");

/**
 * The yml `scf deploy` can be given: the functions' `environments` cut to the variables set in
 * env, and the code folder being the folder this copy is written to.
 */
function resolvedYml(sourceText: string, env: Env): string {
  const document = parseDocument(sourceText);
  document.setIn(["inputs", "src", "src"], "./");
  const functions = document.getIn(["inputs", "functions"]);
  if (isMap(functions)) {
    for (const pair of functions.items) {
      const list = isMap(pair.value) ? pair.value.get("environments", true) : undefined;
      if (!isSeq(list)) continue;
      list.items = list.items.filter((item) => isSet((item as { toJSON(): YmlVariable }).toJSON(), env));
    }
  }
  document.commentBefore = HEADER;
  return document.toString({ lineWidth: 0 });
}

/** Writes `<outDir>/serverless.yml`; returns the settings it still needs (see unsetSettings). */
export function writeResolvedYml(root: string, outDir: string, env: Env): readonly string[] {
  const text = resolvedYml(readFileSync(join(root, YML_FILE), "utf8"), env);
  writeFileSync(join(outDir, YML_FILE), text);
  return unsetSettings(parse(text) as Yml, env);
}

/** Variables the deployment's own settings (stage, region, role...) refer to and env leaves unset. */
export function unsetSettings(yml: Yml, env: Env): readonly string[] {
  const functions = Object.values(yml.inputs.functions).map(({ environments: _, ...settings }) => settings);
  const text = JSON.stringify({ ...yml, inputs: { ...yml.inputs, functions } });
  return [...new Set(referencedVariables(text))].filter((name) => readVar(env, name) === undefined);
}
