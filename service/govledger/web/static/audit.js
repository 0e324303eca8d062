// The auditor console (审计 · 完整性校验 · 导出): signs in with an auditor API key, then reads the audit API
// (/api/v1/audit/...) to search events, chart daily activity, open a subject's timeline, show each
// department's completeness, export the current search and run the integrity check.
// The key lives in sessionStorage only (gone with the tab, never in localStorage or the address) and goes out
// as "Authorization: Bearer"; any 401/403 signs out. Strings come from messages.json ("audit.*" keys).

const API = "/api/v1/audit";
const KEY_STORAGE = "govledger.audit.key";
const LANGUAGE_STORAGE = "govledger.audit.lang";
const LANGUAGES = ["zh-CN", "en"];
const PAGE_SIZE = 50;
const ACTIVITY_DAYS = 30;
const BLOCK = /^\d{1,18}$/;
const SVG_NS = "http://www.w3.org/2000/svg";
// Told apart by people with the common colour-vision deficiencies, each at least 3:1 against white.
const SERIES_COLOURS = ["#0072b2", "#d55e00", "#007a5a", "#aa3377", "#7a6400", "#332288", "#117733", "#882255"];
// Offered as suggestions in the event-type box; the API accepts any name.
const EVENT_NAMES = [
  "RecordAnchored", "RecordVersionAppended", "VersionEndorsed", "MaintainerAdded", "MaintainerRemoved",
  "BatchAnchored", "DatasetRegistered", "DatasetMetadataUpdated", "GrantIssued", "GrantRevoked", "DataUseLogged",
  "CertificateIssued", "CertificateBatchIssued", "BatchCertificateRegistered", "CertificateRevoked",
  "CertificateSuspended", "CertificateReinstated", "CertificateSuperseded", "ProposalCreated", "ProposalApproved",
  "ProposalExecuted", "DepartmentAdded", "DepartmentSuspended", "DepartmentReinstated",
];

// Subjects the timeline API can tell the story of; others (accounts, modules) are shown as plain text.
const TIMELINE_KINDS = ["record", "certificate", "dataset", "grant", "proposal", "batch", "department"];

const $ = (id) => document.getElementById(id);

let language = LANGUAGES.includes(document.documentElement.lang) ? document.documentElement.lang : "zh-CN";
let messages = null;

// What the console shows, kept so that a language switch can draw it again.
const state = {
  events: [],
  nextCursor: null,
  finalBlock: null,
  query: null, // the filters of the shown events (URLSearchParams without cursor and limit)
  activity: null,
  departments: null,
  timeline: null,
  integrity: null,
};
// Answers to an older search (or from before a sign-out) must not land in the table.
let generation = 0;

class ConsoleError extends Error {
  constructor(key, params = {}, detail = "") {
    super(key);
    this.key = key;
    this.params = params;
    this.detail = detail;
  }
}

class SignedOut extends Error {}

function t(key, params = {}) {
  const table = (messages && messages[language]) || {};
  const text = table[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

function explain(error) {
  return error.detail ? `${t(error.key, error.params)} ${error.detail}` : t(error.key, error.params);
}

// ---- building the page ------------------------------------------------------------------------------

function html(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child);
  return node;
}

function setStatus(target, text, phase) {
  target.textContent = text;
  target.dataset.state = phase;
}

function formatTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(language, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    hour12: false,
  }).format(date);
}

function shortHash(hash) {
  return hash.length > 18 ? `${hash.slice(0, 10)}…${hash.slice(-6)}` : hash;
}

function copyButton(value, labelKey) {
  const button = html("button", { type: "button", class: "copy", "data-copy": value,
    "aria-label": t("copy.label", { field: t(labelKey) }) }, t("copy"));
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value);
      button.textContent = t("copied");
      setTimeout(() => { button.textContent = t("copy"); }, 2000);
    } catch {
      // Without clipboard access, select the value beside the button so it can be copied by hand.
      getSelection().selectAllChildren(button.previousElementSibling);
    }
  });
  return button;
}

