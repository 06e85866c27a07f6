// A static page that uploads straight to Tencent COS with cos-js-sdk-v5, using short-lived
// credentials from cos-sts-broker through its client helper (client/index.js, served here as
// vendor/cos-sts-broker-client.js). No framework, no build step: config.json next to this
// file says where the broker is (docs/local-development.md, "The upload page").
// Every result shows under the button that caused it, in words, with what the broker or COS
// answered beside it for developers.
import { BrokerError, cosAuthorization, errorOf, requestCredentials } from "./vendor/cos-sts-broker-client.js";

const state = { config: null, token: "", session: null, clients: null, generation: 0 };
const $ = (id) => document.getElementById(id);

/** A failure in plain words; `answer` is what the broker or COS said ({from, status, code, message}). */
class Outcome extends Error {
  constructor(text, answer) {
    super(text);
    this.answer = answer;
  }
}

/** Shows a result in the status box of one section (signin, upload, files) and brings it into view. */
function report(where, kind, text, answer) {
  const box = $(`${where}-status`);
  box.className = `status ${kind}`;
  box.replaceChildren();
  if (!text) return;
  const line = document.createElement("p");
  line.textContent = text;
  box.append(line);
  if (answer) {
    const detail = document.createElement("p");
    detail.className = "detail";
    const status = answer.status ? `${answer.status} ` : "";
    detail.textContent = `${answer.from} answered ${status}${answer.code ?? "nothing"}${answer.message ? `: ${answer.message}` : ""}`;
    box.append(detail);
  }
  box.scrollIntoView({ block: "nearest" });
}

// ---- the broker and COS ------------------------------------------------------------------

/** Where the broker is and who is asking: the login token pasted or minted on this page. */
const broker = () => ({ url: state.config.brokerUrl, token: () => state.token });

/** The broker's refusal, its code and message as the client helper hands them over, in words. */
function brokerOutcome(error) {
  if (error.code === "NetworkError") {
    return new Outcome(
      `Could not reach the credential broker at ${state.config.brokerUrl}. Is it running, and does its CORS_ORIGINS list ${location.origin}?`,
      {
        from: "The browser",
        message: "no answer, or the answer was blocked (CORS)",
      },
    );
  }
  const answer = { from: "The broker", status: error.status, code: error.code, message: error.message };
  return new Outcome(brokerWords(answer, error.retryAfter), answer);
}

function brokerWords({ status, code }, retryAfter) {
  if (status === 401) return "Your login token was not accepted: it has expired, or it was not signed by the key the broker trusts. Sign in again.";
  if (code === "ScopeNotAllowed") return "The broker would not give credentials for this: it is outside what your account may do.";
  if (code === "IdentityNotAllowed") return "Your account cannot be given a storage folder; ask the site's operator.";
  if (status === 429 || status === 503) return `Too many requests right now. Try again in ${retryAfter ?? "a few"} seconds.`;
  if (status === 502 || status === 504) return "The broker could not get credentials from Tencent Cloud right now. Try again shortly.";
  if (code === "ConfigError") return "The broker is not configured correctly; its operator has to fix it.";
  if (code === "BadRequest") return "The broker could not read what this page asked for.";
  return "The broker could not give credentials.";
}

/** One credential, for the user's bucket, region and folder. */
function credentials(profile) {
  return requestCredentials({ ...broker(), profile }).catch((error) => {
    throw error instanceof BrokerError ? brokerOutcome(error) : error;
  });
}

/**
 * One cos-js-sdk-v5 client per permission profile, its getAuthorization from the client helper:
 * credentials from the broker with StartTime from its clock, and with ScopeLimit the SDK's
 * options.Scope sent along so each credential covers exactly one request's object.
 */
function cosFor(profile, scopeLimit) {
  return new COS({ ...(state.config.cos ?? {}), getAuthorization: cosAuthorization({ ...broker(), profile, scopeLimit }) });
}

