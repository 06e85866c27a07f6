/**
 * serverless.yml against the code: every function under functions/ is deployed from its own
 * build output, loads as SCF loads it, and gets exactly the variables its code reads.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, normalize } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { DIST_DIR, listFunctions, ROOT, SCF_RUNTIME } from "../../scripts/bundle.ts";
import { exportType } from "../support/bundle.ts";

interface YmlFunction {
  name: string;
  src: string;
  handler: string;
  role: string;
  timeout: number;
  environment: { variables: Record<string, string> };
}
interface YmlTrigger {
  type: string;
  function: string;
  parameters: Record<string, unknown>;
}
interface Yml {
  app: string;
  stage: string;
  component: string;
  name: string;
  inputs: { src: { src: string }; runtime: string; functions: Record<string, YmlFunction>; triggers: YmlTrigger[] };
}

const yml = parse(readFileSync(join(ROOT, "serverless.yml"), "utf8")) as Yml;
const bundleDir = inject("bundleDir");
const functions = listFunctions();
const RESERVED = /^(SCF_|QCLOUD_|TENCENTCLOUD_)/;

describe("serverless.yml", () => {
  it("is a multi-scf Components app that uploads the build folder for the runtime the bundles target", () => {
    expect(yml).toMatchObject({ component: "multi-scf", app: expect.any(String), stage: expect.any(String), name: expect.any(String) });
    expect(normalize(yml.inputs.src.src)).toBe(normalize(DIST_DIR));
    expect(yml.inputs.runtime).toBe(SCF_RUNTIME);
  });

  it("deploys every function under functions/, each from its own build folder, with an execution role", () => {
    expect(functions.filter((name) => !(name in yml.inputs.functions))).toEqual([]);
    for (const [key, fn] of Object.entries(yml.inputs.functions)) {
      expect(normalize(fn.src), key).toBe(key);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the yml's own ${env:X} syntax
      expect(fn.role, key).toBe("${env:EXECUTION_ROLE}");
    }
  });

  // Driven by functions/*, so a function added there is checked here without a change.
  it.each(functions)("%s: src and handler exist in the build output and load as SCF loads them", async (name) => {
    const fn = yml.inputs.functions[name]!;
    const dir = join(bundleDir, fn.src);
    expect(existsSync(join(dir, `${fn.handler.split(".")[0]}.js`))).toBe(true);
    expect(await exportType(dir, fn.handler)).toBe("function");
  });

  it.each(functions)("%s: sets exactly the variables its code reads, each from the deploying shell", async (name) => {
    const { ENV_VARIABLES } = (await import(`../../functions/${name}/index.ts`)) as { ENV_VARIABLES: readonly string[] };
    const variables = yml.inputs.functions[name]!.environment.variables;
    expect(Object.keys(variables).sort()).toEqual([...ENV_VARIABLES].sort());
    for (const [variable, value] of Object.entries(variables)) expect(value).toBe(`\${env:${variable}}`);
  });

  it("sets no variable with a name the platform reserves", () => {
    const names = Object.values(yml.inputs.functions).flatMap((fn) => Object.keys(fn.environment.variables));
    expect(names.filter((variable) => RESERVED.test(variable))).toEqual([]);
  });

  it("puts the broker behind a public Function URL and runs the check on an enabled 7-field timer", () => {
    const triggers = yml.inputs.triggers;
    for (const trigger of triggers) expect(Object.keys(yml.inputs.functions)).toContain(trigger.function);
    expect(triggers.find((trigger) => trigger.type === "http")).toMatchObject({
      function: "issue-credentials",
      parameters: { authType: "NONE", netConfig: { enableExtranet: true } },
    });
    const timer = triggers.find((trigger) => trigger.type === "timer");
    expect(timer).toMatchObject({ function: "credential-check", parameters: { enable: true } });
    expect(String(timer?.parameters.cronExpression).split(" ")).toHaveLength(7);
  });
});