function explorerLink(txHash, blockNumber) {
  const template = document.querySelector("meta[name=govledger-explorer-tx]").content;
  if (!template || !txHash) return null;
  const href = template
    .replaceAll("{tx_hash}", encodeURIComponent(txHash))
    .replaceAll("{block_number}", encodeURIComponent(String(blockNumber ?? "")));
  return html("a", { href, rel: "noopener noreferrer", target: "_blank" }, t("anchor.explorer"));
}

function txHashCell(txHash, { short = false, blockNumber = null } = {}) {
  const code = html("code", { class: "hash", title: txHash }, short ? shortHash(txHash) : txHash);
  return html("span", { class: "value-row" }, code, copyButton(txHash, "field.tx_hash"),
    explorerLink(txHash, blockNumber));
}

function finality(event) {
  return event.final
    ? html("span", { class: "badge final", "data-final": "true" }, `✓ ${t("audit.final")}`)
    : html("span", { class: "badge pending", "data-final": "false" }, `◷ ${t("audit.pending")}`);
}

function departmentName(code) {
  const found = (state.departments || []).find((department) => department.department === code);
  return found && found.name ? found.name : "";
}

// ---- the key and the API ------------------------------------------------------------------------------

function storedKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

function storeKey(key) {
  try {
    sessionStorage.setItem(KEY_STORAGE, key);
  } catch {
    // Storage refused (private mode): the key still works in memory until the page is closed.
  }
  memoryKey = key;
}

let memoryKey = storedKey();

function forgetKey() {
  memoryKey = null;
  try {
    sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // nothing stored
  }
}

async function request(path, params = null, key = memoryKey) {
  const url = params && [...params].length ? `${API}${path}?${params}` : `${API}${path}`;
  let response;
  try {
    response = await fetch(url, { headers: { Authorization: `Bearer ${key}` }, cache: "no-store" });
  } catch {
    throw new ConsoleError("audit.error.network");
  }
  if (response.status === 401 || response.status === 403) {
    signOut(response.status === 401 ? "audit.error.unauthorized" : "audit.error.forbidden");
    throw new SignedOut();
  }
  if (!response.ok) {
    let detail = "";
    try {
      const body = await response.json();
      if (body && body.error && typeof body.error.message === "string") detail = body.error.message;
    } catch {
      // not JSON: the status code says enough
    }
    throw new ConsoleError("audit.error.server", { code: response.status }, detail);
  }
  return response;
}

async function getJson(path, params = null, key = memoryKey) {
  const response = await request(path, params, key);
  try {
    return await response.json();
  } catch {
    throw new ConsoleError("audit.error.server", { code: "json" });
  }
}

// Runs one part of the console; its errors go to that part's status line, a sign-out ends it quietly.
async function guarded(statusElement, work) {
  try {
    await work();
  } catch (error) {
    if (error instanceof SignedOut) return;
    if (error instanceof ConsoleError) setStatus(statusElement, explain(error), "error");
    else {
      setStatus(statusElement, t("audit.error.server", { code: "page" }), "error");
      throw error;
    }
  }
}

// ---- signing in and out ---------------------------------------------------------------------------

async function signIn(key) {
  const signinError = $("signin-error");
  const button = $("signin-submit");
  button.disabled = true;
  setStatus(signinError, t("audit.signin.checking"), "loading");
  try {
    // The department list is small and needs the auditor role: it doubles as the key check.
    const departments = await getJson("/departments", null, key);
    storeKey(key);
    $("api-key").value = "";
    setStatus(signinError, "", "done");
    $("notice").textContent = "";
    showConsole(departments);
  } catch (error) {
    if (error instanceof SignedOut) return; // signOut already explained why
    setStatus(signinError, error instanceof ConsoleError ? explain(error) : t("audit.error.server", { code: "page" }),
      "error");
    if (!(error instanceof ConsoleError)) throw error;
  } finally {
    button.disabled = false;
  }
}

