// The admin page: plain JavaScript, no build step, no inline code (the page's CSP forbids it).
// The admin key is kept in sessionStorage (gone when the tab closes) and sent as a Bearer token.
// Everything shown comes from the API and is written with textContent, never parsed as HTML.
// Views are chosen by the URL's hash (#/jobs?state=discarded&queue=emails, #/jobs/123), so a view
// can be linked; the figures refresh every 2 s while the tab is visible and pause while it is hidden.
"use strict";

const keyName = "jobs-admin-key";
const refreshMs = 2000;
const svgNs = "http://www.w3.org/2000/svg";
const states = ["available", "scheduled", "running", "retryable", "completed", "discarded", "cancelled"];
const $ = (id) => document.getElementById(id);

// The names of GET /stats fields, in one place: a field renamed by the Api is one edit here.
// The page's "failed" series is the Api's "discarded": jobs that ended without completing.
const statsFields = {
  queues: ["queues"], queue: ["queue"], counts: ["counts"], perMinute: ["perMinute"], minute: ["minute"],
  completed: ["completed"], failed: ["discarded"], errorRate: ["errorRate"], latency: ["queueLatencyMs"],
  oldest: ["oldestWaitingSeconds"], generatedAt: ["generatedAt"], completedLastHour: ["completedLastHour"],
  failedLastHour: ["discardedLastHour"], queueLatency: ["latencyMs"],
};
function field(object, name) {
  for (const key of statsFields[name]) {
    if (object && object[key] !== undefined) return object[key];
  }
  return undefined;
}

let nextCursor = null;
let detailId = null;
let detailTimer = null;
let workflowTimer = null;
let liveTimer = null;
let queueLimits = null;
let queueWorkers = null;

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function api(method, path, fresh, json) {
  const headers = { Authorization: "Bearer " + sessionStorage.getItem(keyName) };
  // Figures polled every 2 s come from the Api's short cache; actions and what follows them are read fresh.
  if (fresh) headers["Cache-Control"] = "no-cache";
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const problem = body || {};
    throw new Error(`${response.status} ${problem.title || ""}: ${problem.detail || ""}${problem.retryable ? " (retry is safe)" : ""}`);
  }
  return body;
}

function text(value) {
  return value === null || value === undefined ? "" : String(value);
}

function el(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (content !== undefined) node.textContent = text(content);
  return node;
}

function cell(row, value, className) {
  return row.appendChild(el("td", className, value));
}

function link(href, content) {
  const a = el("a", "", content);
  a.href = href;
  return a;
}

function when(value) {
  return value ? new Date(value).toLocaleString() : "";
}

function fmt(n, digits = 1) {
  return n === null || n === undefined ? "–" : Number(n).toFixed(digits);
}

function int(n) {
  return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US");
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "none";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

// ---- Routing -------------------------------------------------------------------------------

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const parts = path.split("/").filter(Boolean);
  const params = new URLSearchParams(query || "");
  if (parts[0] === "jobs" && parts[1]) return { view: "job", id: parts[1], params };
  if (parts[0] === "workflows" && parts[1]) return { view: "workflow", id: parts[1], params };
  if (["jobs", "workflows", "queues", "schedules", "database"].includes(parts[0])) return { view: parts[0], params };
  return { view: "overview", params };
}

function showView(view) {
  for (const section of document.querySelectorAll("main > section")) {
    section.hidden = section.dataset.view !== view;
  }
  const navView = { job: "jobs", workflow: "workflows" }[view] || view;
  for (const a of $("nav").querySelectorAll("a")) {
    if (a.dataset.view === navView) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

async function render() {
  const r = route();
  showView(r.view);
  clearTimeout(detailTimer);
  clearTimeout(workflowTimer);
  try {
    if (r.view === "overview") await Promise.all([loadStats(), loadFailures()]);
    if (r.view === "jobs") await Promise.all([loadStats(), showJobs(r.params)]);
    if (r.view === "job") await Promise.all([loadStats(), showJob(r.id)]);
    if (r.view === "workflows") await Promise.all([loadStats(), showWorkflows(r.params)]);
    if (r.view === "workflow") await Promise.all([loadStats(), showWorkflow(r.id)]);
    if (r.view === "queues") {
      queueLimits = await api("GET", "/queues/limits");
      await loadStats();
    }
    if (r.view === "schedules") await Promise.all([loadStats(), loadSchedules()]);
    if (r.view === "database") await Promise.all([loadStats(), loadDatabase()]);
    markUpdated();
  } catch (e) {
    setStatus(e.message, true);
  }
}

function markUpdated() {
  setStatus(`Live: updated ${new Date().toLocaleTimeString()}, every ${refreshMs / 1000} s while this tab is visible.`);
}

// ---- Live refresh (Page Visibility API) ----------------------------------------------------

function scheduleRefresh() {
  clearTimeout(liveTimer);
  if (!document.hidden && sessionStorage.getItem(keyName)) liveTimer = setTimeout(liveRefresh, refreshMs);
}

async function liveRefresh() {
  try {
    const view = route().view;
    // The first page of workflows follows their progress; pages added with More stay as they are.
    const workflows = view === "workflows" && !workflowsCursorUsed ? loadWorkflows(false) : null;
    await Promise.all([loadStats(), view === "overview" ? loadFailures() : null, workflows]);
    markUpdated();
  } catch (e) {
    setStatus(e.message, true);
  }
  scheduleRefresh();
}

function onVisibility() {
  if (document.hidden) {
    clearTimeout(liveTimer);
    setStatus("Paused while this tab is hidden.");
  } else if (sessionStorage.getItem(keyName)) {
    liveRefresh();
  }
}

// ---- Stats: navigation counts, overview, queues ---------------------------------------------

function totals(stats) {
  const sum = Object.fromEntries(states.map((s) => [s, 0]));
  for (const q of field(stats, "queues") || []) {
    const counts = field(q, "counts") || {};
    for (const s of states) sum[s] += Number(counts[s] || 0);
  }
  return sum;
}

async function loadStats() {
  const stats = await api("GET", "/stats");
  const sum = totals(stats);
  renderStateNav(sum);
  const view = route().view;
  if (view === "overview") renderOverview(stats, sum);
  if (view === "queues") {
    // Which Workers are live changes without anyone clicking: read with every refresh of the view.
    queueWorkers = await api("GET", "/queues", true);
    renderQueues(stats);
  }
}

function jobsHref(filter) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filter)) if (value) params.set(name, value);
  const query = params.toString();
  return "#/jobs" + (query ? "?" + query : "");
}

