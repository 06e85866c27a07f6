/**
 * The loopback Tencent Cloud API on its own, driven by Tencent's SDKs: signatures checked, the
 * API 3.0 envelope and codes, SCF's rules for what a function may be given, and faults shaped
 * like the real ones.
 */
import { zipSync } from "fflate";
import { CommonClient } from "tencentcloud-sdk-nodejs-common";
import { Client as ScfClient } from "tencentcloud-sdk-nodejs-scf/tencentcloud/services/scf/v20180416/scf_client.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CloudApi, startCloudApi, unauthorized } from "../../dev/cloud-api/index.ts";
import type { PermanentKey } from "../../dev/sts-emulator/index.ts";
import { generateKey } from "../../dev/sts-emulator/registry.ts";
import { recordSecret } from "../support/capture.ts";

let api: CloudApi;
let key: PermanentKey;

const profile = () => ({ httpProfile: { endpoint: new URL(api.url).host, protocol: "http://" } });
const scf = (secretKey = key.secretKey) => new ScfClient({ credential: { secretId: key.secretId, secretKey }, region: "ap-guangzhou", profile: profile() });
const cam = () =>
  new CommonClient("cam.tencentcloudapi.com", "2019-01-16", {
    credential: { secretId: key.secretId, secretKey: key.secretKey },
    region: "",
    profile: profile(),
  });
const codeOf = (error: unknown) => (error as { code?: string }).code;
const zip = Buffer.from(zipSync({ "index.js": new TextEncoder().encode("exports.main_handler = async () => 1;") })).toString("base64");

const createFunction = (extra: Record<string, unknown> = {}) =>
  scf().CreateFunction({ FunctionName: "fn-a", Handler: "index.main_handler", Runtime: "Nodejs20.19", Code: { ZipFile: zip }, ...extra });

beforeAll(async () => {
  key = generateKey();
  recordSecret("secretKey", key.secretKey);
  api = await startCloudApi({ keys: [key] });
});
afterAll(() => api.close());

describe("the cloud API emulator", () => {
  it("checks TC3 signatures with the caller's key", async () => {
    await expect(scf("wrong-key").ListTriggers({ FunctionName: "x" })).rejects.toMatchObject({ code: "AuthFailure.SignatureFailure" });
    const stranger = new ScfClient({ credential: { secretId: "AKIDnobody", secretKey: "k" }, region: "ap-guangzhou", profile: profile() });
    await expect(stranger.ListTriggers({ FunctionName: "x" })).rejects.toMatchObject({ code: "AuthFailure.SecretIdNotFound" });
  });

  it("answers SCF and CAM on one endpoint by API version, and refuses parameters an action does not take", async () => {
    await expect(scf().GetFunction({ FunctionName: "nothing-here" })).rejects.toMatchObject({ code: "ResourceNotFound.Function" });
    await expect(cam().request("GetRole", { RoleName: "nobody" })).rejects.toMatchObject({ code: "InvalidParameter.RoleNotExist" });
    await expect(cam().request("GetRole", { RoleNme: "typo" })).rejects.toMatchObject({ code: "UnknownParameter" });
    const other = new CommonClient("x.tencentcloudapi.com", "2020-01-01", {
      credential: { secretId: key.secretId, secretKey: key.secretKey },
      region: "",
      profile: profile(),
    });
    await expect(other.request("GetRole", {})).rejects.toMatchObject({ code: "NoSuchVersion" });
  });

  it("refuses what SCF refuses: empty or reserved variables, an unknown role, a runtime change, a change while one is under way", async () => {
    const variables = (Variables: object[]) => ({ Environment: { Variables } });
    await expect(createFunction(variables([{ Key: "A", Value: "" }]))).rejects.toMatchObject({ code: "InvalidParameterValue.Environment" });
    await expect(createFunction(variables([{ Key: "SCF_X", Value: "1" }]))).rejects.toMatchObject({ code: "InvalidParameterValue.Environment" });
    await expect(createFunction({ Role: "no-such-role" })).rejects.toMatchObject({ code: "InvalidParameterValue.Role" });
    await expect(createFunction({ Runtime: "Nodejs99" })).rejects.toMatchObject({ code: "InvalidParameterValue.Runtime" });
    await createFunction();
    await expect(scf().UpdateFunctionCode({ FunctionName: "fn-a", ZipFile: zip })).rejects.toMatchObject({ code: "FailedOperation.UpdateFunctionCode" });
    expect((await scf().GetFunction({ FunctionName: "fn-a" })).Status).toBe("Creating");
    expect((await scf().GetFunction({ FunctionName: "fn-a" })).Status).toBe("Active");
    await expect(scf().UpdateFunctionConfiguration({ FunctionName: "fn-a", Runtime: "Nodejs18.15" })).rejects.toMatchObject({
      code: "InvalidParameterValue.Runtime",
    });
  });

  it("gives a Function URL that answers 501 until it is given an invoker, and keeps one URL per qualifier", async () => {
    const desc = JSON.stringify({ AuthType: "NONE", NetConfig: { EnableIntranet: false, EnableExtranet: true } });
    const { TriggerInfo } = await scf().CreateTrigger({ FunctionName: "fn-a", TriggerName: "url", Type: "http", TriggerDesc: desc, Qualifier: "$DEFAULT" });
    const url = JSON.parse(TriggerInfo!.TriggerDesc!).NetConfig.ExtranetUrl as string;
    expect((await fetch(url)).status).toBe(501);
    expect((await fetch(`${url}0`)).status).toBe(404);
    await expect(
      scf().CreateTrigger({ FunctionName: "fn-a", TriggerName: "url2", Type: "http", TriggerDesc: desc, Qualifier: "$DEFAULT" }),
    ).rejects.toMatchObject({
      code: "ResourceInUse.Trigger",
    });
  });

  it("injects a missing permission the way the services refuse it, and throttling", async () => {
    api.inject(unauthorized("scf:GetFunction"), { actions: ["GetFunction"], times: 1 });
    const refused = await scf()
      .GetFunction({ FunctionName: "fn-a" })
      .catch((error: unknown) => error);
    expect(codeOf(refused)).toBe("AuthFailure.UnauthorizedOperation");
    expect((refused as Error).message).toContain("you are not authorized to perform operation (scf:GetFunction)");
    api.inject({ kind: "throttle" }, { times: 1 });
    await expect(scf().GetFunction({ FunctionName: "fn-a" })).rejects.toMatchObject({ code: "RequestLimitExceeded" });
    expect((await scf().GetFunction({ FunctionName: "fn-a" })).FunctionName).toBe("fn-a");
  });
});
