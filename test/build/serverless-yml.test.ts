/**
 * serverless.yml as Tencent's `multi-scf` component would deploy it. The component cannot run
 * here (its CLI is not on our registry), so its rules are applied as written in its source,
 * each rule below naming the file it comes from, to the real files: the dist/serverless.yml
 * `npm run build` writes, and the source serverless.yml. `npm run deploy` reads the same file
 * (test/e2e/deploy.test.ts runs what it deploys).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { listFunctions, ROOT, SCF_RUNTIME } from "../../scripts/bundle.ts";
import { writeResolvedYml, YML_FILE, type Yml, type YmlFunction } from "../../scripts/deploy/yml.ts";
import { exportType } from "../support/bundle.ts";
import { WEB_VARIANT, webVariant } from "../support/deploy.ts";

const bundleDir = inject("bundleDir");
const source = parse(readFileSync(join(ROOT, YML_FILE), "utf8")) as Yml;
/** The functions serverless.yml deploys; the server is the broker's web-function form (WEB_VARIANT). */
const functions = Object.keys(source.inputs.functions).sort();
const RESERVED = /^(SCF_|QCLOUD_|TENCENTCLOUD_)/;

const sorted = <T extends { Key: string }>(list: readonly T[]) => [...list].sort((a, b) => a.Key.localeCompare(b.Key));
const variablesOf = async (name: string) => ((await import(`../../functions/${name}/index.ts`)) as { ENV_VARIABLES: readonly string[] }).ENV_VARIABLES;

/** What CreateFunction would receive for one function, and where its code would come from. */
interface Created {
  readonly FunctionName: string;
  readonly Type: "Event" | "HTTP";
  /** Event functions only: the toolkit sends none for a web function. */
  readonly Handler?: string;
  readonly InstanceConcurrencyConfig?: { DynamicEnabled: string; MaxConcurrency: number };
  readonly Runtime: string;
  readonly Variables: readonly { Key: string; Value: string }[];
  /** The folder zipped as the function's code. */
  readonly codeDir: string;
}

interface Trigger {
  readonly type: string;
  readonly function: string;
  readonly parameters: Record<string, unknown>;
}

/**
 * The component's rules, applied to a yml in `ymlDir`:
 * 1. `${env:X}` is the deploying shell's (or .env's) X; an unset X resolves to undefined; `${name}`,
 *    `${stage}` and `${app}` are the yml's own (@serverless/components, variable resolution).
 * 2. Settings under `inputs` apply to every function, a function's own win
 *    (tencent-multi-scf src/formatter.ts, formatInputs: `Object.assign({}, commonInputs, func)`).
 * 3. `const { environments = [] } = inputs; ... inputs.environment = { variables: <from environments> }`:
 *    a function's `environment:` is always replaced (src/formatter.ts, formatFaasInputs).
 * 4. Each variable is sent as `{ Key: key, Value: String(val) }`, so undefined becomes "undefined"
 *    (tencent-component-toolkit src/modules/scf/utils.ts, formatInputs).
 * 5. A function's code is `<inputs.src.src>/<function src>`, re-zipped on its own, so its files sit at
 *    the zip's root (src/formatter.ts, uploadCodeToCos).
 * 6. `type: web` is CreateFunction's `Type: HTTP`; only an event function gets its `Handler`, only a
 *    web function its `instanceConcurrencyConfig`, maxConcurrency defaulting to 2 (tencent-component-toolkit
 *    src/modules/scf/utils.ts, formatInputs).
 */
