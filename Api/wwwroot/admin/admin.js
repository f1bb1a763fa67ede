// The admin page: plain JavaScript, no build step, no inline code (the page's CSP forbids it).
// The admin key is kept in sessionStorage (gone when the tab closes) and sent as a Bearer token.
// Everything shown comes from the API and is written with textContent, never parsed as HTML.
"use strict";

const keyName = "jobs-admin-key";
const $ = (id) => document.getElementById(id);
let nextCursor = null;
let detailId = null;
let detailTimer = null;

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function api(method, path) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: "Bearer " + sessionStorage.getItem(keyName), "Cache-Control": "no-cache" },
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const problem = body || {};
    throw new Error(`${response.status} ${problem.title || ""}: ${problem.detail || ""}${problem.retryable ? " (retry is safe)" : ""}`);
  }
  return body;
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function when(value) {
  return value ? new Date(value).toLocaleString() : "";
}

function jobRow(tbody, job, columns) {
  const row = document.createElement("tr");
  row.className = "clickable";
  row.dataset.jobId = job.id;
  for (const column of columns) {
    cell(row, column(job), column === lastError ? "error" : "");
  }
  row.addEventListener("click", () => showJob(job.id));
  tbody.appendChild(row);
}

const lastError = (j) => j.lastError;

async function loadStats() {
  const stats = await api("GET", "/stats");
  const tbody = $("queues").querySelector("tbody");
  tbody.replaceChildren();
  for (const q of stats.queues) {
    const row = document.createElement("tr");
    row.dataset.queue = q.queue;
    cell(row, q.queue);
    for (const state of ["available", "scheduled", "running", "retryable", "completed", "discarded", "cancelled"]) {
      cell(row, q.counts[state]);
    }
    cell(row, q.completedLastHour);
    cell(row, q.discardedLastHour);
    tbody.appendChild(row);
  }
  const latency = stats.queueLatencyMs;
  $("summary").textContent =
    `Error rate (last hour): ${(stats.errorRate * 100).toFixed(1)} % · queue latency p50 ${fmt(latency.p50)} ms, p95 ${fmt(latency.p95)} ms` +
    ` · oldest waiting: ${stats.oldestWaitingSeconds === null ? "none" : fmt(stats.oldestWaitingSeconds) + " s"} · as of ${when(stats.generatedAt)}`;
}

function fmt(n) {
  return n === null || n === undefined ? "–" : Number(n).toFixed(1);
}

async function loadFailures() {
  const page = await api("GET", "/jobs?state=discarded&limit=20");
  const tbody = $("failures").querySelector("tbody");
  tbody.replaceChildren();
  for (const job of page.items) {
    jobRow(tbody, job, [(j) => j.id, (j) => j.queue, (j) => j.kind, (j) => `${j.attempt}/${j.maxAttempts}`, (j) => when(j.finalizedAt), lastError]);
  }
}

function filterQuery() {
  const params = new URLSearchParams();
  for (const name of ["state", "queue", "kind"]) {
    const value = $("filter-" + name).value.trim();
    if (value) params.set(name, value);
  }
  params.set("limit", "50");
  return params;
}

async function loadJobs(append) {
  const params = filterQuery();
  if (append && nextCursor) params.set("cursor", nextCursor);
  const page = await api("GET", "/jobs?" + params.toString());
  const tbody = $("jobs").querySelector("tbody");
  if (!append) tbody.replaceChildren();
  for (const job of page.items) {
    jobRow(tbody, job, [(j) => j.id, (j) => j.state, (j) => j.queue, (j) => j.kind, (j) => `${j.attempt}/${j.maxAttempts}`, (j) => when(j.createdAt), lastError]);
  }
  nextCursor = page.nextCursor;
  $("more").hidden = !nextCursor;
}

