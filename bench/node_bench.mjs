// Requests per second for `getOrder` against a local nexotp-sandbox: the nexotp package, global
// `fetch` and the `undici` package making the same call (same headers, same keep-alive pool
// semantics) and decoding the same JSON, sequentially and with 64 requests in flight.
//
//   node bench/node_bench.mjs [--rounds 5] [--seconds 2] [--sandbox path/to/nexotp-sandbox]
//
// Uses target/release/nexotp-sandbox when it exists (build it with
// `cargo build --release -p nexotp-sandbox`), else target/debug. The three clients are run in
// interleaved rounds and the median of each is reported, since the sandbox shares the machine.
// Also reported: CPU time of this Node process per request (main thread + native threads).

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { Client } = require(ROOT);
const undici = require('undici');

const args = process.argv.slice(2);
const flag = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const ROUNDS = Number(flag('rounds', 5));
const SECONDS = Number(flag('seconds', 2));
const API_KEY = 'sk_test_sandbox';
const defaultBin = ['release', 'debug']
  .map((p) => path.join(ROOT, 'target', p, 'nexotp-sandbox'))
  .find((p) => existsSync(p));
const SANDBOX = flag('sandbox', process.env.NEXOTP_SANDBOX_BIN || defaultBin);

function startSandbox() {
  return new Promise((resolve, reject) => {
    const child = spawn(SANDBOX, ['--port', '0', '--exit-on-stdin-close', '--code-delay-ms', '600000'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child.once('error', reject);
    readline.createInterface({ input: child.stdout }).once('line', (line) => resolve({ child, baseUrl: line.trim() }));
  });
}

const { child, baseUrl } = await startSandbox();
const headers = { 'x-nexotp-api-key': API_KEY, accept: 'application/json' };

const sdk = new Client({ apiKey: API_KEY, baseUrl });
const order = await sdk.createOrder({ service: 'svc_telegram', country: 'cty_us' });
const url = `${baseUrl}order/${order.id}`;
const agent = new undici.Agent({ keepAliveTimeout: 30_000 });

function check(data) {
  if (String(data.id) !== order.id) throw new Error(`wrong answer: ${JSON.stringify(data).slice(0, 200)}`);
}

const contenders = {
  nexotp: async () => check(await sdk.getOrder(order.id)),
  undici: async () => {
    const res = await undici.request(url, { headers, dispatcher: agent });
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
    const body = await res.body.json();
    check(body.data);
  },
  fetch: async () => {
    const res = await fetch(url, { headers });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = await res.json();
    check(body.data);
  },
};

/** Runs `fn` with `inFlight` workers for `seconds`; returns requests/s and CPU µs/request. */
async function measure(fn, inFlight, seconds) {
  let done = 0;
  const cpu0 = process.cpuUsage();
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
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rps: done / elapsed, cpuUs: (cpu.user + cpu.system) / done };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const modes = [
  ['sequential', 1],
  ['64 in flight', 64],
];
const results = {};
for (const [name, fn] of Object.entries(contenders)) {
  await measure(fn, 64, 0.5); // warm up JIT and connection pools
  results[name] = {};
  for (const [mode] of modes) results[name][mode] = [];
}
for (let round = 0; round < ROUNDS; round++) {
  for (const [mode, inFlight] of modes) {
    for (const [name, fn] of Object.entries(contenders)) {
      results[name][mode].push(await measure(fn, inFlight, SECONDS));
    }
  }
}

console.log(`getOrder against ${SANDBOX.replace(ROOT + path.sep, '')} (${process.version}, ${ROUNDS} rounds × ${SECONDS} s, median)`);
console.log('');
console.log('| client | mode | req/s | CPU µs/req (node process) | nexotp ÷ this |');
console.log('|---|---|---:|---:|---:|');
const summary = {};
for (const [mode] of modes) {
  const ours = median(results.nexotp[mode].map((r) => r.rps));
  for (const name of Object.keys(contenders)) {
    const rps = median(results[name][mode].map((r) => r.rps));
    const cpu = median(results[name][mode].map((r) => r.cpuUs));
    summary[`${name} ${mode}`] = Math.round(rps);
    const ratio = name === 'nexotp' ? '—' : `${(ours / rps).toFixed(2)}×`;
    console.log(`| ${name} | ${mode} | ${Math.round(rps)} | ${cpu.toFixed(0)} | ${ratio} |`);
  }
}
console.log('');
const seqRatio = summary['nexotp sequential'] / summary['undici sequential'];
const parRatio = summary['nexotp 64 in flight'] / summary['undici 64 in flight'];
console.log(`goal: ≥ 1.2× undici sequential → ${seqRatio.toFixed(2)}× ${seqRatio >= 1.2 ? 'met' : 'NOT met'}`);
console.log(`goal: ≥ 1.5× undici at 64 in flight → ${parRatio.toFixed(2)}× ${parRatio >= 1.5 ? 'met' : 'NOT met'}`);

await agent.close();
child.stdin.end();
child.kill('SIGTERM');