function signOut(reasonKey = null) {
  generation += 1;
  forgetKey();
  Object.assign(state, {
    events: [], nextCursor: null, finalBlock: null, query: null, activity: null, departments: null, timeline: null,
    integrity: null,
  });
  for (const id of ["events-body", "activity-chart", "activity-legend", "activity-table", "departments-body",
    "integrity-result", "timeline-list", "timeline-proof"]) {
    $(id).replaceChildren();
  }
  for (const id of ["events-status", "activity-status", "departments-status", "timeline-status"]) {
    setStatus($(id), "", "idle");
  }
  $("timeline").hidden = true;
  $("load-more").hidden = true;
  $("console").hidden = true;
  $("signin").hidden = false;
  document.body.dataset.signedIn = "false";
  const signinError = $("signin-error");
  if (reasonKey) {
    setStatus(signinError, t(reasonKey), "error");
    signinError.dataset.reason = reasonKey;
    $("notice").textContent = "";
  } else {
    setStatus(signinError, "", "idle");
    delete signinError.dataset.reason;
    $("notice").textContent = t("audit.signout.done");
  }
  $("api-key").focus();
}

function showConsole(departments) {
  $("signin").hidden = true;
  $("console").hidden = false;
  document.body.dataset.signedIn = "true";
  state.departments = departments;
  renderDepartments();
  runSearch(new URLSearchParams());
  loadActivity();
}

// ---- the search -------------------------------------------------------------------------------------

function localTimeToIso(value) {
  if (!value) return null;
  const date = new Date(value); // datetime-local is read in the browser's time zone
  if (Number.isNaN(date.getTime())) throw new ConsoleError("audit.error.bad_range");
  return date.toISOString();
}

function readFilters() {
  const params = new URLSearchParams();
  const events = $("f-event").value.split(/[,，\s]+/).map((name) => name.trim()).filter(Boolean);
  if (events.length) params.set("event", events.join(","));
  const department = $("f-department").value;
  if (department) params.set("department", department);
  const subject = $("f-subject").value.trim();
  if (subject) params.set("subject", subject);
  const fromTime = localTimeToIso($("f-from-time").value);
  const toTime = localTimeToIso($("f-to-time").value);
  if (fromTime && toTime && fromTime > toTime) throw new ConsoleError("audit.error.bad_range");
  if (fromTime) params.set("from_time", fromTime);
  if (toTime) params.set("to_time", toTime);
  const range = readBlockRange();
  for (const [name, value] of Object.entries(range)) params.set(name, value);
  return params;
}

function readBlockRange() {
  const range = {};
  for (const [name, id] of [["from_block", "f-from-block"], ["to_block", "f-to-block"]]) {
    const value = $(id).value.trim();
    if (!value) continue;
    if (!BLOCK.test(value)) throw new ConsoleError("audit.error.bad_block");
    range[name] = String(Number(value));
  }
  if (range.from_block && range.to_block && Number(range.from_block) > Number(range.to_block)) {
    throw new ConsoleError("audit.error.bad_range");
  }
  return range;
}

function filtersOrError() {
  const error = $("filters-error");
  try {
    const params = readFilters();
    setStatus(error, "", "done");
    return params;
  } catch (problem) {
    if (!(problem instanceof ConsoleError)) throw problem;
    setStatus(error, explain(problem), "error");
    return null;
  }
}

async function fetchEvents(query, cursor) {
  const params = new URLSearchParams(query);
  params.set("limit", String(PAGE_SIZE));
  if (cursor) params.set("cursor", cursor);
  return getJson("/events", params);
}

