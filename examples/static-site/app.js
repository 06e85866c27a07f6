// A static page that uploads straight to Tencent COS with cos-js-sdk-v5, using short-lived
// credentials from cos-sts-broker through its client helper (client/index.js, served here as
// vendor/cos-sts-broker-client.js). No framework, no build step: config.json next to this
// file says where the broker is (docs/local-development.md, "The upload page").
import { BrokerError, cosAuthorization, errorOf, requestCredentials } from "./vendor/cos-sts-broker-client.js";

const state = { config: null, token: "", session: null };
const $ = (id) => document.getElementById(id);

/** An error whose message is already in plain words for the person at the page. */
class PlainError extends Error {}

function show(text, kind) {
  const message = $("message");
  message.textContent = text;
  message.className = kind;
}

// ---- the broker and COS --------------------------------------------------------------------

/** Where the broker is and who is asking: the login token pasted or minted on this page. */
const broker = () => ({ url: state.config.brokerUrl, token: () => state.token });

/** The broker's refusal in words (its code and message come through the client helper). */
function brokerMessage(error) {
  const { status, code, message } = error;
  if (code === "NetworkError")
    return new PlainError(
      `Could not reach the credential broker at ${state.config.brokerUrl}. Is it running, and does its CORS_ORIGINS list ${location.origin}?`,
    );
  if (status === 401)
    return new PlainError("Your login token was not accepted: it has expired, or it was not signed by the key the broker trusts. Sign in again.");
  if (code === "ScopeNotAllowed") return new PlainError(`The broker refused to grant this: ${message}.`);
  if (code === "IdentityNotAllowed") return new PlainError(`Your account cannot be given a storage folder: ${message}.`);
  if (status === 429 || status === 503) return new PlainError(`The broker is busy. Try again in ${error.retryAfter ?? "a few"} seconds.`);
  if (status === 502 || status === 504)
    return new PlainError(`The broker could not get credentials from Tencent Cloud STS right now (${code}). Try again shortly.`);
  if (code === "ConfigError") return new PlainError(`The broker is misconfigured: ${message}.`);
  return new PlainError(`The broker answered ${status} ${code}: ${message}.`);
}

/** Credentials once, for the user's bucket, region and folder. */
function credentials(profile) {
  return requestCredentials({ ...broker(), profile }).catch((error) => {
    throw error instanceof BrokerError ? brokerMessage(error) : error;
  });
}

/**
 * One cos-js-sdk-v5 client per permission profile, its getAuthorization from the client helper
 * (client/index.js): credentials from the broker, and with ScopeLimit one per request's object.
 */
function cosFor(profile, scopeLimit) {
  return new COS({ ...(state.config.cos ?? {}), getAuthorization: cosAuthorization({ ...broker(), profile, scopeLimit }) });
}

/** Runs one SDK call; a failure becomes a PlainError naming what went wrong. */
function call(client, method, params, what) {
  return new Promise((resolve, reject) => {
    client[method](params, (error, data) => {
      if (!error) return resolve(data);
      const failure = errorOf(error, client.options.getAuthorization);
      reject(failure instanceof BrokerError ? brokerMessage(failure) : cosError(failure, what));
    });
  });
}

function cosError({ code, message }, what) {
  if (code === "NetworkError") return new PlainError(`Could not reach COS (network error, or the bucket's CORS rules do not allow ${location.origin}).`);
  const said = message && message !== code ? ` COS said: ${message}` : "";
  if (code === "AccessDenied" && /expired/i.test(message))
    return new PlainError(`The request's signature expired before it reached COS; check this computer's clock.${said}`);
  if (code === "AccessDenied") return new PlainError(`Access denied: your credentials do not allow you to ${what}.${said}`);
  if (code === "ExpiredToken") return new PlainError("Your temporary credentials expired. Try again; the page will fetch new ones.");
  if (code === "RequestTimeTooSkewed") return new PlainError("This computer's clock is too far off for COS to accept the request.");
  if (["InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"].includes(code))
    return new PlainError(`COS did not accept the credentials (${code}).${said}`);
  if (code === "NoSuchBucket") return new PlainError("COS says the bucket does not exist: check the broker's COS_BUCKET and COS_REGION.");
  return new PlainError(`COS refused to ${what} (${code}).${said}`);
}

