// The certificate verification page (电子证照核验): hash the picked file on the device, ask the public
// verification API, and show the answer so that nobody can misread it (colour, icon and words together).
// All strings come from messages.json; the server already rendered the page in the chosen language, and
// this script switches in place and remembers the choice.

import { ALGORITHMS, WebCryptoUnavailableError, digestFile } from "./digest.js";

const API = "/api/v1/verify";
const LANGUAGE_KEY = "govledger.verify.lang";
const LANGUAGES = ["zh-CN", "en"];
const CERT_ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,31}$/;
const SVG_NS = "http://www.w3.org/2000/svg";

// How each status looks: its tone (colour) and icon. Words come from messages.json ("status.<name>").
const LOOKS = {
  valid: ["good", "icon-valid"],
  revoked: ["bad", "icon-revoked"],
  tampered: ["bad", "icon-tampered"],
  suspended: ["warn", "icon-suspended"],
  expired: ["warn", "icon-clock"],
  not_yet_valid: ["warn", "icon-clock"],
  superseded: ["warn", "icon-superseded"],
  not_found: ["neutral", "icon-not-found"],
  error: ["neutral", "icon-error"],
};

const $ = (id) => document.getElementById(id);
const form = $("verify-form");
const fileInput = $("document");
const certInput = $("cert-id");
const holderIdInput = $("holder-id");
const holderSaltInput = $("holder-salt");
const submitButton = $("submit");
const progress = $("progress");
const resultBox = $("result");
const dropzone = $("dropzone");

let language = LANGUAGES.includes(document.documentElement.lang) ? document.documentElement.lang : "zh-CN";
let messages = null;
let shown = null; // the last outcome, kept so a language switch can render it again
let busy = false;

class PageError extends Error {
  constructor(key, params = {}, detail = "") {
    super(key);
    this.key = key;
    this.params = params;
    this.detail = detail;
  }
}

function t(key, params = {}) {
  const table = (messages && messages[language]) || {};
  const text = table[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

// ---- language -------------------------------------------------------------------------------------

function otherLanguage() {
  return language === "en" ? "zh-CN" : "en";
}

function applyLanguage(next) {
  language = next;
  document.documentElement.lang = next;
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const element of document.querySelectorAll("[data-i18n-aria-label]")) {
    element.setAttribute("aria-label", t(element.dataset.i18nAriaLabel));
  }
  const link = $("lang-switch");
  const other = otherLanguage();
  link.lang = other;
  link.hreflang = other;
  link.dataset.lang = other;
  link.href = `?lang=${other}`;
  if (shown) render(shown);
}

function switchLanguage(next) {
  applyLanguage(next);
  try {
    localStorage.setItem(LANGUAGE_KEY, next);
  } catch {
    // Private browsing may refuse storage; the ?lang= in the address still carries the choice.
  }
  const url = new URL(location.href);
  url.searchParams.set("lang", next);
  history.replaceState(null, "", url);
}

function languageFromAddress() {
  const asked = new URL(location.href).searchParams.get("lang");
  if (asked === null) return null;
  return asked.toLowerCase().startsWith("en") ? "en" : "zh-CN";
}

function storedLanguage() {
  try {
    const stored = localStorage.getItem(LANGUAGE_KEY);
    return LANGUAGES.includes(stored) ? stored : null;
  } catch {
    return null;
  }
}

// ---- talking to the API ---------------------------------------------------------------------------

function certPath(certId) {
  // Certificate numbers may contain "/", which the route takes as part of the number.
  return certId.split("/").map(encodeURIComponent).join("/");
}

async function callApi(url, init, certId) {
  let response;
  try {
    response = await fetch(url, { ...init, headers: { Accept: "application/json", ...(init.headers || {}) } });
  } catch {
    throw new PageError("error.network");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.ok && body && typeof body.status === "string") return body;
  if (response.status === 404 && certId) return { status: "not_found", certificate_id: certId, holder: {} };
  if (response.status === 429) throw new PageError("error.rate_limited");
  const detail = body && body.error && typeof body.error.message === "string" ? body.error.message : "";
  if (response.status >= 400 && response.status < 500 && detail) throw new PageError("explain.error", {}, detail);
  throw new PageError("error.server", { code: response.status });
}

function lookUp(certId) {
  return callApi(`${API}/certificates/${certPath(certId)}`, { method: "GET" }, certId);
}

function postVerification(request) {
  return callApi(
    API,
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request) },
    request.cert_id,
  );
}

// ---- the verification flow ------------------------------------------------------------------------

function chosenAlgorithm() {
  return form.querySelector("input[name=hash_algorithm]:checked").value;
}

function readHolder() {
  const idNumber = holderIdInput.value.trim();
  const salt = holderSaltInput.value.trim();
  if (!idNumber && !salt) return null;
  if (idNumber.length < 4 || salt.length < 16 || salt.length > 128) throw new PageError("error.holder_incomplete");
  return { id_number: idNumber, salt };
}

function setProgress(key) {
  progress.textContent = key ? t(key) : "";
}

