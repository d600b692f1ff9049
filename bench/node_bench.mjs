// The Node rows of `scripts/bench`: requests per second of the nexotp package, the `undici`
// package and global `fetch` making the same calls against a running nexotp-sandbox (same
// headers, keep-alive pools, the same JSON decoded), and the peak memory of holding many
// requests at once. `scripts/bench` starts the sandbox and runs this; by hand:
//
//   node bench/node_bench.mjs --base URL --order ID [--rounds 3] [--seconds 1.5]
//       GET order sequentially and with 64 in flight, `countries` sequentially; rounds are
//       interleaved (every contender once per round); prints one JSON object:
//       {"node <row>": {"<contender>": [req/s per round]}, "version": "v20..."}
//   node bench/node_bench.mjs --hold nexotp|nexotp-wait|undici --base URL --order ID [--count 1000]
//       COUNT GET order calls at once (the sandbox is told to answer slowly, so they are all
//       held), then prints {"peak_rss_kib": N} (VmHWM of this process); nexotp-wait makes
//       COUNT waitForCode calls instead (polling every second, timing out after 2.5 s).
//   node bench/node_bench.mjs --calls N --row ROW --contender NAME --base URL --order ID
//       a fixed number of calls of one contender of one row (50 of warm-up, then N; the
//       64-in-flight row keeps 64 in flight), then exits: `scripts/bench --explain` runs it under
//       valgrind and strace and differences two values of N, for counts per call that do not
//       depend on the machine's load.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const args = process.argv.slice(2);
const flag = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const API_KEY = flag('key', 'sk_test_sandbox');
const baseUrl = flag('base');
const orderId = flag('order');
if (!baseUrl || !orderId) {
  console.error('usage: node bench/node_bench.mjs --base URL --order ID [--rounds N] [--seconds S] [--hold nexotp|undici]');
  process.exit(2);
}
const orderUrl = `${baseUrl}order/${orderId}`;
const listUrl = `${baseUrl}countries`;
const headers = { 'x-nexotp-api-key': API_KEY, accept: 'application/json' };

function peakRssKib() {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return Number(line.replace(/[^0-9]/g, ''));
}

function checkOrder(data) {
  if (String(data.id) !== orderId) throw new Error(`wrong answer: ${JSON.stringify(data).slice(0, 200)}`);
}
function checkList(list) {
  if (!Array.isArray(list) || list.length === 0) throw new Error('empty country list');
}

const hold = flag('hold');
if (hold) {
  const count = Number(flag('count', 1000));
  let call;
  if (hold === 'nexotp') {
    const { Client } = require(ROOT);
    // Every call on the wire at once, as undici does by default.
    const sdk = new Client({ apiKey: API_KEY, baseUrl, maxConnections: count });
    call = async () => checkOrder(await sdk.getOrder(orderId));
  } else if (hold === 'nexotp-wait') {
    // Issue 8's form: waits for a code that never comes (each polls the slow sandbox every
    // second) until they time out.
    const { Client, WaitTimeoutError } = require(ROOT);
    const sdk = new Client({ apiKey: API_KEY, baseUrl, maxConnections: count });
    call = () =>
      sdk.waitForCode(orderId, { timeoutMs: 2500, pollIntervalMs: 1000 }).catch((e) => {
        if (!(e instanceof WaitTimeoutError)) throw e;
      });
  } else if (hold === 'undici') {
    const undici = require('undici');
    const agent = new undici.Agent({ keepAliveTimeout: 30_000 });
    call = async () => {
      const res = await undici.request(orderUrl, { headers, dispatcher: agent });
      checkOrder((await res.body.json()).data);
    };
  } else {
    throw new Error(`unknown --hold ${hold}`);
  }
  await Promise.all(Array.from({ length: count }, call));
  console.log(JSON.stringify({ peak_rss_kib: peakRssKib() }));
  process.exit(0);
}

const ROUNDS = Number(flag('rounds', 3));
const SECONDS = Number(flag('seconds', 1.5));
const { Client } = require(ROOT);
const sdk = new Client({ apiKey: API_KEY, baseUrl });

let undici = null;
try {
  undici = require('undici');
} catch {
  // The row then says undici is not installed.
}
const agent = undici && new undici.Agent({ keepAliveTimeout: 30_000 });

async function undiciJson(url) {
  const res = await undici.request(url, { headers, dispatcher: agent });
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
  return (await res.body.json()).data;
}
async function fetchJson(url) {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return (await res.json()).data;
}

const order = {
  nexotp: async () => checkOrder(await sdk.getOrder(orderId)),
  undici: undici && (async () => checkOrder(await undiciJson(orderUrl))),
  fetch: async () => checkOrder(await fetchJson(orderUrl)),
};
const list = {
  nexotp: async () => checkList(await sdk.countries()),
  undici: undici && (async () => checkList(await undiciJson(listUrl))),
  fetch: async () => checkList(await fetchJson(listUrl)),
};
// The 64-in-flight row also runs nexotp with as many connections as undici opens (64): the
// default cap of 32 connections per host otherwise halves its parallelism against the peers'.
const sdk64 = new Client({ apiKey: API_KEY, baseUrl, maxConnections: 64 });
const order64 = {
  ...order,
  'nexotp, 64 connections': async () => checkOrder(await sdk64.getOrder(orderId)),
};
const rows = [
  ['node sequential', order, 1],
  ['node 64 in flight', order64, 64],
  ['node list', list, 1],
];

const fixedCalls = flag('calls');
if (fixedCalls !== undefined) {
  const [, contenders, inFlight] = rows.find(([name]) => name === flag('row', 'node sequential'));
  const fn = contenders[flag('contender', 'nexotp')];
  if (!fn) throw new Error(`${flag('contender')} is not installed`);
  for (const calls of [50, Number(fixedCalls)]) {
    let left = calls;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (left > 0) {
          left--;
          await fn();
        }
      }),
    );
  }
  if (agent) await agent.close();
  process.exit(0);
}

/** Runs `fn` with `inFlight` workers for `seconds`; returns requests per second. */
async function measure(fn, inFlight, seconds) {
  let done = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        await fn();
        done++;
      }
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

const results = { version: process.version };
for (const [row, contenders, inFlight] of rows) {
  results[row] = {};
  for (const [name, fn] of Object.entries(contenders)) {
    if (fn) {
      await measure(fn, inFlight, 0.3); // warm up the JIT and the connection pools
      results[row][name] = [];
    } else {
      results[row][name] = null; // not installed
    }
  }
}
for (let round = 0; round < ROUNDS; round++) {
  for (const [row, contenders, inFlight] of rows) {
    for (const [name, fn] of Object.entries(contenders)) {
      if (fn) results[row][name].push(await measure(fn, inFlight, SECONDS));
    }
  }
}
if (agent) await agent.close();
console.log(JSON.stringify(results));
process.exit(0);
