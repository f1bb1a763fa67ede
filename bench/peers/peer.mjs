// The Node.js peers of the benchmark, Graphile Worker and pg-boss, behind one small command line
// so the driver (bench/Bench) treats them like our Worker: set up a schema, bulk-enqueue no-op
// jobs, run one worker process, or produce jobs at a fixed rate.
//
//   node peer.mjs <graphile|pgboss> setup
//   node peer.mjs <graphile|pgboss> enqueue <count>
//   node peer.mjs <graphile|pgboss> work            (until SIGTERM; writes start latencies to BENCH_LATENCY_FILE)
//   node peer.mjs <graphile|pgboss> produce <rate> <seconds>
//
// BENCH_DATABASE_URL is the database. Settings are each peer's documented throughput knobs
// (see /work/shared/peers.md and the report); the first line a worker prints is its settings.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import pg from 'pg';

const [peer, command, ...rest] = process.argv.slice(2);
const connectionString = process.env.BENCH_DATABASE_URL;
if (!connectionString) {
  console.error('BENCH_DATABASE_URL is not set; expected a postgres:// URL of the database to use.');
  process.exit(2);
}

const QUEUE = 'noop';
const ENQUEUE_BATCH = 5000;

// Per-job start latency (handler entry minus the job's creation time), kept in memory and written
// once at shutdown so that recording it costs the handler nothing but an array push. Both instants
// keep their fraction of a millisecond, as ours do: a Date holds whole milliseconds (node-postgres
// truncates created_at's microseconds, Date.now() truncates the clock), and latencies of a few ms
// rounded to whole ones made a median of, say, 3.4 ms read as 3. Only a run given a file records
// (the drain passes none): the peer then parses timestamps and keeps starts exactly as it would
// without this harness, as our Worker does without Jobs:DiagnosticStartsFile.
const latencyFile = process.env.BENCH_LATENCY_FILE;
if (latencyFile) {
  const parseTimestamptz = pg.types.getTypeParser(1184);
  pg.types.setTypeParser(1184, (text) => {
    const date = parseTimestamptz(text);
    const fraction = /\.(\d+)/.exec(text);
    if (date instanceof Date && fraction) {
      const ms = Number(`0.${fraction[1]}`) * 1000;
      date.benchSubMs = ms - Math.floor(ms);
    }
    return date;
  });
}
const nowMs = () => performance.timeOrigin + performance.now();
const starts = [];
function recordStart(createdAt) {
  if (latencyFile) starts.push(createdAt.getTime() + (createdAt.benchSubMs ?? 0), nowMs());
}
function writeStarts() {
  if (!latencyFile) return;
  const lines = [];
  for (let i = 0; i < starts.length; i += 2) lines.push(`${starts[i].toFixed(3)} ${starts[i + 1].toFixed(3)}`);
  // The start instants come from the monotonic clock anchored once at process start; a step of the
  // wall clock since would shift them all. Say how far the two clocks ended apart (under 1 ms: none).
  console.error(`start clock vs wall clock at exit: ${(nowMs() - Date.now()).toFixed(3)} ms`);
  writeFileSync(latencyFile, lines.join('\n') + '\n');
}

const graphileSettings = {
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 64),
  localQueueSize: 1000,
  completeJobBatchDelay: 0,
  failJobBatchDelay: 0,
  pollInterval: 1000,
  logger: 'silent',
};

const pgbossSettings = {
  batchSize: 100,
  localConcurrency: Number(process.env.BENCH_CONCURRENCY ?? 1),
  pollingIntervalSeconds: 0.5,
  burstWhenBatchFull: true,
  useListenNotify: true,
  queueNotify: true,
  poolMax: 10,
};

