/** docs/contract.md lists every variable the code reads, no more, each with its default. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import MarkdownIt from "markdown-it";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES } from "../../lib/broker/config.ts";
import { CHECK_VARIABLES } from "../../lib/check/config.ts";
import { ROOT } from "./blocks.ts";

interface Row {
  readonly variables: readonly string[];
  readonly cells: readonly string[];
}

/** Each table of the file, under the heading it follows: its rows' cells as written. */
function tablesByHeading(markdown: string): Map<string, Row[]> {
  const tables = new Map<string, Row[]>();
  let heading = "";
  let inHeading = false;
  let row: string[] | undefined;
  let inBody = false;
  for (const token of new MarkdownIt().parse(markdown, {})) {
    if (token.type === "heading_open") inHeading = true;
    else if (token.type === "heading_close") inHeading = false;
    else if (token.type === "tbody_open") inBody = true;
    else if (token.type === "tbody_close") inBody = false;
    else if (token.type === "tr_open" && inBody) row = [];
    else if (token.type === "inline" && inHeading) heading = token.content;
    else if (token.type === "inline" && row) row.push(token.content);
    else if (token.type === "tr_close" && row) {
      const variables = [...(row[0] ?? "").matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1]!);
      tables.set(heading, [...(tables.get(heading) ?? []), { variables, cells: row }]);
      row = undefined;
    }
  }
  return tables;
}

describe("docs/contract.md, Configuration", () => {
  const tables = tablesByHeading(readFileSync(join(ROOT, "docs/contract.md"), "utf8"));
  const table = (heading: string) => tables.get(heading) ?? [];
  const broker = table("The broker (both functions)");
  const check = table("The scheduled check (credential-check only)");

  it("lists exactly the variables the broker reads (CONFIG_VARIABLES)", () => {
    expect(broker.flatMap((row) => row.variables).sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it("lists exactly the variables the check adds (CHECK_VARIABLES)", () => {
    expect(check.flatMap((row) => row.variables).sort()).toEqual([...CHECK_VARIABLES].sort());
  });

  it("gives every variable a meaning and a default", () => {
    for (const row of [...broker, ...check]) {
      expect(row.cells, row.variables.join(", ")).toHaveLength(3);
      expect(
        row.cells.every((cell) => cell.trim().length > 0),
        row.variables.join(", "),
      ).toBe(true);
    }
  });
});