function componentDeploy(text: string, ymlDir: string, env: Record<string, string | undefined>): { functions: Map<string, Created>; triggers: Trigger[] } {
  const resolve = (value: unknown): unknown => {
    if (typeof value === "string") {
      const whole = /^\$\{env:(\w+)\}$/.exec(value);
      return whole ? env[whole[1]!] : value.replace(/\$\{env:(\w+)\}/g, (_, name: string) => env[name] ?? "");
    }
    if (Array.isArray(value)) return value.map(resolve);
    if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolve(item)]));
    return value;
  };
  const withEnv = resolve(parse(text)) as Yml;
  const own: Record<string, string> = { name: withEnv.name, stage: withEnv.stage, app: withEnv.app };
  const yml = JSON.parse(JSON.stringify(withEnv).replace(/\$\{(name|stage|app)\}/g, (_, key: string) => own[key]!)) as Yml;
  const { src, functions: declared, triggers, ...common } = yml.inputs;
  const created = new Map<string, Created>();
  for (const [key, own] of Object.entries(declared)) {
    const fn = { ...common, ...own } as YmlFunction & { environment?: unknown };
    fn.environment = { variables: Object.fromEntries((fn.environments ?? []).map(({ key: name, value }) => [name, value])) };
    const web = fn.type === "web";
    const concurrency = web && fn.instanceConcurrencyConfig?.enable ? fn.instanceConcurrencyConfig : undefined;
    created.set(key, {
      FunctionName: String(fn.name),
      Type: web ? "HTTP" : "Event",
      ...(web ? {} : { Handler: fn.handler }),
      ...(concurrency
        ? { InstanceConcurrencyConfig: { DynamicEnabled: concurrency.dynamicEnabled ? "TRUE" : "FALSE", MaxConcurrency: concurrency.maxConcurrency || 2 } }
        : {}),
      Runtime: String(fn.runtime),
      Variables: Object.entries((fn.environment as { variables: Record<string, unknown> }).variables).map(([Key, val]) => ({ Key, Value: String(val) })),
      codeDir: join(ymlDir, src.src, fn.src),
    });
  }
  return { functions: created, triggers: (triggers ?? []) as Trigger[] };
}

/** A deploying shell with some variables set, one of them empty, and the rest unset. */
const SHELL = {
  STAGE: "prod",
  EXECUTION_ROLE: "cos-sts-broker-exec",
  COS_BUCKET: "examplebucket-1250000000",
  COS_REGION: "ap-guangzhou",
  JWT_SECRET: "s".repeat(40),
  STS_ROLE_ARN: "qcs::cam::uin/100000000001:roleName/cos-sts-broker-uploader",
  CORS_ORIGINS: "https://app.example",
  JWT_AUDIENCE: "",
  ALERT_WEBHOOK_URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
};

describe("serverless.yml, deployed by the multi-scf component's rules", () => {
  const resolvedText = () => {
    expect(writeResolvedYml(ROOT, bundleDir, SHELL)).toEqual([]);
    return readFileSync(join(bundleDir, YML_FILE), "utf8");
  };

  it.each(functions)("%s: every variable its code reads and the shell set arrives with its value, and nothing else", async (name) => {
    const created = componentDeploy(resolvedText(), bundleDir, SHELL).functions.get(name)!;
    const expected = (await variablesOf(name))
      .filter((variable) => SHELL[variable as keyof typeof SHELL])
      .map((Key) => ({ Key, Value: SHELL[Key as keyof typeof SHELL] }));
    expect(sorted(created.Variables)).toEqual(sorted(expected));
    expect(created.Variables.filter(({ Value }) => Value === "undefined" || Value === "")).toEqual([]);
  });

  it.each(functions)("%s: the handler's file is at the root of the folder that gets zipped, and loads as SCF loads it", async (name) => {
    const created = componentDeploy(resolvedText(), bundleDir, SHELL).functions.get(name)!;
    const handler = created.Handler!;
    const file = `${handler.slice(0, handler.lastIndexOf("."))}.js`;
    expect(existsSync(join(created.codeDir, file))).toBe(true);
    expect(normalize(dirname(join(created.codeDir, file)))).toBe(normalize(join(bundleDir, name)));
    expect(await exportType(created.codeDir, handler)).toBe("function");
    expect(created).toMatchObject({ Type: "Event", Runtime: SCF_RUNTIME, FunctionName: `cos-sts-broker-prod-${name}` });
    expect(created.InstanceConcurrencyConfig).toBeUndefined();
  });

  it("deployed as a web function instead (docs/deploy.md), the broker starts from an executable scf_bootstrap, with the same variables", async () => {
    const event = componentDeploy(resolvedText(), bundleDir, SHELL).functions.get(WEB_VARIANT.function)!;
    const web = componentDeploy(webVariant(resolvedText()), bundleDir, SHELL).functions.get(WEB_VARIANT.function)!;
    expect(web).toMatchObject({ Type: "HTTP", FunctionName: event.FunctionName, Runtime: SCF_RUNTIME, Variables: event.Variables });
    expect(web.Handler).toBeUndefined();
    expect(web.InstanceConcurrencyConfig).toEqual({ DynamicEnabled: "FALSE", MaxConcurrency: 10 });
    expect(normalize(web.codeDir)).toBe(normalize(join(bundleDir, "server")));
    const bootstrap = join(web.codeDir, "scf_bootstrap");
    expect(statSync(bootstrap).mode & 0o755).toBe(0o755);
    // cloud.tencent.com/document/product/583/56126: #!/bin/bash first, LF line ends, node by its absolute path.
    const text = readFileSync(bootstrap, "utf8");
    expect(text.startsWith("#!/bin/bash\n")).toBe(true);
    expect(text).not.toContain("\r");
    expect(text).toMatch(/^exec \/var\/lang\/node20\/bin\/node "\$\(dirname "\$0"\)\/index\.js"$/m);
    const serverReads = await variablesOf("server");
    expect(web.Variables.map(({ Key }) => Key).filter((name) => !serverReads.includes(name))).toEqual([]);
  });

  it("with every variable set, every one of them arrives", async () => {
    const everything = Object.fromEntries([...(await variablesOf("credential-check")), "STAGE", "EXECUTION_ROLE"].map((name) => [name, `v-${name}`]));
    writeResolvedYml(ROOT, bundleDir, everything);
    const { functions: created } = componentDeploy(readFileSync(join(bundleDir, YML_FILE), "utf8"), bundleDir, everything);
    for (const name of functions)
      expect(
        created
          .get(name)!
          .Variables.map(({ Key }) => Key)
          .sort(),
      ).toEqual([...(await variablesOf(name))].sort());
  });

  it('why the resolved copy exists: the source file, deployed as it is, would send unset variables as the text "undefined"', () => {
    const { functions: created } = componentDeploy(readFileSync(join(ROOT, YML_FILE), "utf8"), ROOT, SHELL);
    const broker = created.get("issue-credentials")!;
    expect(broker.Variables).toContainEqual({ Key: "STS_SECRET_KEY", Value: "undefined" });
    expect(broker.Variables).toContainEqual({ Key: "JWT_AUDIENCE", Value: "" });
  });

  it("puts the broker behind a public Function URL and runs the check on an enabled 7-field timer", () => {
    const { triggers } = componentDeploy(resolvedText(), bundleDir, SHELL);
    expect(triggers.find((trigger) => trigger.type === "http")).toMatchObject({
      function: "issue-credentials",
      parameters: { authType: "NONE", qualifier: "$DEFAULT", netConfig: { enableExtranet: true } },
    });
    const timer = triggers.find((trigger) => trigger.type === "timer");
    expect(timer).toMatchObject({ function: "credential-check", parameters: { enable: true } });
    expect(String(timer?.parameters.cronExpression).split(" ")).toHaveLength(7);
  });
});