async function runSearch(query) {
  const mine = ++generation;
  const status = $("events-status");
  setStatus(status, t("audit.events.loading"), "loading");
  $("load-more").hidden = true;
  await guarded(status, async () => {
    const page = await fetchEvents(query, null);
    if (mine !== generation) return;
    Object.assign(state, { events: page.events, nextCursor: page.next_cursor, finalBlock: page.final_block, query });
    renderEvents();
  });
}

async function loadMore() {
  if (!state.nextCursor) return;
  const mine = generation;
  const button = $("load-more");
  const status = $("events-status");
  button.disabled = true;
  setStatus(status, t("audit.events.loading"), "loading");
  await guarded(status, async () => {
    const page = await fetchEvents(state.query, state.nextCursor);
    if (mine !== generation) return;
    state.events = state.events.concat(page.events);
    state.nextCursor = page.next_cursor;
    state.finalBlock = page.final_block;
    renderEvents(state.events.length - page.events.length);
  });
  button.disabled = false;
}

function cell(labelKey, ...content) {
  return html("td", { "data-label": t(labelKey) }, ...content);
}

function subjectButton(event) {
  if (!event.subject) return "—";
  const label = event.subject_label || event.subject;
  if (!TIMELINE_KINDS.includes(subjectParts(event.subject)[0])) return html("span", { class: "event-name" }, label);
  const button = html("button", { type: "button", class: "link-button", "data-subject": event.subject,
    "aria-label": t("audit.subject.open", { label }) }, label);
  button.addEventListener("click", () => openTimeline(event.subject, label));
  return button;
}

function eventRow(event) {
  const row = html("tr", { "data-block": event.block_number, "data-log-index": event.log_index,
    "data-final": event.final ? "true" : "false" });
  row.append(
    cell("audit.col.block", String(event.block_number)),
    cell("audit.col.time", formatTime(event.block_time)),
    cell("audit.col.department", event.department || "—"),
    cell("audit.col.event", html("span", { class: "event-name" }, event.event)),
    cell("audit.col.subject", subjectButton(event)),
    cell("audit.col.action_seq", event.action_seq === null || event.action_seq === undefined ? "—" : String(event.action_seq)),
    cell("audit.col.tx_hash", txHashCell(event.tx_hash, { short: true, blockNumber: event.block_number })),
    cell("audit.col.finality", finality(event)),
  );
  return row;
}

// Draws the event rows from ``from`` on (0 redraws all): "load more" appends without redrawing the rest.
function renderEvents(from = 0) {
  const body = $("events-body");
  if (from === 0) body.replaceChildren();
  body.append(...state.events.slice(from).map(eventRow));
  const status = $("events-status");
  if (!state.events.length) setStatus(status, t("audit.events.none"), "done");
  else {
    let text = t("audit.events.count", { count: state.events.length, final: state.finalBlock ?? "—" });
    if (state.nextCursor) text += ` ${t("audit.events.more_available")}`;
    setStatus(status, text, "done");
  }
  $("load-more").hidden = !state.nextCursor;
}

// ---- export -----------------------------------------------------------------------------------------

