/**
 * The layout stays true: every import in lib/ and functions/ is read, and the suite fails on
 * an import cycle or an import against the layer order that docs/architecture.md draws:
 * shared <- cam <- grant <- broker; identity, sts <- broker; check may use anything; nothing
 * in lib/ imports check, and lib/ never imports the adapters, dev tools or tests.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

/** Which lib/ layers each layer may import (its own included). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  shared: ["shared"],
  cam: ["shared", "cam"],
  grant: ["shared", "cam", "grant"],
  identity: ["shared", "identity"],
  sts: ["shared", "sts"],
  broker: ["shared", "cam", "grant", "identity", "sts", "broker"],
  check: ["shared", "cam", "grant", "identity", "sts", "broker", "check"],
};

type Graph = ReadonlyMap<string, readonly string[]>;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((name) => /\.(ts|mts)$/.test(name) && !name.endsWith(".d.ts"))
    .map((name) => join(dir, name).split("\\").join("/"));
}

/** Every relative import, re-export and dynamic import of each file, as repository paths. */
function importGraph(files: readonly string[]): Graph {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), "utf8"), true, true);
    const targets = importedFiles
      .map((ref) => ref.fileName)
      .filter((name) => name.startsWith("."))
      .map((name) =>
        relative(ROOT, resolve(ROOT, dirname(file), name))
          .split("\\")
          .join("/"),
      );
    graph.set(file, targets);
  }
  return graph;
}

/** `lib/grant/policy.ts` -> `grant`; anything outside lib/ -> its top folder, prefixed. */
function layerOf(file: string): string {
  const [top, second] = file.split("/");
  return top === "lib" ? (second ?? "") : `<${top}>`;
}

/** Imports that break the order: upward arrows, lib/ reaching outside itself, anyone but the timer adapter reaching check. */
function layerViolations(graph: Graph): string[] {
  const found: string[] = [];
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    for (const target of targets) {
      const to = layerOf(target);
      if (file.startsWith("lib/")) {
        if (!(ALLOWED[from] ?? []).includes(to)) found.push(`${file} -> ${target} (${from} may import only ${(ALLOWED[from] ?? []).join(", ")})`);
      } else if (file.startsWith("functions/") && !(target.startsWith("lib/") || target.startsWith("functions/"))) {
        found.push(`${file} -> ${target} (adapters import only lib/ and functions/)`);
      } else if (to === "check" && file.startsWith("functions/") && !file.startsWith("functions/credential-check/")) {
        found.push(`${file} -> ${target} (only the timer adapter runs the check)`);
      }
    }
  }
  return found;
}

/** Each cycle once, as a path `a -> b -> a`. */
function cycles(graph: Graph): string[] {
  const found: string[] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next].join(" -> "));
      else if (!state.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe("the layout", () => {
  const graph = importGraph([...sourceFiles("lib"), ...sourceFiles("functions")]);

  it("reads the real tree", () => {
    expect(graph.size).toBeGreaterThan(30);
    expect(graph.get("lib/broker/app.ts")).toContain("lib/broker/config.ts");
  });

  it("has no import cycle in lib/ or functions/", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("imports only along the layer order", () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it("puts every lib/ file in a known layer", () => {
    const unknown = [...graph.keys()].filter((file) => file.startsWith("lib/") && !(layerOf(file) in ALLOWED));
    expect(unknown).toEqual([]);
  });

  it("catches what it is for: a cycle, an upward arrow, a reach into dev/ or into check", () => {
    const bad: Graph = new Map([
      ["lib/grant/a.ts", ["lib/grant/b.ts"]],
      ["lib/grant/b.ts", ["lib/grant/a.ts", "lib/broker/config.ts"]],
      ["lib/shared/x.ts", ["lib/cam/y.ts"]],
      ["lib/broker/z.ts", ["dev/defaults.ts", "lib/check/run.ts"]],
      ["functions/issue-credentials/index.ts", ["lib/check/run.ts", "dev/stack.ts"]],
    ]);
    expect(cycles(bad)).toEqual(["lib/grant/a.ts -> lib/grant/b.ts -> lib/grant/a.ts"]);
    expect(layerViolations(bad)).toHaveLength(6);
  });
});
