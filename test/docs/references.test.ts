/**
 * Everything a reader is pointed to is in the repository: no file cites a file kept outside
 * it (the product brief and style notes beside the project, a `../shared/` folder), and every
 * relative link in the markdown reaches a file, and a heading when it names one.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import GithubSlugger from "github-slugger";
import MarkdownIt from "markdown-it";
import { describe, expect, it } from "vitest";
import { markdownFiles, projectFiles, ROOT } from "./blocks.ts";

/** Files that live beside the repository, never in it. */
const OUTSIDE_NAMES = ["PRODUCT", "STYLE"].map((name) => new RegExp(`\\b${name}\\.md\\b`));
/** A relative path up to a `shared` folder or a markdown file: outside, when it climbs above the root. */
const UPWARD = /(?:\.\.\/)+(?:shared\/[\w./-]*|(?:[\w-][\w.-]*\/)*[\w.-]+\.md)\b/g;

function outsideCitations(file: string, text: string): string[] {
  const found = OUTSIDE_NAMES.filter((name) => name.test(text)).map((name) => `${file}: cites ${name.source.replaceAll("\\b", "").replace("\\.", ".")}`);
  for (const [path] of text.matchAll(UPWARD)) {
    if (relative(ROOT, resolve(ROOT, dirname(file), path)).startsWith("..")) found.push(`${file}: cites ${path}, outside the repository`);
  }
  return found;
}

function isText(file: string): boolean {
  const bytes = readFileSync(join(ROOT, file));
  return !bytes.includes(0);
}

const markdown = new MarkdownIt();

/** The anchors GitHub gives a file's headings. */
function anchorsOf(file: string): Set<string> {
  const slugger = new GithubSlugger();
  const tokens = markdown.parse(readFileSync(join(ROOT, file), "utf8"), {});
  const headings = tokens.flatMap((token, i) => (token.type === "heading_open" ? [tokens[i + 1]!] : []));
  return new Set(headings.map((inline) => slugger.slug((inline.children ?? []).map((child) => child.content).join(""))));
}

/** Relative links of one markdown file that reach no file, or no heading of it. */
function brokenLinks(file: string): string[] {
  const hrefs = markdown
    .parse(readFileSync(join(ROOT, file), "utf8"), {})
    .flatMap((token) => token.children ?? [])
    .flatMap((token) => (token.type === "link_open" ? [String(token.attrGet("href") ?? "")] : []));
  return hrefs
    .filter((href) => !/^[a-z]+:/i.test(href))
    .flatMap((href) => {
      const [path = "", anchor] = href.split("#");
      const target = path
        ? relative(ROOT, resolve(ROOT, dirname(file), path))
            .split("\\")
            .join("/")
        : file;
      if (target.startsWith("..") || !existsSync(join(ROOT, target))) return [`${file}: ${href} reaches no file in the repository`];
      if (anchor && target.endsWith(".md") && !anchorsOf(target).has(anchor)) return [`${file}: ${href} names no heading of ${target}`];
      return [];
    });
}

describe("references", () => {
  it("no file cites a file kept outside the repository", () => {
    const files = projectFiles((file) => file !== "package-lock.json").filter(isText);
    expect(files.length).toBeGreaterThan(100);
    expect(files.flatMap((file) => outsideCitations(file, readFileSync(join(ROOT, file), "utf8")))).toEqual([]);
  });

  it("catches what it is for", () => {
    expect(outsideCitations("lib/grant/prefix.ts", `// (${"PRODUCT"}.md "Errors")`)).toHaveLength(1);
    expect(outsideCitations("README.md", `see ../${"shared"}/STYLE_NOTES.txt and ../notes.md`)).toHaveLength(2);
    expect(outsideCitations("lib/grant/prefix.ts", 'import { x } from "../shared/errors.ts"; see ../../docs/contract.md')).toEqual([]);
  });

  it("every relative link in the markdown reaches a file, and the heading it names", () => {
    expect(markdownFiles().flatMap(brokenLinks)).toEqual([]);
  });

  it("knows GitHub's anchors", () => {
    expect(anchorsOf("docs/profiles.md")).toContain("npm-run-policy-see-a-policy-before-deploying");
    expect(anchorsOf("docs/contract.md")).toContain("the-scheduled-check-credential-check-only");
  });
});