async function exportEvents(format) {
  const query = filtersOrError();
  if (!query) return;
  const notice = $("notice");
  const buttons = [$("export-csv"), $("export-jsonl")];
  for (const button of buttons) button.disabled = true;
  setStatus(notice, t("audit.export.running"), "loading");
  await guarded(notice, async () => {
    const params = new URLSearchParams(query);
    params.set("format", format);
    // The key travels in a header, so a plain link cannot download: fetch, then hand the browser a Blob.
    const response = await request("/export", params);
    const blob = await response.blob();
    const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
    const name = `govledger-audit-${stamp}.${format}`;
    const url = URL.createObjectURL(blob);
    const link = html("a", { href: url, download: name, hidden: "" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    setStatus(notice, t("audit.export.done", { name }), "done");
  });
  for (const button of buttons) button.disabled = false;
}

// ---- activity chart ---------------------------------------------------------------------------------

async function loadActivity() {
  const status = $("activity-status");
  const mine = generation;
  setStatus(status, t("audit.loading"), "loading");
  await guarded(status, async () => {
    const activity = await getJson("/activity", new URLSearchParams({ days: String(ACTIVITY_DAYS) }));
    if (mine !== generation) return;
    state.activity = activity;
    renderActivity();
  });
}

// A round axis maximum (1, 2 or 5 times a power of ten per step) with at most five steps.
function axisScale(maximum) {
  const rough = Math.max(maximum, 1) / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= rough);
  const roundStep = Math.max(1, Math.round(step));
  return { step: roundStep, top: Math.ceil(Math.max(maximum, 1) / roundStep) * roundStep };
}

function seriesLabel(code) {
  const name = departmentName(code);
  return name ? `${code} ${name}` : code;
}

function renderActivity() {
  const { days, series } = state.activity;
  const chart = $("activity-chart");
  const status = $("activity-status");
  const totals = days.map((_, day) => series.reduce((sum, one) => sum + (one.counts[day] || 0), 0));
  const grandTotal = totals.reduce((sum, value) => sum + value, 0);
  setStatus(status, grandTotal ? "" : t("audit.activity.empty"), "done");

  const width = 720;
  const height = 260;
  const margin = { top: 12, right: 8, bottom: 34, left: 40 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const { step, top } = axisScale(Math.max(0, ...totals));
  const slot = plotWidth / Math.max(days.length, 1);
  const barWidth = Math.max(2, slot * 0.7);
  const scale = plotHeight / top;

  const drawing = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart-svg",
    "aria-labelledby": "activity-heading", "aria-describedby": "activity-desc", preserveAspectRatio: "xMidYMid meet" });
  const axis = svg("g", { class: "axis" });
  for (let value = 0; value <= top; value += step) {
    const y = margin.top + plotHeight - value * scale;
    axis.append(svg("line", { x1: margin.left, x2: width - margin.right, y1: y, y2: y, class: "grid" }),
      svg("text", { x: margin.left - 6, y: y + 4, "text-anchor": "end" }, String(value)));
  }
  const labelEvery = Math.ceil(days.length / 6);
  days.forEach((day, index) => {
    if (index % labelEvery !== 0 && index !== days.length - 1) return;
    const x = margin.left + slot * index + slot / 2;
    axis.append(svg("text", { x, y: height - 12, "text-anchor": "middle" }, day.slice(5)));
  });
  drawing.append(axis);

  const bars = svg("g", { class: "bars" });
  days.forEach((day, index) => {
    let base = margin.top + plotHeight;
    const x = margin.left + slot * index + (slot - barWidth) / 2;
    series.forEach((one, position) => {
      const count = one.counts[index] || 0;
      if (!count) return;
      const barHeight = count * scale;
      base -= barHeight;
      const title = svg("title");
      title.textContent = t("audit.activity.bar", { day, department: one.department, count });
      bars.append(svg("rect", {
        x: x.toFixed(2), y: base.toFixed(2), width: barWidth.toFixed(2), height: barHeight.toFixed(2),
        fill: SERIES_COLOURS[position % SERIES_COLOURS.length], "data-department": one.department, "data-day": day,
        "data-count": count,
      }, title));
    });
  });
  drawing.append(bars);
  chart.replaceChildren(drawing);
  chart.dataset.top = String(top);

  $("activity-legend").replaceChildren(...series.map((one, position) => {
    const swatch = svg("svg", { class: "swatch", viewBox: "0 0 12 12", "aria-hidden": "true", focusable: "false" },
      svg("rect", { width: 12, height: 12, rx: 2, fill: SERIES_COLOURS[position % SERIES_COLOURS.length] }));
    const total = one.counts.reduce((sum, value) => sum + value, 0);
    return html("li", { "data-department": one.department }, swatch, `${seriesLabel(one.department)} (${total})`);
  }));

  const head = html("tr", {}, html("th", { scope: "col" }, t("audit.activity.day")),
    ...series.map((one) => html("th", { scope: "col", class: "num" }, one.department)),
    html("th", { scope: "col", class: "num" }, t("audit.activity.total")));
  const rows = days.map((day, index) => html("tr", { "data-day": day }, html("th", { scope: "row" }, day),
    ...series.map((one) => html("td", { class: "num", "data-department": one.department }, String(one.counts[index] || 0))),
    html("td", { class: "num" }, String(totals[index]))));
  $("activity-table").replaceChildren(html("caption", { class: "visually-hidden" }, t("audit.activity.heading")),
    html("thead", {}, head), html("tbody", {}, ...rows));
}

