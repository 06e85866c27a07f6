// A static page that uploads straight to Tencent COS with cos-js-sdk-v5, using short-lived
// credentials from cos-sts-broker. No framework, no build step: config.json next to this
// file says where the broker is (docs/local-development.md, "The upload page").

const state = { config: null, token: "", session: null };
const $ = (id) => document.getElementById(id);

/** An error whose message is already in plain words for the person at the page. */
class PlainError extends Error {}

function show(text, kind) {
  const message = $("message");
  message.textContent = text;
  message.className = kind;
}

// ---- the broker -------------------------------------------------------------------------

/** POST {profile, scope} with the login token; the answer is the broker's JSON. */
async function requestCredentials(profile, scope) {
  let response;
  try {
    response = await fetch(state.config.brokerUrl, {
      method: "POST",
      headers: { Authorization: `Bearer ${state.token}`, "Content-Type": "application/json" },
      body: JSON.stringify(scope ? { profile, scope } : { profile }),
    });
  } catch {
    throw new PlainError(
      `Could not reach the credential broker at ${state.config.brokerUrl}. Is it running, and does its CORS_ORIGINS list ${location.origin}?`,
    );
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw brokerError(response.status, data, response.headers.get("Retry-After"));
  return data;
}

function brokerError(status, data, retryAfter) {
  const code = data.error?.code ?? `HTTP ${status}`;
  const detail = data.error?.message ?? "";
  if (status === 401)
    return new PlainError("Your login token was not accepted: it has expired, or it was not signed by the key the broker trusts. Sign in again.");
  if (code === "ScopeNotAllowed") return new PlainError(`The broker refused to grant this: ${detail}.`);
  if (code === "IdentityNotAllowed") return new PlainError(`Your account cannot be given a storage folder: ${detail}.`);
  if (status === 429 || status === 503) return new PlainError(`The broker is busy. Try again in ${retryAfter ?? "a few"} seconds.`);
  if (status === 502 || status === 504)
    return new PlainError(`The broker could not get credentials from Tencent Cloud STS right now (${code}). Try again shortly.`);
  if (code === "ConfigError") return new PlainError(`The broker is misconfigured: ${detail}.`);
  return new PlainError(`The broker answered ${status} ${code}${detail ? `: ${detail}` : ""}.`);
}

// ---- COS clients --------------------------------------------------------------------------

/**
 * One cos-js-sdk-v5 client per permission profile. getAuthorization is wired as Tencent's
 * guide shows (https://cloud.tencent.com/document/product/436/11459): credentials from your
 * server, StartTime from the server's clock, ExpiredTime from STS, and with ScopeLimit the
 * SDK's options.Scope sent along so each credential covers exactly one request's object.
 */
function cosFor(profile, scopeLimit) {
  const client = new COS({
    ...(state.config.cos ?? {}),
    getAuthorization(options, callback) {
      client.brokerFailure = null;
      requestCredentials(profile, scopeLimit ? options.Scope : undefined).then(
        (data) => {
          callback({
            TmpSecretId: data.credentials.tmpSecretId,
            TmpSecretKey: data.credentials.tmpSecretKey,
            SecurityToken: data.credentials.sessionToken,
            StartTime: data.startTime,
            ExpiredTime: data.expiredTime,
            ScopeLimit: scopeLimit,
          });
        },
        (error) => {
          // The SDK only learns "no credentials"; keep the broker's reason to show instead.
          client.brokerFailure = error;
          callback({});
        },
      );
    },
  });
  return client;
}

/** Runs one SDK call; a failure becomes a PlainError naming what went wrong. */
function call(client, method, params, what) {
  return new Promise((resolve, reject) => {
    client[method](params, (error, data) => {
      if (!error) return resolve(data);
      reject(client.brokerFailure ?? cosError(error, what));
    });
  });
}

function cosError(error, what) {
  const code = error.code ?? error.error?.Code;
  if (!error.statusCode && !code) {
    return new PlainError(`Could not reach COS (network error, or the bucket's CORS rules do not allow ${location.origin}).`);
  }
  const said = error.message ? ` COS said: ${error.message}` : "";
  if (code === "AccessDenied" && /expired/i.test(error.message ?? ""))
    return new PlainError(`The request's signature expired before it reached COS; check this computer's clock.${said}`);
  if (code === "AccessDenied") return new PlainError(`Access denied: your credentials do not allow you to ${what}.${said}`);
  if (code === "ExpiredToken") return new PlainError("Your temporary credentials expired. Try again; the page will fetch new ones.");
  if (code === "RequestTimeTooSkewed") return new PlainError("This computer's clock is too far off for COS to accept the request.");
  if (["InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"].includes(code))
    return new PlainError(`COS did not accept the credentials (${code}).${said}`);
  if (code === "NoSuchBucket") return new PlainError("COS says the bucket does not exist: check the broker's COS_BUCKET and COS_REGION.");
  return new PlainError(`COS refused to ${what} (${code ?? error.statusCode}).${said}`);
}

// ---- the page -----------------------------------------------------------------------------

async function signIn() {
  state.token = $("token").value.trim();
  if (!state.token) return show("Paste your login token first.", "error");
  show("Signing in…", "");
  // The first credential tells us the user's bucket, region and folder.
  state.session = await requestCredentials("upload");
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