async function verifyDocument(file, certId, holder) {
  const chosen = chosenAlgorithm();
  const tried = [];
  let algorithm = chosen === "auto" ? "sha256" : chosen;
  for (;;) {
    setProgress("progress.hashing");
    let hash;
    try {
      hash = await digestFile(file, algorithm);
    } catch (error) {
      throw new PageError(error instanceof WebCryptoUnavailableError ? "error.no_webcrypto" : "error.read_file");
    }
    setProgress("progress.checking");
    const request = { document_hash: hash, hash_algorithm: algorithm };
    if (certId) request.cert_id = certId;
    if (holder) request.holder = holder;
    const outcome = await postVerification(request);
    outcome.computed = { algorithm, hash };
    tried.push(algorithm);
    if (chosen !== "auto") return outcome;
    // "Automatic" starts with SHA-256. A registration made with SM3 shows up as a mismatch (the answer then
    // names the registered algorithm) or, without a certificate number, as not found: hash again with SM3.
    const registered = outcome.document && outcome.document.hash_algorithm;
    if (outcome.status === "tampered" && ALGORITHMS.includes(registered) && !tried.includes(registered)) {
      algorithm = registered;
    } else if (outcome.status === "not_found" && !certId && !tried.includes("sm3")) {
      algorithm = "sm3";
    } else {
      return outcome;
    }
  }
}

async function run() {
  if (busy) return;
  const file = fileInput.files.length ? fileInput.files[0] : null;
  const certId = certInput.value.trim();
  busy = true;
  submitButton.disabled = true;
  try {
    if (certId && !CERT_ID.test(certId)) throw new PageError("error.bad_cert_id");
    const holder = readHolder();
    if (!file && !certId) throw new PageError(holder ? "error.holder_needs_cert" : "error.no_input");
    if (file) show(await verifyDocument(file, certId, holder));
    else if (holder) show(await postVerification({ cert_id: certId, holder }));
    else show(await lookUp(certId));
  } catch (error) {
    if (error instanceof PageError) show({ status: "error", error });
    else {
      show({ status: "error", error: new PageError("error.server", { code: "page" }) });
      throw error;
    }
  } finally {
    busy = false;
    submitButton.disabled = false;
    setProgress(null);
  }
}

// ---- showing the outcome --------------------------------------------------------------------------

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function icon(name, className) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const use = document.createElementNS(SVG_NS, "use");
  use.setAttribute("href", `#${name}`);
  svg.append(use);
  return svg;
}

function formatDate(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return iso || "";
  return new Intl.DateTimeFormat(language, {
    year: "numeric", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit",
  }).format(date);
}

function copyButton(value, fieldKey) {
  const button = element("button", { type: "button", class: "copy", "aria-label": t("copy.label", { field: t(fieldKey) }) },
    t("copy"));
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value);
      button.textContent = t("copied");
      setTimeout(() => { button.textContent = t("copy"); }, 2000);
    } catch {
      // Without clipboard access, select the value so the citizen can copy it by hand.
      const selection = getSelection();
      selection.selectAllChildren(button.previousElementSibling);
    }
  });
  return button;
}

function hashValue(value, fieldKey, link = null) {
  const row = element("span", { class: "value-row" }, element("code", { class: "hash" }, value), copyButton(value, fieldKey));
  if (link) row.append(link);
  return row;
}

function row(list, field, ...content) {
  list.append(element("div", { "data-field": field }, element("dt", {}, t(`field.${field}`)), element("dd", {}, ...content)));
}

function explorerLink(anchor) {
  const template = document.querySelector("meta[name=govledger-explorer-tx]").content;
  if (!template || !anchor.tx_hash) return null;
  const href = template
    .replaceAll("{tx_hash}", encodeURIComponent(anchor.tx_hash))
    .replaceAll("{block_number}", encodeURIComponent(String(anchor.block_number ?? "")));
  return element("a", { href, rel: "noopener noreferrer", target: "_blank", "data-role": "explorer" }, t("anchor.explorer"));
}

function verifyLink(certId) {
  const query = language === "en" ? "?lang=en" : "";
  return element("a", { href: `/verify/${certPath(certId)}${query}` }, t("superseded.link", { id: certId }));
}

function checkText(matches, prefix) {
  if (matches === true) return element("span", { class: "value-good" }, t(`${prefix}.matches`));
  if (matches === false) return element("span", { class: "value-bad" }, t(`${prefix}.differs`));
  return t(`${prefix}.unchecked`);
}