function renderStateNav(sum) {
  const nav = $("states");
  const current = route();
  const currentState = current.view === "jobs" ? current.params.get("state") || "" : null;
  nav.replaceChildren();
  const all = link(jobsHref({}), "all ");
  all.dataset.state = "";
  all.appendChild(el("span", "count", int(Object.values(sum).reduce((a, b) => a + b, 0))));
  nav.appendChild(all);
  for (const s of states) {
    const a = link(jobsHref({ state: s, queue: current.view === "jobs" ? current.params.get("queue") : null }), s + " ");
    a.dataset.state = s;
    a.appendChild(el("span", "count", int(sum[s])));
    nav.appendChild(a);
  }
  for (const a of nav.querySelectorAll("a")) {
    if (a.dataset.state === currentState) a.setAttribute("aria-current", "page");
  }
  $("nav-total").textContent = int(sum.available + sum.scheduled + sum.running + sum.retryable);
  $("nav-total").title = "live jobs: available, scheduled, running and retryable";
}

function tile(label, value, href, bad, name) {
  const node = href ? link(href) : el("div");
  node.className = "tile" + (bad ? " bad" : "");
  node.dataset.tile = name;
  node.append(el("span", "label", label), el("span", "value", value));
  return node;
}

function renderOverview(stats, sum) {
  const latency = field(stats, "latency") || {};
  const perMinute = field(stats, "perMinute") || [];
  const last = perMinute.length ? perMinute[perMinute.length - 1] : null;
  const errorRate = Number(field(stats, "errorRate") || 0);
  const oldest = field(stats, "oldest");
  const tiles = [
    tile("error rate, last hour", `${(errorRate * 100).toFixed(1)} %`, jobsHref({ state: "discarded" }), errorRate > 0.05, "error-rate"),
    tile("queue latency p50 / p95", `${fmt(latency.p50, 0)} / ${fmt(latency.p95, 0)} ms`, null, false, "latency"),
    tile("oldest waiting job", duration(oldest), jobsHref({ state: "available" }), oldest > 60, "oldest"),
    tile("completed, latest minute", last ? int(field(last, "completed")) : "0", null, false, "last-minute"),
  ];
  for (const s of states) tiles.push(tile(s, int(sum[s]), jobsHref({ state: s }), s === "discarded" && sum[s] > 0, s));
  $("tiles").replaceChildren(...tiles);
  drawChart($("chart"), perMinute, field(stats, "generatedAt"));
}

