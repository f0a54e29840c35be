#!/usr/bin/env node
// Benchmark driver for provisiond and its peer, graphile-worker 0.17.3.
//
//   node driver.js latency provisiond N
//   node driver.js latency graphile N
//       Inserts N no-op tasks one at a time with plain SQL, waits for each to
//       finish, and prints the insert-to-start latency of each as JSON.
//   node driver.js throughput provisiond N
//   node driver.js throughput graphile N [--concurrency C] [--batched]
//       Inserts N no-op tasks in one statement and prints the seconds from its
//       commit until the last one is done, as JSON.
//
// The database comes from the libpq variables PGHOST, PGPORT, PGUSER and
// PGDATABASE.  For provisiond a daemon must already be running and
// connected.  For graphile-worker this script starts the worker in a child
// process, so the worker and the inserting client have separate event loops.  graphile-worker is loaded from bench/graphile/node_modules,
// where bench/lib.sh installs it.
'use strict';

const path = require('path');
const { fork } = require('child_process');

const modules = path.join(__dirname, 'graphile', 'node_modules');
const { Client } = require(path.join(modules, 'pg'));

// Milliseconds from the Unix epoch with sub-millisecond precision.
function nowMs() {
  return performance.timeOrigin + performance.now();
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function connectionString() {
  const { PGHOST, PGPORT, PGUSER, PGDATABASE } = process.env;
  return `postgres://${PGUSER}@${PGHOST}:${PGPORT}/${PGDATABASE}`;
}

async function connect() {
  const client = new Client({ connectionString: connectionString() });
  await client.connect();
  await client.query("SET application_name = 'bench-driver'");
  return client;
}

// Polls EMPTY_SQL, which returns one boolean column "empty", every 10 ms
// until it is true; returns the time it was.  The queries stop at the first
// row they find, so that polling takes little from the database under test.
async function waitUntilEmpty(client, emptySql, timeoutMs) {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    const res = await client.query(emptySql);
    if (res.rows[0].empty) return nowMs();
    if (nowMs() > deadline) throw new Error(`timed out after ${timeoutMs} ms with tasks left`);
    await sleep(10);
  }
}

// ---- graphile-worker ----

// Runs in the child process: a worker pool with one task, "noop", which
// reports its own start time and does nothing else.
async function graphileChild(options) {
  const { run } = require(path.join(modules, 'graphile-worker'));
  const preset = { worker: {} };
  if (options.batched) {
    preset.worker.localQueue = { size: options.localQueueSize };
    preset.worker.completeJobBatchDelay = 0;
    preset.worker.failJobBatchDelay = 0;
  }
  const runner = await run({
    connectionString: connectionString(),
    concurrency: options.concurrency,
    noHandleSignals: true,
    pollInterval: 2000,
    preset,
    logger: undefined,
    taskList: {
      noop: async (payload, helpers) => {
        if (options.reportStarts) process.send({ started: helpers.job.id, at: nowMs() });
      },
    },
  });
  runner.events.on('job:complete', ({ job }) => {
    if (options.reportStarts) process.send({ completed: job.id });
  });
  process.on('message', async (message) => {
    if (message === 'stop') {
      await runner.stop();
      process.exit(0);
    }
  });
  process.send({ ready: true });
}

