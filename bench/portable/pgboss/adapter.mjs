#!/usr/bin/env node
// pg-boss behind the same JSONL protocol as our adapter (bench/portable/Adapter), so
// bench/portable/run.sh measures both in one run and prints ratios. pg-boss comes from the
// benchmark's pinned npm install in bench/peers (bench/portable/run.sh runs `npm ci` there).
// Environment, stdout and SIGTERM as the harness's protocol says; logs go to stderr. Settings are
// pg-boss's documented throughput knobs (LISTEN/NOTIFY, batch fetch), and its expiry and
// supervision are set to our engine's lease (30 s) and rescue interval (5 s) so that a SIGKILLed
// replica's jobs come back on the same clock for both.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
const peers = createRequire(join(here, '..', '..', 'peers', 'package.json'));
const { PgBoss } = await import(pathToFileURL(peers.resolve('pg-boss')).href);
const { version: pgbossVersion } = JSON.parse(readFileSync(join(dirname(peers.resolve('pg-boss')), '..', 'package.json'), 'utf8'));
const manifest = JSON.parse(readFileSync(join(here, 'adapter.json'), 'utf8'));

const SYSTEM = manifest.system;
const QUEUE = 'portable_bench';
const WINDOW_S = 30;
const BATCH_MAX = 500;

function envInt(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    console.error(`${name} is '${raw}'; expected an integer of at least ${min}.`);
    process.exit(2);
  }
  return value;
}

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('DATABASE_URL is not set; expected postgres://user:password@host:port/database.');
  process.exit(2);
}
if ((process.env.SCENARIO ?? 'long_horizon') !== 'long_horizon') {
  console.error(`SCENARIO is '${process.env.SCENARIO}'; this adapter implements long_horizon only.`);
  process.exit(2);
}
const settings = {
  mode: process.env.PRODUCER_MODE ?? 'fixed',
  pacing: process.env.PRODUCER_PACING || 'harness',
  rate: envInt('PRODUCER_RATE', 800, 0),
  targetDepth: envInt('TARGET_DEPTH', 1000, 0),
  workers: envInt('WORKER_COUNT', 32, 1),
  payloadBytes: envInt('JOB_PAYLOAD_BYTES', 256, 0),
  workMs: envInt('JOB_WORK_MS', 1, 0),
  sampleEvery: envInt('SAMPLE_EVERY_S', 5, 1),
  instance: envInt('BENCH_INSTANCE_ID', 0, 0),
  rateFile: process.env.PRODUCER_RATE_CONTROL_FILE || null,
};
if (!['fixed', 'depth-target'].includes(settings.mode) || !['harness', 'adapter'].includes(settings.pacing)) {
  console.error(`PRODUCER_MODE '${settings.mode}' / PRODUCER_PACING '${settings.pacing}'; expected fixed|depth-target and harness|adapter.`);
  process.exit(2);
}

// Claim latency over the rolling window in bounded memory: one log-linear histogram per
// wall-clock second (buckets of 0.1% width, as an HDR histogram at 3 significant figures),
// merged over the last 30 s when a sample is taken.
const SUB = 1000;
function bucketOf(micros) {
  if (micros < SUB) return Math.max(0, Math.floor(micros));
  const exp = Math.floor(Math.log10(micros / SUB));
  return SUB + exp * 9 * SUB + Math.floor(micros / 10 ** exp) - SUB;
}
function valueOf(bucket) {
  if (bucket < SUB) return bucket;
  const exp = Math.floor((bucket - SUB) / (9 * SUB));
  return (bucket - SUB - exp * 9 * SUB + SUB) * 10 ** exp;
}
const slots = Array.from({ length: WINDOW_S + 1 }, () => ({ second: -1, counts: new Map() }));
function recordClaim(ms) {
  const second = Math.floor(Date.now() / 1000);
  const slot = slots[second % slots.length];
  if (slot.second !== second) {
    slot.second = second;
    slot.counts.clear();
  }
  const b = bucketOf(Math.max(0, ms) * 1000);
  slot.counts.set(b, (slot.counts.get(b) ?? 0) + 1);
}
function percentiles() {
  const now = Math.floor(Date.now() / 1000);
  const merged = new Map();
  let total = 0;
  for (const slot of slots) {
    if (slot.second > now - WINDOW_S && slot.second <= now) {
      for (const [b, n] of slot.counts) {
        merged.set(b, (merged.get(b) ?? 0) + n);
        total += n;
      }
    }
  }
  if (total === 0) return [0, 0, 0];
  const sorted = [...merged.keys()].sort((a, b) => a - b);
  return [0.5, 0.95, 0.99].map((q) => {
    let seen = 0;
    for (const b of sorted) {
      seen += merged.get(b);
      if (seen >= q * total) return Math.round(valueOf(b)) / 1000;
    }
    return 0;
  });
}