/** Runs one SDK call; a failure becomes an Outcome naming what went wrong. */
function call(client, method, params, what) {
  return new Promise((resolve, reject) => {
    client[method](params, (error, data) => {
      if (!error) return resolve(data);
      // The broker's refusal when getAuthorization got none, else COS's answer (client/index.js, errorOf).
      const failure = errorOf(error, client.options.getAuthorization);
      reject(failure instanceof BrokerError ? brokerOutcome(failure) : cosFailure(failure, what));
    });
  });
}

function cosFailure({ status, code, message }, what) {
  if (code === "NetworkError") {
    return new Outcome(`Could not reach COS: a network error, or the bucket's CORS rules do not allow ${location.origin}.`, { from: "COS", message });
  }
  const answer = { from: "COS", status, code, message };
  if (code === "AccessDenied" && /expired/i.test(message)) {
    return new Outcome("The request's signature expired before it reached COS: check this computer's clock.", answer);
  }
  if (code === "AccessDenied") return new Outcome(`Your credentials do not allow you to ${what}.`, answer);
  if (code === "ExpiredToken") return new Outcome("Your temporary credentials expired. Try again: the page fetches new ones.", answer);
  if (code === "RequestTimeTooSkewed") return new Outcome("This computer's clock is too far off for COS to accept the request.", answer);
  if (code === "NoSuchBucket") return new Outcome("COS says the bucket does not exist: check the broker's COS_BUCKET and COS_REGION.", answer);
  if (["InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"].includes(code)) return new Outcome("COS did not accept the credentials.", answer);
  return new Outcome(`COS refused to ${what}.`, answer);
}

// ---- the page -----------------------------------------------------------------------------

/** Forgets everything of the previous user, so nothing of theirs shows or lands in the next one's folder. */
function resetForNewUser() {
  state.generation += 1;
  state.session = null;
  state.clients = null;
  $("upload").hidden = true;
  $("files").hidden = true;
  $("file").value = "";
  $("key").value = "";
  $("upload-button").disabled = true;
  setProgress(undefined);
  $("file-list").replaceChildren();
  $("empty-folder").hidden = true;
  $("empty-folder").textContent = "";
  report("upload", "", "");
  report("files", "", "");
}

async function signIn() {
  const token = $("token").value.trim();
  resetForNewUser();
  if (!token) return report("signin", "error", "Paste your login token first, or get a dev token.");
  state.token = token;
  report("signin", "busy", "Signing in…");
  const generation = state.generation;
  // The first credential tells us the user's bucket, region and folder.
  const session = await credentials("upload");
  if (generation !== state.generation) return;
  state.session = session;
  state.clients = { uploader: cosFor("upload", false), scopedUploader: cosFor("upload", true), lister: cosFor("list", false) };
  $("upload").hidden = false;
  $("files").hidden = false;
  suggestKey();
  report("signin", "ok", `Signed in. Your folder is ${session.prefix} in bucket ${session.bucket} (${session.region}).`);
  await refreshList();
}

function suggestKey() {
  const file = $("file").files[0];
  $("key").value = `${state.session.prefix}${file ? file.name : ""}`;
  $("upload-button").disabled = !file;
  report("upload", "", "");
}

/** Why a key cannot be saved to, before anything is sent; undefined when it can. */
function keyProblem(key, file) {
  if (!key) return `Type where to save the file, e.g. ${state.session.prefix}${file.name}.`;
  if (key.endsWith("/")) return `"${key}" names a folder, not a file: add a file name after the last "/", e.g. ${key}${file.name}.`;
  if (key.startsWith("/")) return `An object key does not start with "/": write ${key.replace(/^\/+/, "")}.`;
  return undefined;
}

