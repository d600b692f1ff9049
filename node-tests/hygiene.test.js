'use strict';
// Process hygiene: a script exits by itself as soon as its work is done, the package works in
// worker_threads, and NEXOTP_LOG=debug logs one line per request without the key.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const { startSandbox, ROOT, API_KEY } = require('./helpers.js');

let sb;
before(async () => {
  sb = await startSandbox(['--code-delay-ms', '100']);
});
after(() => sb.stop());

/** Runs `node -e script`; resolves with the exit code, output and the time from "done" to exit. */
function runNode(script, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      cwd: ROOT,
      env: { ...process.env, NEXOTP_SANDBOX_URL: sb.baseUrl, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let doneAt = 0;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!doneAt && stdout.includes('DONE')) doneAt = Date.now();
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, lingerMs: doneAt ? Date.now() - doneAt : Infinity });
    });
  });
}

const PRELUDE = `
const { Client } = require(${JSON.stringify(ROOT)});
const client = new Client({ apiKey: ${JSON.stringify(API_KEY)}, baseUrl: process.env.NEXOTP_SANDBOX_URL });
`;

describe('process hygiene', () => {
  test('a script that makes calls exits by itself within 2 s of its last line', async () => {
    const r = await runNode(`${PRELUDE}
(async () => {
  await client.account();
  const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
  await Promise.all([client.getOrder(order.id), client.countries()]);
  const done = await client.waitForCode(order.id, { pollIntervalMs: 50 });
  const ac = new AbortController();
  const w = client.waitForCode(order.id, { pollIntervalMs: 60000, excludeCodes: [done.code], signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  await w.catch(() => {});
  for await (const t of client.iterTransactions({ perPage: 1 })) { void t; }
  await client.getOrder('999999').catch(() => {});
  console.log('DONE', done.code);
})();`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /DONE \d{6}/);
    assert.ok(r.lingerMs < 2000, `the process lingered ${r.lingerMs} ms after its work`);
  });

  test('a panic inside the addon does not kill the process', async () => {
    const r = await runNode(`${PRELUDE}
const nexotp = require(${JSON.stringify(ROOT)});
(async () => {
  try { await nexotp._debugPanic('kaboom'); } catch (e) { console.log('caught', e.constructor.name); }
  try { nexotp._debugPanicSync('kaboom'); } catch (e) { console.log('caught', e.constructor.name); }
  await client.account();
  console.log('DONE');
})();`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.match(/caught NexOTPError/g).length, 2);
    assert.match(r.stdout, /DONE/);
  });

  test('NEXOTP_LOG=debug prints one line per request to stderr, never the key', async () => {
    const r = await runNode(`${PRELUDE}
(async () => {
  await client.account();
  await client.getOrder('999999').catch(() => {});
  console.log('DONE');
})();`, { NEXOTP_LOG: 'debug' });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('nexotp: '));
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0], /^nexotp: GET \/account 200 [\d.]+ms attempt=1 bucket=GENERAL/);
    assert.match(lines[1], /^nexotp: GET \/order\/999999 404 [\d.]+ms attempt=1 bucket=POLL/);
    assert.ok(!r.stderr.includes(API_KEY));
    const quiet = await runNode(`${PRELUDE} client.account().then(() => console.log('DONE'));`, { NEXOTP_LOG: '' });
    assert.equal(quiet.stderr, '');
  });
});

describe('worker_threads', () => {
  test('clients work inside workers, in parallel with the main thread, and workers exit cleanly', async () => {
    const code = `
const { parentPort, workerData } = require('node:worker_threads');
const { Client, NotFoundError } = require(workerData.root);
(async () => {
  const client = new Client({ apiKey: workerData.key, baseUrl: workerData.url });
  const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
  const done = await client.waitForCode(order.id, { pollIntervalMs: 50 });
  const err = await client.getOrder('999999').catch((e) => e);
  parentPort.postMessage({ code: done.code, notFound: err instanceof NotFoundError });
})();`;
    const runWorker = () => new Promise((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: { root: ROOT, key: API_KEY, url: sb.baseUrl } });
      let message;
      w.on('message', (m) => { message = m; });
      w.on('error', reject);
      w.on('exit', (exitCode) => (exitCode === 0 ? resolve(message) : reject(new Error(`worker exit ${exitCode}`))));
    });
    const main = sb.client();
    const [a, b, account] = await Promise.all([runWorker(), runWorker(), main.account()]);
    for (const m of [a, b]) {
      assert.match(m.code, /^\d{6}$/);
      assert.equal(m.notFound, true);
    }
    assert.equal(typeof account.balance, 'string');
    // The main thread's client still works after the workers are gone.
    assert.equal(typeof (await main.account()).balance, 'string');
    // A worker that is terminated mid-request does not take the process down.
    const w = new Worker(`
const { Client } = require(${JSON.stringify(ROOT)});
const c = new Client({ apiKey: ${JSON.stringify(API_KEY)}, baseUrl: ${JSON.stringify(sb.baseUrl)} });
setInterval(() => { c.countries().catch(() => {}); }, 1);
`, { eval: true });
    await new Promise((r) => setTimeout(r, 200));
    await w.terminate();
    assert.equal(typeof (await main.account()).balance, 'string');
  });
});