function emit(records) {
  process.stdout.write(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
}
const iso = (ms) => new Date(ms).toISOString();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const startedAt = Date.now();
const boss = new PgBoss({
  connectionString: databaseUrl,
  useListenNotify: true,
  supervise: true,
  superviseIntervalSeconds: 5,
  schedule: false,
  max: 10,
  application_name: `pgboss-adapter-${settings.instance}`,
});
boss.on('error', (e) => console.error(`[pgboss] ${e.message}`));
await boss.start();
if (!(await boss.getQueue(QUEUE))) {
  try {
    await boss.createQueue(QUEUE, { notify: true, expireInSeconds: 30, retryLimit: 25 });
  } catch (e) {
    // Another replica created it first.
    if (!(await boss.getQueue(QUEUE))) throw e;
  }
}
const queueTable = `pgboss.${(await boss.getQueue(QUEUE)).table}`;
const db = boss.getDb();
emit([{
  kind: 'descriptor',
  system: SYSTEM,
  event_tables: [...new Set([...manifest.event_tables, queueTable])],
  extensions: manifest.extensions,
  version: `pg-boss@${pgbossVersion}`,
  schema_version: String(await boss.schemaVersion()),
  db_name: decodeURIComponent(new URL(databaseUrl).pathname.slice(1)),
  started_at: iso(startedAt),
  instance_id: settings.instance,
}]);

let enqueued = 0;
let completed = 0;
let owed = 0;
let depth = 0;
let stopping = false;

const padding = 'x'.repeat(Math.max(0, settings.payloadBytes - 64));
await boss.work(
  QUEUE,
  { batchSize: 100, localConcurrency: settings.workers, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true },
  async (jobs) => {
    for (const job of jobs) {
      recordClaim(Date.now() - job.data.enqueuedAtMs);
      if (settings.workMs > 0) await sleep(settings.workMs);
      completed++;
    }
  },
);

// Pacing: ENQUEUE lines on stdin (default), or the adapter's own clock at PRODUCER_RATE (or the
// rate in PRODUCER_RATE_CONTROL_FILE, re-read every 500 ms), or a target depth (diagnostic).
if (settings.mode === 'fixed' && settings.pacing === 'harness') {
  createInterface({ input: process.stdin }).on('line', (line) => {
    const m = /^ENQUEUE (\d+)$/.exec(line.trim());
    if (m) owed += Number(m[1]);
    else if (line.trim()) console.error(`ignored a stdin line that is not 'ENQUEUE <n>': ${line.slice(0, 80)}`);
  });
}
let rate = settings.rate;
let rateReadAt = 0;
function currentRate() {
  if (settings.rateFile && Date.now() - rateReadAt >= 500) {
    rateReadAt = Date.now();
    try {
      const value = Number(readFileSync(settings.rateFile, 'utf8').trim());
      if (Number.isFinite(value) && value >= 0) rate = value;
    } catch {
      // not written yet: keep the last rate
    }
  }
  return rate;
}

async function countWaiting() {
  const { rows } = await db.executeSql(`SELECT count(*)::int AS n FROM ${queueTable} WHERE name = $1 AND state < 'active'`, [QUEUE]);
  return rows[0].n;
}

const producer = (async () => {
  let last = Date.now();
  let credit = 0;
  while (!stopping) {
    if (settings.mode === 'depth-target') {
      await sleep(1000);
      owed = Math.max(0, settings.targetDepth - depth);
    } else if (settings.pacing === 'adapter') {
      const now = Date.now();
      credit += (currentRate() * (now - last)) / 1000;
      last = now;
      owed = Math.floor(credit);
    }
    if (owed < 1) {
      await sleep(10);
      continue;
    }
    const n = Math.min(owed, BATCH_MAX);
    const enqueuedAtMs = Date.now();
    try {
      await boss.insert(QUEUE, Array.from({ length: n }, () => ({ data: { enqueuedAtMs, padding } })));
      owed -= n;
      credit -= n;
      enqueued += n;
    } catch (e) {
      console.error(`[pgboss] insert of ${n} jobs failed, retrying in 200 ms: ${e.message}`);
      await sleep(200);
    }
  }
})();

const observer = (async () => {
  while (!stopping) {
    if (settings.instance === 0 || settings.mode === 'depth-target') {
      try {
        depth = await countWaiting();
      } catch (e) {
        console.error(`[pgboss] depth read failed: ${e.message}`);
      }
    }
    await sleep(1000);
  }
})();

const sampler = (async () => {
  const period = settings.sampleEvery * 1000;
  let [lastEnqueued, lastCompleted, lastAt, lastTick] = [enqueued, completed, Date.now(), -Infinity];
  while (!stopping) {
    // A timer may fire a moment before the wall clock reaches the tick: never emit one tick twice.
    const tick = Math.max((Math.floor(Date.now() / period) + 1) * period, lastTick + period);
    await sleep(tick - Date.now());
    if (stopping) return;
    const seconds = Math.max((Date.now() - lastAt) / 1000, 0.001);
    const [p50, p95, p99] = percentiles();
    const record = (metric, value, window_s) => ({
      t: iso(tick), system: SYSTEM, kind: 'adapter', subject_kind: 'adapter', subject: '', metric, value, window_s, instance_id: settings.instance,
    });
    const records = [
      record('claim_p50_ms', p50, WINDOW_S),
      record('claim_p95_ms', p95, WINDOW_S),
      record('claim_p99_ms', p99, WINDOW_S),
      record('enqueue_rate', Math.round(((enqueued - lastEnqueued) / seconds) * 100) / 100, settings.sampleEvery),
      record('completion_rate', Math.round(((completed - lastCompleted) / seconds) * 100) / 100, settings.sampleEvery),
    ];
    if (settings.instance === 0) records.push(record('queue_depth', depth, 0));
    emit(records);
    [lastEnqueued, lastCompleted, lastAt, lastTick] = [enqueued, completed, Date.now(), tick];
  }
})();

console.error(`[pgboss] adapter ${settings.instance} runs: pg-boss ${pgbossVersion}, ${settings.workers} workers, ${settings.pacing} pacing, ${settings.mode} mode`);
const stop = async () => {
  if (stopping) return;
  stopping = true;
  // SIGTERM: exit 0 within 5 s. Everything emitted was written whole; running jobs get 2 s.
  setTimeout(() => process.exit(0), 4000).unref();
  await boss.stop({ graceful: true, timeout: 2000 }).catch(() => {});
  await Promise.allSettled([producer, observer, sampler]);
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