// A line per series over the last 60 minutes (missing minutes are zero), a dot for every minute
// that had jobs, a y axis in jobs per minute with round steps and an x axis in clock time.
function drawChart(container, perMinute, generatedAt) {
  // The drawing is as wide as its box, so text keeps its size on a phone; ticks thin out to fit.
  const width = Math.max(300, Math.round(container.clientWidth || 720));
  const height = width < 500 ? 200 : 240, left = 48, right = 12, top = 12, bottom = 36;
  const tickMinutes = width < 500 ? 20 : 10;
  const end = Math.floor(new Date(generatedAt || Date.now()).getTime() / 60000) * 60000;
  const start = end - 59 * 60000;
  const byMinute = new Map();
  for (const m of perMinute) byMinute.set(new Date(field(m, "minute")).getTime(), m);
  let max = 0;
  for (const m of perMinute) max = Math.max(max, Number(field(m, "completed") || 0), Number(field(m, "failed") || 0));
  const step = niceStep(max / 4);
  const yMax = Math.max(step * 4, step * Math.ceil(max / step));
  const x = (t) => left + ((t - start) / (end - start)) * (width - left - right);
  const y = (v) => top + (1 - v / yMax) * (height - top - bottom);

  const svg = document.createElementNS(svgNs, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Jobs completed and failed per minute from ${new Date(start).toLocaleTimeString()} to ${new Date(end).toLocaleTimeString()}; highest ${max} per minute.`);
  const add = (tag, attrs, content) => {
    const node = document.createElementNS(svgNs, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (content !== undefined) node.textContent = content;
    svg.appendChild(node);
    return node;
  };
  for (let v = 0; v <= yMax; v += step) {
    add("line", { class: "grid", x1: left, x2: width - right, y1: y(v), y2: y(v) });
    add("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, v.toLocaleString("en-US"));
  }
  add("text", { x: 12, y: top + (height - top - bottom) / 2, transform: `rotate(-90 12 ${top + (height - top - bottom) / 2})`, "text-anchor": "middle" }, "jobs / min");
  add("line", { class: "axis", x1: left, x2: width - right, y1: y(0), y2: y(0) });
  add("line", { class: "axis", x1: left, x2: left, y1: top, y2: y(0) });
  for (let t = start; t <= end; t += 60000) {
    const minute = new Date(t);
    if (minute.getMinutes() % tickMinutes !== 0) continue;
    add("line", { class: "axis", x1: x(t), x2: x(t), y1: y(0), y2: y(0) + 4 });
    // A label at the right edge ends there instead of being cut off.
    const anchor = x(t) > width - right - 30 ? "end" : "middle";
    add("text", { x: x(t), y: y(0) + 16, "text-anchor": anchor }, minute.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
  }
  add("text", { x: width - right, y: height - 4, "text-anchor": "end" }, "time (minute of finish)");
  for (const series of ["completed", "failed"]) {
    const points = [];
    for (let t = start; t <= end; t += 60000) points.push(`${x(t).toFixed(1)},${y(Number(field(byMinute.get(t), series) || 0)).toFixed(1)}`);
    add("polyline", { class: `line ${series}`, points: points.join(" ") });
    for (const [t, m] of byMinute) {
      const value = Number(field(m, series) || 0);
      if (t < start || t > end || value === 0) continue;
      const dot = add("circle", { class: `point ${series}`, cx: x(t).toFixed(1), cy: y(value).toFixed(1), r: 3, "data-minute": new Date(t).toISOString(), "data-value": value });
      const title = document.createElementNS(svgNs, "title");
      title.textContent = `${new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}: ${value} ${series}`;
      dot.appendChild(title);
    }
  }
  container.replaceChildren(svg);
}

function niceStep(raw) {
  if (raw <= 1) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function limitText(limit) {
  if (!limit || limit.rateLimit === null || limit.rateLimit === undefined) return "none";
  return `${limit.rateLimit} / ${duration(limit.ratePeriodMs / 1000)}`;
}

function renderQueues(stats) {
  const limits = new Map((queueLimits || []).map((l) => [l.queue, l]));
  const tbody = $("queues").querySelector("tbody");
  tbody.replaceChildren();
  const workers = new Map((queueWorkers || []).map((w) => [w.queue, w.liveWorkers]));
  const paused = new Set((queueWorkers || []).filter((w) => w.paused).map((w) => w.queue));
  // A queue with limits or a live Worker but no job yet is listed too.
  const rows = new Map((field(stats, "queues") || []).map((q) => [field(q, "queue"), q]));
  for (const name of [...limits.keys(), ...workers.keys()]) if (!rows.has(name)) rows.set(name, {});
  for (const [name, q] of [...rows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const counts = field(q, "counts") || {};
    const row = document.createElement("tr");
    row.dataset.queue = name;
    row.appendChild(document.createElement("td")).appendChild(link(jobsHref({ queue: name }), name));
    for (const s of states) {
      const td = cell(row, "", "num");
      td.appendChild(link(jobsHref({ state: s, queue: name }), int(counts[s] || 0)));
    }
    const completed = Number(field(q, "completedLastHour") || 0);
    const failed = Number(field(q, "failedLastHour") || 0);
    cell(row, int(completed), "num");
    cell(row, int(failed), "num");
    cell(row, fmt((completed + failed) / 60), "num");
    const queueLatency = field(q, "queueLatency") || {};
    const hasLatency = queueLatency.p50 !== null && queueLatency.p50 !== undefined;
    cell(row, hasLatency ? `${fmt(queueLatency.p50, 0)} / ${fmt(queueLatency.p95, 0)} ms` : "none", "num").dataset.field = "latency";
    const limit = limits.get(name);
    cell(row, limit && limit.maxRunning !== null ? limit.maxRunning : "none", "num");
    cell(row, limitText(limit));
    // A queue no live Worker serves keeps its jobs waiting: said in words, not only in colour.
    const live = workers.get(name) || 0;
    cell(row, live ? `${int(live)} live` : "none: jobs wait", live ? "num" : "num problem").dataset.field = "workers";
    // Paused: no Worker claims its jobs until it is resumed; jobs sent to it wait.
    const isPaused = paused.has(name);
    const pause = cell(row, isPaused ? "paused " : "", isPaused ? "problem" : "");
    pause.dataset.field = "pause";
    pause.appendChild(actionButton(isPaused ? "Resume" : "Pause", () => queueAction(name, isPaused ? "resume" : "pause")));
    tbody.appendChild(row);
  }
  const latency = field(stats, "latency") || {};
  $("queues-summary").textContent =
    `Queue latency over all queues (latest 2,000 jobs of the last hour): p50 ${fmt(latency.p50, 0)} ms, p95 ${fmt(latency.p95, 0)} ms · ` +
    `oldest waiting job: ${duration(field(stats, "oldest"))} · throughput is the last hour's finished jobs per minute · ` +
    `a queue's latency is over its latest 200 jobs finished in the last hour · limits are shared by every Worker.`;
}

// ---- Jobs list and job page ----------------------------------------------------------------

function jobRow(tbody, job, columns) {
  const row = document.createElement("tr");
  row.className = "clickable";
  row.dataset.jobId = job.id;
  row.appendChild(document.createElement("td")).appendChild(link("#/jobs/" + encodeURIComponent(job.id), job.id));
  for (const column of columns) cell(row, column(job), column === lastError ? "error" : "");
  row.addEventListener("click", (event) => {
    if (event.target.tagName !== "A") location.hash = "#/jobs/" + encodeURIComponent(job.id);
  });
  tbody.appendChild(row);
}

const lastError = (j) => j.lastError;
const attempts = (j) => `${j.attempt}/${j.maxAttempts}`;

async function loadFailures() {
  const page = await api("GET", "/jobs?state=discarded&limit=10");
  const tbody = $("failures").querySelector("tbody");
  tbody.replaceChildren();
  for (const job of page.items) jobRow(tbody, job, [(j) => j.queue, (j) => j.kind, attempts, (j) => when(j.finalizedAt), lastError]);
}

async function showJobs(params) {
  for (const name of ["state", "queue", "kind"]) $("filter-" + name).value = params.get(name) || "";
  showBulkActions(params);
  await loadJobs(false);
}

// ---- Bulk actions: POST /jobs/retry and /jobs/cancel on the filter the list shows ----------

// The states each bulk action takes jobs from (the Api refuses the others).
const bulk = {
  retry: { states: ["discarded", "cancelled"], button: "bulk-retry", verb: "Retry", done: "retried" },
  cancel: { states: ["available", "scheduled", "retryable"], button: "bulk-cancel", verb: "Cancel", done: "cancelled" },
};
let bulkPending = null;

// Its own line: the live refresh rewrites the page's status every 2 s.
function bulkSay(message, isError) {
  $("bulk-result").textContent = message;
  $("bulk-result").className = isError ? "problem" : "";
}

// The filter of the list on screen (the route's, not the form's: a field typed but not applied is not the list).
function listedFilter() {
  const params = route().params;
  const filter = {};
  for (const name of ["state", "queue", "kind"]) {
    if (params.get(name)) filter[name] = params.get(name);
  }
  return filter;
}

function describe(filter) {
  return Object.entries(filter).map(([k, v]) => `${k} = ${v}`).join(", ");
}

function showBulkActions(params) {
  bulkSay("");
  const state = params.get("state");
  for (const action of Object.values(bulk)) $(action.button).hidden = !!state && !action.states.includes(state);
  // Running (and completed) jobs have no bulk action: the row is not offered at all.
  $("bulk-actions").hidden = Object.values(bulk).every((action) => $(action.button).hidden);
  const filter = describe(listedFilter());
  $("bulk-scope").textContent = `for every job ${filter ? "where " + filter : "of every queue"}`;
}

async function askBulk(name) {
  const action = bulk[name];
  const filter = listedFilter();
  try {
    const { count } = await api("POST", `/jobs/${name}`, true, { ...filter, dryRun: true });
    const { state, ...others } = filter;
    const states = state || action.states.join(", ");
    const where = describe(others);
    if (count === 0) {
      bulkSay(`No ${states} job${where ? " where " + where : ""}: nothing to ${name}.`);
      return;
    }
    bulkPending = { name, filter };
    $("bulk-question").textContent = `${action.verb} ${int(count)} ${states} job${count === 1 ? "" : "s"}${where ? " where " + where : ""}?`;
    $("bulk-confirm").textContent = `${action.verb} ${int(count)} job${count === 1 ? "" : "s"}`;
    $("bulk-dialog").showModal();
    $("bulk-keep").focus();
  } catch (e) {
    bulkSay(e.message, true);
  }
}

async function runBulk() {
  $("bulk-dialog").close();
  if (!bulkPending) return;
  const { name, filter } = bulkPending;
  bulkPending = null;
  try {
    const { count } = await api("POST", `/jobs/${name}`, true, filter);
    bulkSay(`${int(count)} job${count === 1 ? "" : "s"} ${bulk[name].done}.`);
    await Promise.all([loadStats(), loadJobs(false)]);
  } catch (e) {
    bulkSay(e.message, true);
  }
}

function filterQuery() {
  const params = new URLSearchParams();
  for (const name of ["state", "queue", "kind"]) {
    const value = $("filter-" + name).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

// Two lists can be asked for at once (the route and the live refresh): only the newest one's rows
// are shown, or both would append theirs to the same table.
let jobsGeneration = 0;

async function loadJobs(append) {
  const generation = append ? jobsGeneration : ++jobsGeneration;
  const params = filterQuery();
  params.set("limit", "50");
  if (append && nextCursor) params.set("cursor", nextCursor);
  const tbody = $("jobs").querySelector("tbody");
  // A new list shows none of the previous one's rows while it loads: a row clicked (or focused)
  // in that moment would be replaced under the pointer and the click lost.
  if (!append) tbody.replaceChildren();
  const page = await api("GET", "/jobs?" + params.toString(), true);
  if (generation !== jobsGeneration) return;
  for (const job of page.items) jobRow(tbody, job, [(j) => j.state, (j) => j.queue, (j) => j.kind, attempts, (j) => when(j.createdAt), lastError]);
  nextCursor = page.nextCursor;
  $("more").hidden = !nextCursor;
  const shown = tbody.children.length;
  const filter = [...filterQuery()].map(([k, v]) => `${k} = ${v}`).join(", ");
  $("jobs-summary").textContent = `${shown} job${shown === 1 ? "" : "s"} shown${nextCursor ? " (more below)" : ""}, newest first${filter ? "; " + filter : ""}.`;
}

function renderJob(job) {
  $("detail-id").textContent = text(job.id);
  $("detail-state").textContent = job.state;
  const fields = $("detail-fields");
  fields.replaceChildren();
  const shown = {
    state: job.state, queue: job.queue, kind: job.kind, priority: job.priority,
    attempts: `${job.attempt}/${job.maxAttempts}`, "run at": when(job.runAt), created: when(job.createdAt),
    "last attempt": when(job.attemptedAt), finished: when(job.finalizedAt), worker: job.attemptedBy,
    "created by": job.createdBy, "idempotency key": job.idempotencyKey,
  };
  for (const [name, value] of Object.entries(shown)) {
    const dd = el("dd", "", value);
    dd.dataset.field = name;
    fields.append(el("dt", "", name), dd);
  }
  $("detail-args").textContent = JSON.stringify(job.args, null, 2);
  const errors = $("detail-errors");
  errors.replaceChildren();
  for (const error of job.errors || []) {
    const li = el("li");
    // The error entry names its worker when the engine recorded it; otherwise the latest attempt's worker is the job's.
    const worker = error.worker ?? (error.attempt === job.attempt ? job.attemptedBy : null);
    li.append(
      el("div", "meta", `attempt ${error.attempt ?? "?"} · ${when(error.at)} · worker ${worker ?? "not recorded"}`),
      el("div", "error", `${error.type ?? ""}: ${error.message ?? ""}`));
    if (error.stack) {
      const details = el("details");
      details.append(el("summary", "", "stack trace"), el("pre", "", error.stack));
      li.appendChild(details);
    }
    errors.appendChild(li);
  }
  if (!errors.children.length) errors.appendChild(el("li", "meta", "No failed attempt."));
  const finalized = ["completed", "discarded", "cancelled"].includes(job.state);
  $("cancel").disabled = finalized;
  $("retry").disabled = !["discarded", "cancelled", "retryable", "scheduled"].includes(job.state);
  // A live job changes without anyone clicking: follow it until it finishes.
  clearTimeout(detailTimer);
  if (!finalized) detailTimer = setTimeout(() => followJob(job.id), 1000);
}

async function followJob(id) {
  if (route().view !== "job" || String(detailId) !== String(id)) return;
  if (document.hidden) {
    detailTimer = setTimeout(() => followJob(id), 1000);
    return;
  }
  try {
    renderJob(await api("GET", "/jobs/" + encodeURIComponent(id), true));
  } catch (e) {
    setStatus(e.message, true);
  }
}

async function showJob(id) {
  detailId = id;
  $("detail-trace").textContent = "";
  const [job, trace] = await Promise.all([
    api("GET", "/jobs/" + encodeURIComponent(id), true),
    api("GET", "/admin/jobs/" + encodeURIComponent(id) + "/trace", true).catch(() => null),
  ]);
  renderJob(job);
  const traceLine = $("detail-trace");
  if (trace && trace.url) {
    const a = link(trace.url, trace.traceId);
    a.rel = "noopener noreferrer";
    a.target = "_blank";
    traceLine.replaceChildren("trace ", a, " (opens the Aspire dashboard)");
  } else {
    traceLine.textContent = trace && trace.traceId ? `trace ${trace.traceId}` : "No trace: the job was enqueued outside a traced request.";
  }
}

async function act(action) {
  try {
    const job = await api("POST", `/jobs/${encodeURIComponent(detailId)}/${action}`);
    renderJob(job);
    setStatus(`Job ${job.id}: ${action} done, now ${job.state}.`);
  } catch (e) {
    setStatus(e.message, true);
  }
}

// ---- Workflows: GET /workflows (newest first, with progress) and GET /workflows/{id} --------

// A step table shows this many rows (a fan-out may have 20,000 steps); the counts are of all of them.
const shownSteps = 1000;
// A step's dependencies are named up to this many (a fan-in may wait for thousands).
const shownDependencies = 10;
let workflowsCursor = null;
let workflowsCursorUsed = false;
let workflowsGeneration = 0;
let workflowId = null;

function progressCell(row, total, finished) {
  const td = row.appendChild(el("td"));
  td.dataset.field = "progress";
  const bar = document.createElement("progress");
  bar.max = Math.max(total, 1);
  bar.value = finished;
  td.append(bar, ` ${int(finished)} / ${int(total)} finished`);
  return td;
}

function workflowsHref(name) {
  return "#/workflows" + (name ? "?" + new URLSearchParams({ name }).toString() : "");
}

async function showWorkflows(params) {
  $("filter-workflow-name").value = params.get("name") || "";
  await loadWorkflows(false);
}

async function loadWorkflows(append) {
  const generation = append ? workflowsGeneration : ++workflowsGeneration;
  const name = route().params.get("name");
  const params = new URLSearchParams();
  if (name) params.set("name", name);
  if (append && workflowsCursor) params.set("cursor", workflowsCursor);
  const page = await api("GET", "/workflows?" + params.toString(), true);
  if (generation !== workflowsGeneration) return;
  workflowsCursorUsed = append;
  const tbody = $("workflows").querySelector("tbody");
  if (!append) tbody.replaceChildren();
  for (const w of page.items) {
    const p = w.progress;
    const row = document.createElement("tr");
    row.className = "clickable";
    row.dataset.workflowId = w.id;
    row.appendChild(el("td")).appendChild(link("#/workflows/" + encodeURIComponent(w.id), w.id));
    cell(row, w.name);
    progressCell(row, p.total, p.finished);
    cell(row, int(p.pending), "num").dataset.field = "pending";
    cell(row, int(p.available), "num").dataset.field = "available";
    cell(row, int(p.running), "num").dataset.field = "running";
    cell(row, `${int(p.scheduled)} / ${int(p.retryable)}`, "num");
    cell(row, when(w.createdAt));
    cell(row, w.createdBy);
    row.addEventListener("click", (event) => {
      if (event.target.tagName !== "A") location.hash = "#/workflows/" + encodeURIComponent(w.id);
    });
    tbody.appendChild(row);
  }
  workflowsCursor = page.nextCursor;
  $("workflows-more").hidden = !workflowsCursor;
  const shown = tbody.children.length;
  $("workflows-summary").textContent = `${shown} workflow${shown === 1 ? "" : "s"} shown${workflowsCursor ? " (more below)" : ""}, newest first` +
    `${name ? "; name = " + name : ""}. Finished steps completed, were discarded or were cancelled: open a workflow to see which.`;
}

function dependencies(names) {
  if (names.length <= shownDependencies) return names.join(", ");
  return `${names.slice(0, shownDependencies).join(", ")} and ${int(names.length - shownDependencies)} more`;
}

function renderWorkflow(w) {
  $("workflow-id").textContent = text(w.id);
  $("workflow-name").textContent = text(w.name);
  $("workflow-state").textContent = w.finished ? "finished" : "in progress";
  const p = w.progress;
  $("workflow-bar").max = Math.max(p.total, 1);
  $("workflow-bar").value = p.finished;
  const byState = ["pending", ...states, "finished"].filter((s) => p.byState[s]).map((s) => `${s} ${int(p.byState[s])}`).join(" · ");
  $("workflow-progress").textContent = `${int(p.finished)} of ${int(p.total)} steps finished (${byState}); enqueued ${when(w.createdAt)} by ${w.createdBy ?? "unknown"}.`;
  const tbody = $("workflow-steps").querySelector("tbody");
  tbody.replaceChildren();
  for (const step of w.steps.slice(0, shownSteps)) {
    const row = document.createElement("tr");
    row.dataset.step = step.name;
    cell(row, step.name);
    row.appendChild(el("td")).appendChild(link("#/jobs/" + encodeURIComponent(step.jobId), step.jobId));
    cell(row, step.state, "state-" + step.state).dataset.field = "state";
    cell(row, step.attempt, "num");
    cell(row, dependencies([...step.dependsOn, ...step.dependsOnJobIds.map((id) => "job " + id)]), "dependencies").dataset.field = "dependsOn";
    cell(row, step.onDependencyFailure === "run" ? "runs anyway" : "is cancelled");
    cell(row, when(step.finalizedAt));
    cell(row, step.lastError, "error");
    tbody.appendChild(row);
  }
  if (w.steps.length > shownSteps) {
    const row = tbody.appendChild(document.createElement("tr"));
    cell(row, `The first ${int(shownSteps)} of ${int(w.steps.length)} steps are shown; the counts above are of all of them.`).colSpan = 8;
  }
  $("workflow-cancel").disabled = w.finished;
  // A workflow in progress changes without anyone clicking: follow it until it finishes.
  clearTimeout(workflowTimer);
  if (!w.finished) workflowTimer = setTimeout(() => followWorkflow(w.id), 1000);
}

async function followWorkflow(id) {
  if (route().view !== "workflow" || String(workflowId) !== String(id)) return;
  if (document.hidden) {
    workflowTimer = setTimeout(() => followWorkflow(id), 1000);
    return;
  }
  try {
    renderWorkflow(await api("GET", "/workflows/" + encodeURIComponent(id), true));
  } catch (e) {
    setStatus(e.message, true);
  }
}

async function showWorkflow(id) {
  workflowId = id;
  $("workflow-result").textContent = "";
  renderWorkflow(await api("GET", "/workflows/" + encodeURIComponent(id), true));
}

function askCancelWorkflow() {
  $("workflow-question").textContent = `Cancel every step of workflow ${workflowId} that has not started? Running steps finish as they are.`;
  $("workflow-dialog").showModal();
  $("workflow-keep").focus();
}

// Its own line: the live refresh rewrites the page's status every 2 s.
async function cancelWorkflow() {
  $("workflow-dialog").close();
  try {
    const result = await api("POST", `/workflows/${encodeURIComponent(workflowId)}/cancel`, true);
    $("workflow-result").textContent = `${int(result.cancelled)} step${result.cancelled === 1 ? "" : "s"} cancelled, ${int(result.leftRunning)} left running.`;
    $("workflow-result").className = "";
    renderWorkflow(await api("GET", "/workflows/" + encodeURIComponent(workflowId), true));
  } catch (e) {
    $("workflow-result").textContent = e.message;
    $("workflow-result").className = "problem";
  }
}

// ---- Schedules -----------------------------------------------------------------------------

function actionButton(label, onClick) {
  const button = el("button", "", label);
  button.type = "button";
  button.addEventListener("click", onClick);
  return button;
}

async function loadSchedules() {
  const schedules = await api("GET", "/schedules", true);
  const tbody = $("schedules").querySelector("tbody");
  tbody.replaceChildren();
  for (const s of schedules) {
    const row = document.createElement("tr");
    row.dataset.schedule = s.name;
    for (const value of [s.name, s.cron, s.timeZone, s.kind]) cell(row, value);
    row.appendChild(document.createElement("td")).appendChild(link(jobsHref({ queue: s.queue }), s.queue));
    cell(row, s.paused ? "paused" : when(s.nextRunAt));
    cell(row, when(s.lastRunAt));
    const lastJob = row.appendChild(document.createElement("td"));
    if (s.lastJobId) lastJob.appendChild(link("#/jobs/" + s.lastJobId, s.lastJobId));
    cell(row, s.paused ? "paused" : "active");
    const actions = el("div", "row-actions");
    actions.append(
      actionButton(s.paused ? "Resume" : "Pause", () => scheduleAction(s.name, s.paused ? "resume" : "pause")),
      actionButton("Run now", () => scheduleAction(s.name, "run")));
    row.appendChild(document.createElement("td")).appendChild(actions);
    tbody.appendChild(row);
  }
  if (!schedules.length) {
    const row = tbody.appendChild(document.createElement("tr"));
    cell(row, "No schedule: schedules are declared in the Workers' configuration (Jobs:Schedules).").colSpan = 10;
  }
}

async function queueAction(name, action) {
  try {
    await api("POST", `/queues/${encodeURIComponent(name)}/${action}`);
    setStatus(`Queue ${name}: ${action} done.`);
    await loadStats();
  } catch (e) {
    setStatus(e.message, true);
  }
}

async function scheduleAction(name, action) {
  try {
    const result = await api("POST", `/schedules/${encodeURIComponent(name)}/${action}`);
    await loadSchedules();
    if (action === "run") {
      // Its own line, not the status line: the live refresh rewrites that one every 2 s.
      $("schedule-run").replaceChildren(`Schedule ${name}: enqueued job `, link("#/jobs/" + result.jobId, result.jobId), ".");
    } else {
      setStatus(`Schedule ${name}: ${action} done.`);
    }
  } catch (e) {
    setStatus(e.message, true);
  }
}

// ---- Database ------------------------------------------------------------------------------

function seconds(timeSpan) {
  const [h, m, s] = String(timeSpan).split(":").map(Number);
  return h * 3600 + m * 60 + s;
}

function fill(tableId, rows, columns, isProblem) {
  const tbody = $(tableId).querySelector("tbody");
  tbody.replaceChildren();
  for (const item of rows) {
    const row = document.createElement("tr");
    if (isProblem && isProblem(item)) row.className = "problem";
    for (const column of columns) cell(row, column(item));
    tbody.appendChild(row);
  }
}

function bytes(n) {
  return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : (n / 1024).toFixed(0) + " kB";
}

// Each threshold is written next to the figures it colours: a row is red past it.
async function loadDatabase() {
  const db = await api("GET", "/db/health");
  const t = db.thresholds;
  const maxWaiting = seconds(t.maxWaitingJobAge);
  const maxHorizon = seconds(t.maxXminHorizonAge);
  $("thresholds").textContent =
    `Red when: a waiting job is older than ${maxWaiting} s · the xmin horizon is older than ${maxHorizon} s · ` +
    `dead tuples exceed ${(t.maxDeadTupleRatio * 100).toFixed(0)} % of a table · an index was never scanned · ` +
    `a transaction is open longer than ${seconds(t.longTransactionAge)} s.`;
  const horizon = db.xminHorizon;
  const horizonAge = horizon ? horizon.transactionAgeSeconds : null;
  $("horizon").textContent =
    `Oldest waiting job: ${db.oldestWaitingJobSeconds === null ? "none" : fmt(db.oldestWaitingJobSeconds) + " s"} · ` +
    (horizon ? `oldest snapshot: ${fmt(horizonAge)} s, held by '${horizon.applicationName ?? ""}' (pid ${horizon.pid}, ${horizon.state ?? ""}, ${horizon.ageXids} transactions old)` : "no session holds back vacuum");
  $("horizon").className = (db.oldestWaitingJobSeconds > maxWaiting || horizonAge > maxHorizon) ? "problem" : "";
  fill("db-tables", db.tables, [(r) => r.table, (r) => r.liveTuples, (r) => r.deadTuples, (r) => (r.deadRatio * 100).toFixed(1),
    (r) => bytes(r.sizeBytes), (r) => when(r.lastAutovacuum), (r) => when(r.lastVacuum), (r) => when(r.lastAutoanalyze)], (r) => r.deadRatio > t.maxDeadTupleRatio);
  fill("db-indexes", db.indexes, [(r) => r.index, (r) => r.table, (r) => r.scans, (r) => bytes(r.sizeBytes), (r) => (r.valid ? "yes" : "INVALID"),
    (r) => (r.neverUsed ? "never used" : "")], (r) => !r.valid || r.neverUsed);
  fill("db-statements", db.topStatements, [(r) => r.calls, (r) => fmt(r.totalMs), (r) => fmt(r.meanMs), (r) => r.rows, (r) => r.query]);
  fill("db-long", db.longTransactions, [(r) => r.pid, (r) => r.applicationName, (r) => r.state, (r) => fmt(r.ageSeconds), (r) => r.query], () => true);
  fill("db-connections", db.connections, [(r) => r.applicationName, (r) => r.state, (r) => r.connections]);
}

// ---- Start ---------------------------------------------------------------------------------

function start() {
  const hasKey = !!sessionStorage.getItem(keyName);
  $("main").hidden = !hasKey;
  $("nav").hidden = !hasKey;
  $("states").hidden = !hasKey;
  for (const node of $("key-form").querySelectorAll("label, input, button[type=submit]")) node.hidden = hasKey;
  $("forget").hidden = !hasKey;
  if (hasKey) {
    render();
    scheduleRefresh();
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(keyName, $("key").value);
    $("key").value = "";
    start();
  });
  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(keyName);
    clearTimeout(liveTimer);
    start();
    setStatus("Key forgotten.");
  });
  $("load-database").addEventListener("click", () => loadDatabase().then(() => setStatus("Database figures loaded.")).catch((e) => setStatus(e.message, true)));
  $("filter").addEventListener("submit", (event) => {
    event.preventDefault();
    const target = jobsHref(Object.fromEntries(filterQuery()));
    if (location.hash === target) render();
    else location.hash = target;
  });
  $("more").addEventListener("click", () => loadJobs(true).catch((e) => setStatus(e.message, true)));
  $("workflows-more").addEventListener("click", () => loadWorkflows(true).catch((e) => setStatus(e.message, true)));
  $("workflow-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    const target = workflowsHref($("filter-workflow-name").value.trim());
    if (location.hash === target) render();
    else location.hash = target;
  });
  $("workflow-cancel").addEventListener("click", askCancelWorkflow);
  $("workflow-confirm").addEventListener("click", cancelWorkflow);
  $("workflow-keep").addEventListener("click", () => $("workflow-dialog").close());
  $("cancel").addEventListener("click", () => act("cancel"));
  $("retry").addEventListener("click", () => act("retry"));
  $("bulk-retry").addEventListener("click", () => askBulk("retry"));
  $("bulk-cancel").addEventListener("click", () => askBulk("cancel"));
  $("bulk-confirm").addEventListener("click", runBulk);
  $("bulk-keep").addEventListener("click", () => {
    bulkPending = null;
    $("bulk-dialog").close();
  });
  window.addEventListener("hashchange", () => {
    render();
    $("main").focus({ preventScroll: true });
  });
  document.addEventListener("visibilitychange", onVisibility);
  start();
});