describe("serverless.yml, the source", () => {
  it("deploys every function under functions/ but the server (its web form) and the Fetch handler, each from its own build folder, on the runtime the bundles target, with an execution role", () => {
    expect(source).toMatchObject({ component: "multi-scf", app: expect.any(String), stage: expect.any(String), name: expect.any(String) });
    expect(source.inputs.runtime).toBe(SCF_RUNTIME);
    expect(functions).toEqual(listFunctions().filter((name) => name !== "server"));
    for (const [key, fn] of Object.entries(source.inputs.functions)) {
      expect(normalize(fn.src), key).toBe(key);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the yml's own ${env:X} syntax
      expect(fn.role, key).toBe("${env:EXECUTION_ROLE}");
      expect(fn, key).not.toHaveProperty("environment");
    }
  });

  it.each(functions)("%s: lists exactly the variables its code reads, each from the deploying shell", async (name) => {
    const variables = source.inputs.functions[name]!.environments ?? [];
    expect(variables.map(({ key }) => key).sort()).toEqual([...(await variablesOf(name))].sort());
    for (const { key, value } of variables) expect(value).toBe(`\${env:${key}}`);
  });

  it("switches to a web function exactly as docs/deploy.md tells a reader to", () => {
    const docs = readFileSync(join(ROOT, "docs/deploy.md"), "utf8");
    const shown = /```yaml\n(functions:\n {2}issue-credentials:\n(?: {4}.*\n)+)```/.exec(docs)?.[1];
    expect(parse(shown ?? "")).toEqual({ functions: { [WEB_VARIANT.function]: { type: WEB_VARIANT.type, src: WEB_VARIANT.src } } });
  });

  it("sets no variable with a name the platform reserves", () => {
    const names = Object.values(source.inputs.functions).flatMap((fn) => (fn.environments ?? []).map(({ key }) => key));
    expect(names.filter((variable) => RESERVED.test(variable))).toEqual([]);
  });
});