// ---- a subject's timeline ---------------------------------------------------------------------------

function subjectParts(subject) {
  const colon = subject.indexOf(":");
  return colon > 0 ? [subject.slice(0, colon), subject.slice(colon + 1)] : [subject, ""];
}

// The certificate number citizens verify by: the label says "certificate <number>"; an event may carry it too.
function certificateNumber(label, events) {
  for (const event of events) {
    const args = event.args || {};
    for (const name of ["certificate_id", "certificateNumber", "certificate_number"]) {
      if (typeof args[name] === "string" && args[name]) return args[name];
    }
  }
  const match = /^certificate\s+(\S+)$/i.exec(label || "");
  return match && !match[1].startsWith("0x") ? match[1] : null;
}

async function openTimeline(subject, label) {
  const section = $("timeline");
  const status = $("timeline-status");
  const mine = generation;
  state.timeline = { subject, label, events: null };
  section.hidden = false;
  renderTimeline();
  setStatus(status, t("audit.timeline.loading"), "loading");
  section.focus();
  await guarded(status, async () => {
    const [kind, id] = subjectParts(subject);
    const answer = await getJson(`/timeline/${encodeURIComponent(kind)}/${encodeURIComponent(id)}`);
    if (mine !== generation || !state.timeline || state.timeline.subject !== subject) return;
    state.timeline.events = answer.events;
    renderTimeline();
  });
}

function renderTimeline() {
  const { subject, label, events } = state.timeline;
  $("timeline-heading").textContent = t("audit.timeline.heading", { label });
  $("timeline").dataset.subject = subject;
  const proof = $("timeline-proof");
  const list = $("timeline-list");
  if (events === null) {
    proof.replaceChildren();
    list.replaceChildren();
    return;
  }
  setStatus($("timeline-status"), t("audit.timeline.count", { count: events.length }), "done");
  const [kind] = subjectParts(subject);
  const certId = kind === "certificate" ? certificateNumber(label, events) : null;
  if (certId) {
    const query = language === "en" ? "?lang=en" : "";
    const href = `/verify/${certId.split("/").map(encodeURIComponent).join("/")}${query}`;
    proof.replaceChildren(html("a", { href, "data-role": "verify-link" }, t("audit.timeline.verify", { id: certId })));
  } else if (events.length) {
    const first = events[0];
    proof.replaceChildren(html("span", { "data-role": "anchor" }, `${t("audit.timeline.anchor", { block: first.block_number })} `),
      txHashCell(first.tx_hash, { blockNumber: first.block_number }));
  } else proof.replaceChildren();

  list.replaceChildren(...events.map((event) => html("li", { "data-block": event.block_number, "data-event": event.event },
    html("p", { class: "timeline-title" }, html("strong", {}, event.event), " · ", event.department || "—",
      event.action_seq === null || event.action_seq === undefined ? "" : ` · #${event.action_seq}`, " ", finality(event)),
    html("p", { class: "timeline-meta" }, `${formatTime(event.block_time)} · ${t("field.block_number")} ${event.block_number}`),
    txHashCell(event.tx_hash, { blockNumber: event.block_number }))));
}

