'use strict';
// `npm pack` gives a tarball that installs into an empty project (offline: the package has no
// dependencies) and works there through require and import, against the sandbox.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startSandbox, ROOT, API_KEY } = require('./helpers.js');

let sb;
let dir;
before(async () => {
  sb = await startSandbox();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nexotp-pack-'));
});
after(async () => {
  await sb.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

test('npm pack → npm install into an empty project → require and import work', () => {
  const out = execFileSync(npm, ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
  const [info] = JSON.parse(out);
  const files = info.files.map((f) => f.path).sort();
  for (const needed of [
    'bindings/node/index.js',
    'bindings/node/index.mjs',
    'bindings/node/index.d.ts',
    'bindings/node/errors.js',
    'bindings/node/native.js',
    'bindings/node/native.d.ts',
    'bindings/node/testing.js',
    'bindings/node/testing.mjs',
    'bindings/node/testing.d.ts',
    'bindings/node/nexotp.linux-x64-gnu.node',
    'package.json',
  ]) {
    assert.ok(files.includes(needed), `${needed} is in the tarball: ${files.join(', ')}`);
  }
  assert.ok(!files.some((f) => f.startsWith('node-tests/') || f.endsWith('.rs')), 'no tests or Rust sources shipped');

  const project = path.join(dir, 'consumer');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', path.join(dir, info.filename)], { cwd: project, stdio: 'pipe' });
  const installed = path.join(project, 'node_modules', 'nexotp');
  assert.ok(fs.existsSync(path.join(installed, 'bindings/node/nexotp.linux-x64-gnu.node')));

  const env = { ...process.env, NEXOTP_API_KEY: API_KEY, NEXOTP_BASE_URL: sb.baseUrl };
  fs.writeFileSync(path.join(project, 'cjs.js'), `
const { Client, NotFoundError } = require('nexotp');
(async () => {
  const c = new Client();
  const account = await c.account();
  const err = await c.getOrder('999999').catch((e) => e);
  console.log(JSON.stringify({ balance: account.balance, notFound: err instanceof NotFoundError, from: require.resolve('nexotp') }));
})();`);
  fs.writeFileSync(path.join(project, 'esm.mjs'), `
import { Client, NexOTPError } from 'nexotp';
const c = new Client();
const countries = await c.countries();
console.log(JSON.stringify({ n: countries.length, base: typeof NexOTPError }));`);
  const cjs = JSON.parse(execFileSync(process.execPath, ['cjs.js'], { cwd: project, env, encoding: 'utf8', timeout: 20000 }));
  assert.equal(cjs.balance, '25.00');
  assert.equal(cjs.notFound, true);
  assert.ok(cjs.from.startsWith(installed), `loaded from the installed copy: ${cjs.from}`);
  const esm = JSON.parse(execFileSync(process.execPath, ['esm.mjs'], { cwd: project, env, encoding: 'utf8', timeout: 20000 }));
  assert.deepEqual(esm, { n: 5, base: 'function' });

  // The test kit from the installed copy, with no sandbox binary anywhere in the environment.
  fs.writeFileSync(path.join(project, 'kit.mjs'), `
import { Sandbox } from 'nexotp/testing';
const { Sandbox: Same } = await import('node:module').then((m) => m.createRequire(import.meta.url)('nexotp/testing'));
const sb = await Sandbox.start({ balance: '2.00' });
console.log(JSON.stringify({ balance: (await sb.client().account()).balance, same: Same === Sandbox }));
await sb.close();`);
  const kitEnv = { ...process.env };
  delete kitEnv.NEXOTP_SANDBOX_BIN;
  const kit = JSON.parse(execFileSync(process.execPath, ['kit.mjs'], { cwd: project, env: kitEnv, encoding: 'utf8', timeout: 20000 }));
  assert.deepEqual(kit, { balance: '2.00', same: true });
});