function render(outcome) {
  const status = LOOKS[outcome.status] ? outcome.status : "error";
  const [tone, iconName] = LOOKS[status];
  const error = outcome.error;
  const title = t(`status.${status}`);
  const explanation = error ? (error.detail || t(error.key, error.params)) : t(`explain.${status}`);
  const banner = element("div", { class: `banner tone-${tone}` }, icon(iconName, "icon"),
    element("div", {}, element("h2", { id: "result-title" }, title), element("p", {}, explanation)));
  const parts = [banner];
  if (error && error.detail) parts.push(element("p", { class: "notice tone-neutral" }, t(error.key, error.params)));

  const holder = outcome.holder || {};
  if (holder.checked && holder.matches === false) {
    parts.push(element("p", { class: "notice tone-bad", "data-role": "holder-mismatch" }, t("holder.mismatch.notice")));
  }

  const details = element("dl", { class: "details" });
  if (outcome.certificate_id) row(details, "certificate_id", outcome.certificate_id);
  if (outcome.certificate_type) row(details, "certificate_type", outcome.certificate_type);
  if (outcome.issuer) {
    const { name, code } = outcome.issuer;
    row(details, "issuer", name ? (language === "en" ? `${name} (${code})` : `${name}（${code}）`) : code);
  }
  if (outcome.valid_from && outcome.valid_until) {
    row(details, "validity", t("validity.range", { from: formatDate(outcome.valid_from), until: formatDate(outcome.valid_until) }));
  }
  if (outcome.issued_at) row(details, "issued_at", formatDate(outcome.issued_at));
  // A certificate that never changed status reports its issue time here; only a real change is news.
  if (outcome.status_changed_at && outcome.status_changed_at !== outcome.issued_at) {
    row(details, "status_changed_at", formatDate(outcome.status_changed_at));
  }
  if (outcome.reason) row(details, "reason", outcome.reason);
  if (outcome.superseded_by) row(details, "superseded_by", verifyLink(outcome.superseded_by));
  const computed = outcome.computed;
  const documentCheck = outcome.document;
  const documentHash = computed ? computed.hash : documentCheck && documentCheck.document_hash;
  if (documentHash) {
    const algorithm = computed ? computed.algorithm : documentCheck.hash_algorithm;
    const label = ALGORITHMS.includes(algorithm) ? t(`algorithm.${algorithm}`) : algorithm;
    row(details, "document_hash", element("span", { class: "hash-algorithm" }, `${label} `), hashValue(documentHash, "field.document_hash"));
  }
  if (computed && documentCheck) {
    row(details, "document", checkText(documentCheck.matches, "document"));
    if (documentCheck.matches === false && documentCheck.document_hash) {
      row(details, "registered_hash", hashValue(documentCheck.document_hash, "field.registered_hash"));
    }
  }
  if (holder.checked) row(details, "holder", checkText(holder.matches, "holder"));
  if (outcome.checked_at) row(details, "checked_at", formatDate(outcome.checked_at));
  if (details.childElementCount) parts.push(details);

  const anchor = outcome.anchor;
  if (anchor) {
    const onChain = element("dl", { class: "details" });
    if (anchor.tx_hash) row(onChain, "tx_hash", hashValue(anchor.tx_hash, "field.tx_hash", explorerLink(anchor)));
    else row(onChain, "tx_hash", t("anchor.pending"));
    if (anchor.block_number !== null && anchor.block_number !== undefined) {
      row(onChain, "block_number", hashValue(String(anchor.block_number), "field.block_number"));
    }
    if (anchor.chain_id !== undefined) row(onChain, "chain_id", String(anchor.chain_id));
    if (anchor.contract) row(onChain, "contract", hashValue(anchor.contract, "field.contract"));
    parts.push(element("h3", {}, t("anchor.heading")), onChain);
  }

  resultBox.replaceChildren(...parts);
  resultBox.dataset.status = status;
  resultBox.dataset.tone = tone;
}

function show(outcome) {
  shown = outcome;
  setProgress(null);
  render(outcome);
  resultBox.scrollIntoView({ block: "start" });
}

// ---- wiring ---------------------------------------------------------------------------------------

function showFileName() {
  const name = $("file-name");
  const file = fileInput.files.length ? fileInput.files[0] : null;
  name.hidden = !file;
  name.textContent = file ? `${t("file.chosen")}${file.name}` : "";
}

async function start() {
  const response = await fetch(document.querySelector("meta[name=govledger-messages]").content);
  messages = await response.json();

  const asked = languageFromAddress();
  if (asked) switchLanguage(asked);
  else {
    const stored = storedLanguage();
    if (stored && stored !== language) applyLanguage(stored);
  }

  $("lang-switch").addEventListener("click", (event) => {
    event.preventDefault();
    switchLanguage(otherLanguage());
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  fileInput.addEventListener("change", () => {
    showFileName();
    if (fileInput.files.length) run();
  });
  for (const name of ["dragenter", "dragover"]) {
    dropzone.addEventListener(name, (event) => {
      event.preventDefault();
      dropzone.classList.add("dragging");
    });
  }
  dropzone.addEventListener("dragleave", () => dropzone.classList.remove("dragging"));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropzone.classList.remove("dragging");
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    fileInput.files = event.dataTransfer.files;
    fileInput.dispatchEvent(new Event("change"));
  });

  document.body.dataset.ready = "true";
  // Arriving from a certificate's QR code (/verify/<number>): show its status at once.
  if (certInput.value.trim()) await run();
}

start();