// ---- departments ------------------------------------------------------------------------------------

function renderDepartments() {
  const departments = state.departments || [];
  const select = $("f-department");
  const chosen = select.value;
  select.replaceChildren(html("option", { value: "" }, t("audit.filters.department.all")),
    ...departments.map((one) => html("option", { value: one.department }, seriesLabel(one.department))));
  select.value = departments.some((one) => one.department === chosen) ? chosen : "";

  $("departments-body").replaceChildren(...departments.map((one) => {
    const verdict = one.complete
      ? html("span", { class: "verdict ok" }, `✓ ${t("audit.departments.complete")}`)
      : html("span", { class: "verdict gaps" }, `✗ ${t("audit.departments.gaps")}`);
    const status = html("td", { "data-label": t("audit.departments.status"), "data-complete": one.complete ? "true" : "false" },
      verdict);
    if (!one.complete && one.missing && one.missing.length) {
      status.append(html("span", { class: "missing", "data-role": "missing" },
        t("audit.departments.missing", { seqs: one.missing.join(", ") })));
    }
    return html("tr", { "data-department": one.department },
      html("th", { scope: "row", "data-label": t("audit.col.department") }, one.department),
      html("td", { "data-label": t("audit.departments.name") }, one.name || "—"),
      html("td", { class: "num", "data-label": t("audit.departments.on_chain"), "data-field": "on_chain" },
        String(one.action_count_on_chain)),
      html("td", { class: "num", "data-label": t("audit.departments.indexed"), "data-field": "indexed" },
        String(one.indexed_actions)),
      status);
  }));
  setStatus($("departments-status"), "", "done");
}

// ---- integrity --------------------------------------------------------------------------------------

async function runIntegrity() {
  const result = $("integrity-result");
  const button = $("run-integrity");
  let range;
  try {
    range = readBlockRange();
  } catch (problem) {
    if (!(problem instanceof ConsoleError)) throw problem;
    setStatus($("filters-error"), explain(problem), "error");
    return;
  }
  button.disabled = true;
  state.integrity = null;
  result.replaceChildren(html("p", { class: "status" }, t("audit.integrity.running")));
  result.dataset.state = "loading";
  const holder = html("p", { class: "status" });
  await guarded(holder, async () => {
    state.integrity = await getJson("/integrity", new URLSearchParams(range));
    renderIntegrity();
  });
  if (holder.dataset.state === "error") {
    result.replaceChildren(holder);
    result.dataset.state = "error";
  }
  button.disabled = false;
}

function describeRow(item) {
  if (item === null || typeof item !== "object") return String(item);
  const parts = [];
  if (item.block_number !== undefined) parts.push(`${t("field.block_number")} ${item.block_number}`);
  if (item.log_index !== undefined) parts.push(`log ${item.log_index}`);
  if (item.event) parts.push(item.event);
  if (item.tx_hash) parts.push(shortHash(item.tx_hash));
  return parts.length ? parts.join(" · ") : JSON.stringify(item);
}

function renderIntegrity() {
  const report = state.integrity;
  const result = $("integrity-result");
  if (!report) return;
  const banner = html("p", { class: `banner ${report.ok ? "ok" : "bad"}`, "data-ok": report.ok ? "true" : "false" },
    report.ok ? `✓ ${t("audit.integrity.ok")}` : `✗ ${t("audit.integrity.bad")}`);
  const range = html("p", {}, t("audit.integrity.range",
    { from: report.from_block ?? "—", to: report.to_block ?? "—", count: report.checked_events }));
  const counts = html("dl", { class: "counts" });
  const details = [];
  for (const kind of ["missing", "extra", "altered"]) {
    const items = Array.isArray(report[kind]) ? report[kind] : [];
    // The service may list only the first rows of a long report; its *_count says how many there are.
    const count = Number.isInteger(report[`${kind}_count`]) ? report[`${kind}_count`] : items.length;
    counts.append(html("div", { "data-field": kind, class: count ? "bad" : "" },
      html("dt", {}, t(`audit.integrity.${kind}`)), html("dd", {}, String(count))));
    if (items.length) {
      details.push(html("details", { "data-list": kind }, html("summary", {}, `${t(`audit.integrity.${kind}`)} (${count})`),
        html("ul", {}, ...items.slice(0, 100).map((item) => html("li", {}, describeRow(item))))));
    }
  }
  result.replaceChildren(banner, range, counts, ...details);
  result.dataset.state = "done";
}