function renderJob(job) {
  $("detail").hidden = false;
  $("detail-id").textContent = String(job.id);
  const fields = $("detail-fields");
  fields.replaceChildren();
  const shown = {
    state: job.state, queue: job.queue, kind: job.kind, priority: job.priority,
    attempts: `${job.attempt}/${job.maxAttempts}`, "run at": when(job.runAt), created: when(job.createdAt),
    "last attempt": when(job.attemptedAt), finished: when(job.finalizedAt), worker: job.attemptedBy,
    "created by": job.createdBy, "idempotency key": job.idempotencyKey,
  };
  for (const [name, value] of Object.entries(shown)) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value === null || value === undefined ? "" : String(value);
    dd.dataset.field = name;
    fields.append(dt, dd);
  }
  $("detail-args").textContent = JSON.stringify(job.args, null, 2);
  const errors = $("detail-errors");
  errors.replaceChildren();
  for (const error of job.errors) {
    const li = document.createElement("li");
    li.className = "error";
    li.textContent = `attempt ${error.attempt ?? "?"} at ${when(error.at)}: ${error.type ?? ""}: ${error.message ?? ""}`;
    errors.appendChild(li);
  }
  const finalized = ["completed", "discarded", "cancelled"].includes(job.state);
  $("cancel").disabled = finalized;
  $("retry").disabled = !["discarded", "cancelled", "retryable", "scheduled"].includes(job.state);
  // A live job changes without anyone clicking: follow it until it finishes.
  clearTimeout(detailTimer);
  if (!finalized) detailTimer = setTimeout(() => showJob(job.id).catch(() => {}), 1000);
}

async function showJob(id) {
  detailId = id;
  renderJob(await api("GET", "/jobs/" + encodeURIComponent(id)));
}

async function act(action) {
  try {
    const job = await api("POST", `/jobs/${encodeURIComponent(detailId)}/${action}`);
    renderJob(job);
    setStatus(`Job ${job.id}: ${action} done, now ${job.state}.`);
    await refresh();
  } catch (e) {
    setStatus(e.message, true);
  }
}

async function loadSchedules() {
  const schedules = await api("GET", "/schedules");
  const tbody = $("schedules").querySelector("tbody");
  tbody.replaceChildren();
  for (const s of schedules) {
    const row = document.createElement("tr");
    row.dataset.schedule = s.name;
    for (const value of [s.name, s.cron, s.timeZone, s.kind, s.queue, when(s.nextRunAt), when(s.lastRunAt), s.lastJobId, s.paused ? "paused" : "active"]) {
      cell(row, value);
    }
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = s.paused ? "Resume" : "Pause";
    button.addEventListener("click", () => toggleSchedule(s.name, s.paused ? "resume" : "pause"));
    row.appendChild(document.createElement("td")).appendChild(button);
    tbody.appendChild(row);
  }
}

async function toggleSchedule(name, action) {
  try {
    await api("POST", `/schedules/${encodeURIComponent(name)}/${action}`);
    setStatus(`Schedule ${name}: ${action} done.`);
    await loadSchedules();
  } catch (e) {
    setStatus(e.message, true);
  }
}

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

async function refresh() {
  try {
    await Promise.all([loadStats(), loadFailures(), loadJobs(false), loadSchedules()]);
    setStatus("Updated " + new Date().toLocaleTimeString() + ".");
  } catch (e) {
    setStatus(e.message, true);
  }
}

function start() {
  const hasKey = !!sessionStorage.getItem(keyName);
  $("main").hidden = !hasKey;
  if (hasKey) refresh();
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
    $("main").hidden = true;
    setStatus("Key forgotten.");
  });
  $("refresh").addEventListener("click", refresh);
  $("load-database").addEventListener("click", () => loadDatabase().then(() => setStatus("Database figures loaded.")).catch((e) => setStatus(e.message, true)));
  $("filter").addEventListener("submit", (event) => {
    event.preventDefault();
    loadJobs(false).catch((e) => setStatus(e.message, true));
  });
  $("more").addEventListener("click", () => loadJobs(true).catch((e) => setStatus(e.message, true)));
  $("cancel").addEventListener("click", () => act("cancel"));
  $("retry").addEventListener("click", () => act("retry"));
  start();
});