// ---- the page -----------------------------------------------------------------------------

async function signIn() {
  state.token = $("token").value.trim();
  if (!state.token) return show("Paste your login token first.", "error");
  show("Signing in…", "");
  // The first credential tells us the user's bucket, region and folder.
  state.session = await credentials("upload");
  $("who").textContent = `Signed in. Your folder is ${state.session.prefix} in bucket ${state.session.bucket} (${state.session.region}).`;
  $("upload").hidden = false;
  $("files").hidden = false;
  state.uploader = cosFor("upload", false);
  state.scopedUploader = cosFor("upload", true);
  state.lister = cosFor("list", false);
  suggestKey();
  show("", "");
  await listFiles();
}

function suggestKey() {
  const file = $("file").files[0];
  $("key").value = `${state.session.prefix}${file ? file.name : ""}`;
  $("upload-button").disabled = !file;
}

async function upload() {
  const file = $("file").files[0];
  const key = $("key").value.trim();
  const progress = $("progress");
  progress.value = 0;
  $("progress-text").textContent = "";
  show(`Uploading ${file.name}…`, "");
  const client = $("scope-limit").checked ? state.scopedUploader : state.uploader;
  const params = {
    Bucket: state.session.bucket,
    Region: state.session.region,
    Key: key,
    Body: file,
    SliceSize: 5 * 1024 * 1024,
    onProgress(info) {
      progress.value = Math.round(info.percent * 100);
      $("progress-text").textContent = `${progress.value}%`;
    },
  };
  try {
    await call(client, "uploadFile", params, `write "${key}"`);
  } catch (error) {
    // The bytes may all have been sent before COS refused them: that is not 100%.
    progress.value = 0;
    $("progress-text").textContent = "not uploaded";
    throw error;
  }
  progress.value = 100;
  $("progress-text").textContent = "100%";
  show(`Uploaded ${key}.`, "ok");
  await listFiles();
}

async function listFiles() {
  const data = await call(
    state.lister,
    "getBucket",
    { Bucket: state.session.bucket, Region: state.session.region, Prefix: state.session.prefix },
    "list your folder",
  );
  const rows = (data.Contents ?? []).map((item) => {
    const row = document.createElement("tr");
    for (const text of [item.Key.slice(state.session.prefix.length), formatSize(Number(item.Size)), new Date(item.LastModified).toLocaleString()]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  });
  $("file-list").replaceChildren(...rows);
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function devToken() {
  const name = $("dev-name").value.trim();
  const response = await fetch(`dev-token?sub=${encodeURIComponent(name)}`);
  const data = await response.json();
  if (!response.ok) throw new PlainError(data.error ?? "Could not mint a dev token.");
  $("token").value = data.token;
  await signIn();
}

/** Every button shows its failure in words instead of failing silently. */
function guarded(action) {
  return () => action().catch((error) => show(error instanceof PlainError ? error.message : `Something went wrong: ${error.message}`, "error"));
}

async function start() {
  const response = await fetch("config.json", { cache: "no-store" }).catch(() => null);
  if (!response?.ok) throw new PlainError('config.json is missing next to this page: it must name the broker, e.g. {"brokerUrl": "https://…"}.');
  state.config = await response.json();
  $("dev-token").hidden = !state.config.devTokens;
  $("signin-button").addEventListener("click", guarded(signIn));
  $("dev-token-button").addEventListener("click", guarded(devToken));
  $("upload-button").addEventListener("click", guarded(upload));
  $("refresh-button").addEventListener("click", guarded(listFiles));
  $("file").addEventListener("change", suggestKey);
}

guarded(start)();