function startGraphile(options) {
  const child = fork(__filename, ['graphile-child', JSON.stringify(options)], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const listeners = new Set();
  child.on('message', (message) => {
    listeners.forEach((listener) => listener(message));
  });
  const ready = new Promise((resolve, reject) => {
    const onReady = (message) => {
      if (message.ready) {
        listeners.delete(onReady);
        resolve();
      }
    };
    listeners.add(onReady);
    child.on('exit', (code) => reject(new Error(`graphile-worker exited with ${code}`)));
  });
  return {
    ready,
    listeners,
    stop: () => new Promise((resolve) => {
      child.on('exit', resolve);
      child.send('stop');
    }),
  };
}

// Waits for the message from the child that satisfies PREDICATE.
function nextMessage(worker, predicate) {
  return new Promise((resolve) => {
    const listener = (message) => {
      if (predicate(message)) {
        worker.listeners.delete(listener);
        resolve(message);
      }
    };
    worker.listeners.add(listener);
  });
}

async function graphileLatency(n) {
  const worker = startGraphile({ concurrency: 1, batched: false, reportStarts: true });
  await worker.ready;
  const client = await connect();
  const samples = [];
  for (let i = 0; i < n; i++) {
    // Both listeners go in first: the two messages may arrive in one read.
    const started = nextMessage(worker, (m) => m.started !== undefined);
    const completed = nextMessage(worker, (m) => m.completed !== undefined);
    const res = await client.query(
      "SELECT id::text, extract(epoch FROM created_at)::float8 * 1000 AS created_ms " +
      "FROM graphile_worker.add_job('noop', '{}'::json)");
    const id = res.rows[0].id;
    const start = await started;
    if (String(start.started) !== id) throw new Error(`job ${start.started} started, expected ${id}`);
    samples.push(start.at - res.rows[0].created_ms);
    const done = await completed;
    if (String(done.completed) !== id) throw new Error(`job ${done.completed} completed, expected ${id}`);
  }
  await client.end();
  await worker.stop();
  return samples;
}

async function graphileThroughput(n, options) {
  const worker = startGraphile({ ...options, reportStarts: false });
  await worker.ready;
  const client = await connect();
  await client.query(
    "SELECT graphile_worker.add_job('noop', '{}'::json) FROM generate_series(1, $1)", [n]);
  const begin = nowMs();
  const end = await waitUntilEmpty(client,
    'SELECT NOT EXISTS (SELECT 1 FROM graphile_worker._private_jobs) AS empty', 600000);
  await client.end();
  await worker.stop();
  return (end - begin) / 1000;
}

// ---- provisiond ----

const FINAL = new Set(['succeeded', 'warning', 'failed', 'cancelled']);

async function provisiondLatency(n) {
  const client = await connect();
  const listener = await connect();
  let wake = null;
  listener.on('notification', () => { if (wake) wake(); });
  await listener.query('LISTEN provision_task_status');

  const samples = [];
  for (let i = 0; i < n; i++) {
    const res = await client.query("INSERT INTO provision.tasks (type) VALUES ('noop') RETURNING id");
    const id = res.rows[0].id;
    for (;;) {
      const woken = new Promise((resolve) => { wake = resolve; });
      const row = (await client.query(
        'SELECT status, extract(epoch FROM started_at - created_at)::float8 * 1000 AS ms ' +
        'FROM provision.tasks WHERE id = $1', [id])).rows[0];
      if (FINAL.has(row.status)) {
        if (row.status !== 'succeeded') throw new Error(`task ${id} ended ${row.status}`);
        samples.push(row.ms);
        break;
      }
      await Promise.race([woken, sleep(1000)]);
    }
  }
  await listener.end();
  await client.end();
  return samples;
}

async function provisiondThroughput(n) {
  const client = await connect();
  await client.query(
    "INSERT INTO provision.tasks (type) SELECT 'noop' FROM generate_series(1, $1)", [n]);
  const begin = nowMs();
  // Each EXISTS reads one partial index: tasks_queued_order or tasks_running_lease.
  const end = await waitUntilEmpty(client,
    "SELECT NOT EXISTS (SELECT 1 FROM provision.tasks WHERE status = 'queued') " +
    "AND NOT EXISTS (SELECT 1 FROM provision.tasks WHERE status = 'running') AS empty", 600000);
  const failed = await client.query(
    "SELECT count(*) FROM provision.tasks WHERE status <> 'succeeded'");
  await client.end();
  if (Number(failed.rows[0].count) !== 0) throw new Error(`${failed.rows[0].count} task(s) did not succeed`);
  return (end - begin) / 1000;
}

// ---- main ----

function percentile(sorted, p) {
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(Math.max(rank, 0), sorted.length - 1)];
}

function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, x) => sum + x, 0) / sorted.length;
  return {
    count: sorted.length,
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    mean_ms: mean,
    max_ms: sorted[sorted.length - 1],
    max_at: samples.indexOf(sorted[sorted.length - 1]) + 1,
  };
}

function parseFlags(args) {
  const options = { concurrency: 1, batched: false, localQueueSize: 500 };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--concurrency') options.concurrency = Number(args[++i]);
    else if (args[i] === '--batched') options.batched = true;
    else if (args[i] === '--local-queue') options.localQueueSize = Number(args[++i]);
    else throw new Error(`unknown option ${args[i]}`);
  }
  return options;
}

async function main() {
  const [measure, peer, count, ...rest] = process.argv.slice(2);
  if (measure === 'graphile-child') {
    await graphileChild(JSON.parse(peer));
    return;
  }
  const n = Number(count);
  if (!Number.isInteger(n) || n < 1) throw new Error(`invalid task count "${count}"`);

  if (measure === 'latency') {
    const samples = peer === 'graphile' ? await graphileLatency(n) : await provisiondLatency(n);
    console.log(JSON.stringify({ measure, peer, ...summarize(samples) }));
  } else if (measure === 'throughput') {
    const options = parseFlags(rest);
    const seconds = peer === 'graphile'
      ? await graphileThroughput(n, options) : await provisiondThroughput(n);
    console.log(JSON.stringify({ measure, peer, tasks: n, seconds,
      tasks_per_second: n / seconds, ...(peer === 'graphile' ? options : {}) }));
  } else {
    throw new Error(`unknown measure "${measure}"; use latency or throughput`);
  }
}

main().catch((err) => {
  console.error(`driver: ${err.stack || err}`);
  process.exit(1);
});
