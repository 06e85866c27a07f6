/** The docs test itself: it reads the convention as CONTRIBUTING.md states it, and it notices drift. */
import { afterAll, describe, expect, it } from "vitest";
import { classify, fencesOf } from "./blocks.ts";
import { outputMismatch } from "./expect.ts";
import { removeWorkDir, runBlock } from "./shell.ts";

afterAll(removeWorkDir);

const read = (markdown: string) => classify(fencesOf("doc.md", markdown));
const fence = (info: string, body: string) => `\`\`\`${info}\n${body}\n\`\`\`\n\n`;

describe("reading the blocks", () => {
  it("runs a plain sh block, with the output block after it, on the stack of the npm start before it", () => {
    const { blocks, errors } = read(
      fence("sh", "npm run token -- --sub bob") +
        fence("text output", "eyJ...") +
        fence("sh", "X=1 npm start") +
        fence("sh", "curl -s http://127.0.0.1:9000/") +
        fence("json output exit=1", "{}") +
        fence("sh cloud", "# needs the cloud: an account\nscf deploy") +
        fence("sh docker", "# needs Docker: a daemon\ndocker build -t x .") +
        fence("sh setup", "npm install && npm start\nnpm test"),
    );
    expect(errors).toEqual([]);
    expect(blocks.map((block) => block.kind)).toEqual(["run", "start", "run", "cloud", "docker", "setup"]);
    expect(blocks[0]).toMatchObject({ kind: "run", output: { format: "text", exit: 0 }, start: undefined });
    expect(blocks[2]).toMatchObject({ kind: "run", output: { format: "json", exit: 1 }, start: "X=1 npm start" });
  });

  it("refuses what would let a command go unrun or unchecked", () => {
    const cases: [string, RegExp][] = [
      [fence("", "npm run policy -- --sub a"), /name the block's language/],
      [fence("bash", "npm run policy -- --sub a"), /write commands in ```sh blocks/],
      [fence("text", "npm run policy -- --sub a"), /a command in a text block/],
      [fence("sh later", "npm run policy -- --sub a"), /unknown attribute 'later'/],
      [fence("sh cloud", "scf deploy"), /opens with '# needs the cloud/],
      [fence("sh", "# needs the cloud: an account\nscf deploy"), /opens with '# needs the cloud/],
      [fence("sh docker", "docker run x"), /opens with '# needs Docker/],
      [fence("sh docker", "# needs Docker: a daemon\nnpm run build\ndocker build ."), /docker commands only; run 'npm run build'/],
      [fence("sh setup", "npm run bench"), /run 'npm run bench' in a plain sh block/],
      [fence("sh", "npm start &\ncurl -s http://127.0.0.1:9000/"), /npm start goes alone/],
      [fence("json", "{}") + fence("text output", "x"), /follows the sh block whose output it shows/],
      [fence("sh", "echo") + fence("text output exit=one", "x"), /unknown attribute 'exit=one'/],
      [fence("sh cloud", "# needs the cloud: x\nscf deploy") + fence("text output", "x"), /a cloud block is not run/],
    ];
    for (const [markdown, error] of cases) expect(read(markdown).errors.join("\n"), markdown).toMatch(error);
  });
});

describe("matching output", () => {
  it("text: exact, but for ... within a line and ... lines", () => {
    expect(outputMismatch("text", "a\n...\nport ... ms\nend", "a\nb\nc\nport 9 ms  \nend\n")).toBeUndefined();
    expect(outputMismatch("text", "a\nport ... ms", "a\nport 9 s")).toMatch(/first differing line 2/);
    expect(outputMismatch("text", "a", "a\nb")).toMatch(/does not match/);
    expect(outputMismatch("text", "a.b", "axb")).toMatch(/does not match/);
  });

  it("JSON: the keys shown, ... in strings, open arrays, numbers and ISO times by kind", () => {
    const shown = '{"id": "AKID...", "n": 1767225600, "at": "2026-01-01T00:15:00Z", "list": ["a", "..."], "fixed": "x"}';
    expect(outputMismatch("json", shown, '{"id":"AKIDz","n":5,"at":"2027-03-04T05:06:07.890Z","list":["a","b"],"fixed":"x"}')).toBeUndefined();
    expect(outputMismatch("json", shown, '{"id":"AKIDz","n":5,"at":"2027","list":["a"],"fixed":"x"}')).toMatch(/\$\.at/);
    expect(outputMismatch("json", shown, '{"id":"AKIDz","n":"5","at":"2027-03-04T05:06:07Z","list":["a"],"fixed":"x"}')).toMatch(/\$\.n/);
    expect(outputMismatch("json", shown, '{"id":"AKIDz","n":5,"at":"2027-03-04T05:06:07Z","list":["a"],"fixed":"y"}')).toMatch(/\$\.fixed/);
    expect(outputMismatch("json", shown, '{"id":"AKIDz","n":5,"at":"2027-03-04T05:06:07Z","list":["a"],"fixed":"x","more":1}')).toMatch(/keys/);
    expect(outputMismatch("json", '["a"]', '["a","b"]')).toMatch(/1 items, got 2/);
    expect(outputMismatch("json", "{}", "not json")).toMatch(/not JSON/);
  });
});

describe("running a block", () => {
  it("gives stdout and stderr in order, and the first failing command's exit status", async () => {
    const ran = await runBlock("echo one\necho two >&2\nfalse\necho never");
    expect(ran).toEqual({ code: 1, output: "one\ntwo\n" });
    expect(outputMismatch("text", "one\nthree", ran.output)).toMatch(/first differing line 2/);
  });

  it("runs from a copy of the repository without the developer's .env", async () => {
    const ran = await runBlock("test -f package.json && test -d examples && test ! -e .env && echo ok");
    expect(ran).toEqual({ code: 0, output: "ok\n" });
  });
});