async function upload() {
  const file = $("file").files[0];
  const key = $("key").value.trim();
  setProgress(undefined);
  const problem = keyProblem(key, file);
  if (problem) return report("upload", "error", `Not uploaded: ${problem}`);
  const generation = state.generation;
  const { session } = state;
  const client = $("scope-limit").checked ? state.clients.scopedUploader : state.clients.uploader;
  $("upload-button").disabled = true;
  setProgress(0);
  report("upload", "busy", `Uploading ${file.name} to ${key}…`);
  const params = {
    Bucket: session.bucket,
    Region: session.region,
    Key: key,
    Body: file,
    SliceSize: 5 * 1024 * 1024,
    onProgress(info) {
      // The bytes may all be sent before COS refuses them: 100% only once COS said yes.
      if (generation === state.generation) setProgress(Math.min(99, Math.round(info.percent * 100)));
    },
  };
  try {
    await call(client, "uploadFile", params, `write "${key}"`);
  } catch (error) {
    if (generation !== state.generation) return;
    setProgress(undefined);
    throw uploadRefusal(error, key, session.prefix);
  } finally {
    if (generation === state.generation) $("upload-button").disabled = false;
  }
  if (generation !== state.generation) return;
  setProgress(100);
  report("upload", "ok", `Uploaded ${file.name} as ${key} (${formatSize(file.size)}).`);
  await refreshList();
}

/** A refusal of the key itself reads best as where the user may save instead. */
function uploadRefusal(error, key, prefix) {
  if (!(error instanceof Outcome)) return error;
  const { code } = error.answer ?? {};
  if ((code === "AccessDenied" || code === "ScopeNotAllowed") && !key.startsWith(prefix)) {
    return new Outcome(`Not uploaded: "${key}" is outside your folder ${prefix}, the only place you can save files.`, error.answer);
  }
  return new Outcome(`Not uploaded. ${error.message}`, error.answer);
}

/** undefined hides the bar; a number shows it at that percent. */
function setProgress(percent) {
  const progress = $("progress");
  progress.hidden = percent === undefined;
  progress.value = percent ?? 0;
  $("progress-text").textContent = percent === undefined ? "" : `${percent}%`;
}

async function listFiles() {
  const generation = state.generation;
  const { session, clients } = state;
  report("files", "", "");
  const data = await call(clients.lister, "getBucket", { Bucket: session.bucket, Region: session.region, Prefix: session.prefix }, "list your folder");
  if (generation !== state.generation) return;
  const rows = (data.Contents ?? []).map((item) => {
    const row = document.createElement("tr");
    for (const text of [item.Key.slice(session.prefix.length), formatSize(Number(item.Size)), new Date(item.LastModified).toLocaleString()]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  });
  $("file-list").replaceChildren(...rows);
  $("files").querySelector("table").hidden = rows.length === 0;
  const empty = $("empty-folder");
  empty.hidden = rows.length > 0;
  empty.textContent = `Your folder ${session.prefix} is empty: files you upload show up here.`;
}

/** The listing reports its own failure in its own section, whatever asked for it. */
const refreshList = () => guarded(listFiles, "files")();

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function devToken() {
  const name = $("dev-name").value.trim();
  resetForNewUser();
  report("signin", "busy", `Getting a dev token for ${name}…`);
  const response = await fetch(`dev-token?sub=${encodeURIComponent(name)}`);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Outcome(data.error ?? "Could not get a dev token.");
  $("token").value = data.token;
  await signIn();
}

/** Every button shows its failure, in words, in its own section, instead of failing silently. */
function guarded(action, where) {
  return () =>
    action().catch((error) => {
      if (error instanceof Outcome) report(where, "error", error.message, error.answer);
      else report(where, "error", `Something went wrong in this page: ${error.message}`);
    });
}

async function start() {
  const response = await fetch("config.json", { cache: "no-store" }).catch(() => null);
  if (!response?.ok) throw new Outcome('config.json is missing next to this page: it must name the broker, e.g. {"brokerUrl": "https://…"}.');
  state.config = await response.json();
  $("dev-token").hidden = !state.config.devTokens;
  $("signin-button").addEventListener("click", guarded(signIn, "signin"));
  $("dev-token-button").addEventListener("click", guarded(devToken, "signin"));
  $("upload-button").addEventListener("click", guarded(upload, "upload"));
  $("refresh-button").addEventListener("click", refreshList);
  $("file").addEventListener("change", suggestKey);
}

guarded(start, "signin")();