// ---- language ---------------------------------------------------------------------------------------

function otherLanguage() {
  return language === "en" ? "zh-CN" : "en";
}

function applyLanguage(next) {
  language = next;
  document.documentElement.lang = next;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-aria-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
  }
  const link = $("lang-switch");
  const other = otherLanguage();
  Object.assign(link, { lang: other, hreflang: other, href: `?lang=${other}` });
  link.dataset.lang = other;
  const signinError = $("signin-error");
  if (signinError.dataset.reason) signinError.textContent = t(signinError.dataset.reason);
  if (state.departments) renderDepartments();
  if (state.query) renderEvents();
  if (state.activity) renderActivity();
  if (state.timeline) renderTimeline();
  if (state.integrity) renderIntegrity();
}

function switchLanguage(next) {
  applyLanguage(next);
  try {
    localStorage.setItem(LANGUAGE_STORAGE, next);
  } catch {
    // The ?lang= in the address still carries the choice.
  }
  const url = new URL(location.href);
  url.searchParams.set("lang", next);
  history.replaceState(null, "", url);
}

function chosenLanguage() {
  const asked = new URL(location.href).searchParams.get("lang");
  if (asked !== null) return { language: asked.toLowerCase().startsWith("en") ? "en" : "zh-CN", fromAddress: true };
  try {
    const stored = localStorage.getItem(LANGUAGE_STORAGE);
    if (LANGUAGES.includes(stored)) return { language: stored, fromAddress: false };
  } catch {
    // no stored choice
  }
  return null;
}

// ---- wiring -----------------------------------------------------------------------------------------

async function start() {
  const response = await fetch(document.querySelector("meta[name=govledger-messages]").content);
  messages = await response.json();
  const chosen = chosenLanguage();
  if (chosen && chosen.fromAddress) switchLanguage(chosen.language);
  else if (chosen && chosen.language !== language) applyLanguage(chosen.language);

  $("event-names").replaceChildren(...EVENT_NAMES.map((name) => html("option", { value: name })));
  $("lang-switch").addEventListener("click", (event) => {
    event.preventDefault();
    switchLanguage(otherLanguage());
  });
  $("signin").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("api-key").value.trim();
    if (!key) {
      setStatus($("signin-error"), t("audit.error.no_key"), "error");
      $("api-key").focus();
      return;
    }
    signIn(key);
  });
  $("signout").addEventListener("click", () => signOut());
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    const query = filtersOrError();
    if (query) runSearch(query);
  });
  $("filters").addEventListener("reset", () => {
    setStatus($("filters-error"), "", "idle");
    // The form clears its fields after this event: search again once it has.
    setTimeout(() => runSearch(new URLSearchParams()), 0);
  });
  $("load-more").addEventListener("click", loadMore);
  for (const id of ["export-csv", "export-jsonl"]) {
    $(id).addEventListener("click", (event) => exportEvents(event.currentTarget.dataset.format));
  }
  $("run-integrity").addEventListener("click", runIntegrity);
  $("timeline-close").addEventListener("click", () => {
    state.timeline = null;
    $("timeline").hidden = true;
  });

  document.body.dataset.signedIn = "false";
  document.body.dataset.ready = "true";
  const key = storedKey();
  if (key) await signIn(key);
}

start();