async function graphile() {
  const { run, runMigrations, makeWorkerUtils, Logger } = await import('graphile-worker');
  const logger = new Logger(() => () => {});
  const preset = {
    worker: {
      connectionString,
      concurrentJobs: graphileSettings.concurrency,
      pollInterval: graphileSettings.pollInterval,
      completeJobBatchDelay: graphileSettings.completeJobBatchDelay,
      failJobBatchDelay: graphileSettings.failJobBatchDelay,
      localQueue: { size: graphileSettings.localQueueSize },
      logger,
    },
  };
  const options = { connectionString, logger, preset };
  return {
    setup: () => runMigrations(options),
    async enqueue(count) {
      const utils = await makeWorkerUtils(options);
      try {
        for (let done = 0; done < count; done += ENQUEUE_BATCH) {
          const n = Math.min(ENQUEUE_BATCH, count - done);
          await utils.addJobs(Array.from({ length: n }, () => ({ identifier: QUEUE, payload: {} })));
        }
      } finally {
        await utils.release();
      }
    },
    async work() {
      console.log(JSON.stringify({ settings: graphileSettings }));
      const runner = await run({
        ...options,
        concurrency: graphileSettings.concurrency,
        noHandleSignals: true,
        taskList: { [QUEUE]: async (_payload, helpers) => recordStart(helpers.job.created_at) },
      });
      return () => runner.stop();
    },
    async producer() {
      const utils = await makeWorkerUtils(options);
      return {
        send: (n) => utils.addJobs(Array.from({ length: n }, () => ({ identifier: QUEUE, payload: {} }))),
        close: () => utils.release(),
      };
    },
  };
}

async function pgboss() {
  const { PgBoss } = await import('pg-boss');
  const make = async (listen) => {
    const boss = new PgBoss({
      connectionString,
      max: pgbossSettings.poolMax,
      useListenNotify: listen && pgbossSettings.useListenNotify,
      schedule: false,
      supervise: false,
    });
    boss.on('error', (e) => console.error(`pg-boss error: ${e.message}`));
    await boss.start();
    return boss;
  };
  const insert = (boss, n) => boss.insert(QUEUE, Array.from({ length: n }, () => ({ data: {} })));
  return {
    async setup() {
      const boss = await make(false);
      await boss.createQueue(QUEUE, { notify: pgbossSettings.queueNotify });
      await boss.stop({ graceful: false });
    },
    async enqueue(count) {
      const boss = await make(false);
      for (let done = 0; done < count; done += ENQUEUE_BATCH) {
        await insert(boss, Math.min(ENQUEUE_BATCH, count - done));
      }
      await boss.stop({ graceful: false });
    },
    async work() {
      console.log(JSON.stringify({ settings: pgbossSettings }));
      const boss = await make(true);
      await boss.work(
        QUEUE,
        {
          batchSize: pgbossSettings.batchSize,
          localConcurrency: pgbossSettings.localConcurrency,
          pollingIntervalSeconds: pgbossSettings.pollingIntervalSeconds,
          burstWhenBatchFull: pgbossSettings.burstWhenBatchFull,
          includeMetadata: true,
        },
        async (jobs) => {
          for (const job of jobs) recordStart(job.createdOn);
        },
      );
      return () => boss.stop({ graceful: true, timeout: 5000 });
    },
    async producer() {
      const boss = await make(false);
      return { send: (n) => insert(boss, n), close: () => boss.stop({ graceful: false }) };
    },
  };
}

// Open loop: every 10 ms, send as many jobs as the rate owes so far in one insert, so a slow
// insert is followed by a bigger one rather than by a lower rate.
async function produce(contender, rate, seconds) {
  const producer = await contender.producer();
  // One job before the clock starts, as our producer does: the first send opens the connection.
  await producer.send(1);
  const started = Date.now();
  let sent = 0;
  let errors = 0;
  while (Date.now() - started < seconds * 1000) {
    const owed = Math.floor(((Date.now() - started) / 1000) * rate) - sent;
    if (owed > 0) {
      try {
        await producer.send(owed);
      } catch (e) {
        errors++;
        console.error(`insert of ${owed} jobs failed: ${e.message}`);
      }
      sent += owed;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const elapsed = (Date.now() - started) / 1000;
  await producer.close();
  console.log(JSON.stringify({ sent, errors, seconds: elapsed, rate: sent / elapsed }));
}

const contenders = { graphile, pgboss };
if (!contenders[peer]) {
  console.error(`unknown peer '${peer}'; expected one of: ${Object.keys(contenders).join(', ')}`);
  process.exit(2);
}
const contender = await contenders[peer]();
switch (command) {
  case 'setup':
    await contender.setup();
    break;
  case 'enqueue':
    await contender.enqueue(Number(rest[0]));
    break;
  case 'produce':
    await produce(contender, Number(rest[0]), Number(rest[1]));
    break;
  case 'work': {
    const stop = await contender.work();
    console.log('ready');
    await new Promise((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await stop();
    writeStarts();
    process.exit(0);
  }
  default:
    console.error(`unknown command '${command}'; expected setup, enqueue, work or produce`);
    process.exit(2);
}
process.exit(0);
