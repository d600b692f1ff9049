'use strict';
// The npm packages as users get them (napi-rs's layout): the platform package (the .node this
// suite built) and the main package (scripts/pack-main.js: optionalDependencies, no binary),
// each refused by its prepack guard when incomplete, installed offline into an empty project
// with no Rust toolchain on PATH (scripts/smoke/run), where require, import and the smoke flow
// (account, order, code, webhook verify) work against the sandbox.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startSandbox, ROOT, API_KEY } = require('./helpers.js');
const { currentPlatform } = require('../bindings/node/platform.js');

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const platform = currentPlatform();
const binary = path.join(ROOT, 'bindings', 'node', `nexotp.${platform}.node`);

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

/** A copy of the repository files the platform package's prepack guard needs, without its binary. */
function platformPackageCopy() {
  const copy = path.join(dir, 'repo');
  for (const f of ['package.json', 'scripts/prepack-guard.js', 'bindings/node/platform.js', `npm/${platform}/package.json`]) {
    fs.mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), path.join(copy, f));
  }
  return path.join(copy, 'npm', platform);
}

function pack(cwd) {
  return spawnSync(npm, ['pack', '--json', '--pack-destination', dir], { cwd, encoding: 'utf8' });
}

let platformTarball;
let mainTarball;

test('the prepack guard refuses a platform package without its binary, and packs it with one', () => {
  const pkgDir = platformPackageCopy();
  const refused = pack(pkgDir);
  assert.notEqual(refused.status, 0, 'npm pack without the .node failed');
  assert.match(refused.stderr, new RegExp(`nexotp\\.${platform}\\.node is missing`));
  assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.tgz')).length, 0, 'no tarball was made');

  fs.writeFileSync(path.join(pkgDir, `nexotp.${platform}.node`), 'not a library');
  assert.match(pack(pkgDir).stderr, /is not a linux shared library|is not a \w+ shared library/);

  fs.copyFileSync(binary, path.join(pkgDir, `nexotp.${platform}.node`));
  const packed = pack(pkgDir);
  assert.equal(packed.status, 0, packed.stderr);
  const [info] = JSON.parse(packed.stdout);
  assert.deepEqual(info.files.map((f) => f.path).sort(), [`nexotp.${platform}.node`, 'package.json', 'README.md'].filter((f) => f !== 'README.md' || fs.existsSync(path.join(pkgDir, f))).sort());
  platformTarball = path.join(dir, info.filename);
});

test('the repository root is not packed as the main package (no optionalDependencies there)', () => {
  const refused = spawnSync(npm, ['pack', '--dry-run'], { cwd: ROOT, encoding: 'utf8' });
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /optionalDependencies lack nexotp-linux-x64-gnu@/);
});

test('scripts/pack-main.js packs the main package: optionalDependencies on every platform, no binary, no os/cpu', () => {
  mainTarball = execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'pack-main.js'), dir], { encoding: 'utf8' }).trim();
  const listing = execFileSync('tar', ['tzf', mainTarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const needed of ['index.js', 'index.mjs', 'index.d.ts', 'errors.js', 'native.js', 'native.d.ts', 'platform.js', 'testing.js', 'testing.mjs', 'testing.d.ts']) {
    assert.ok(listing.includes(`package/bindings/node/${needed}`), `${needed} is in the tarball: ${listing.join(', ')}`);
  }
  assert.ok(!listing.some((f) => f.endsWith('.node') || f.endsWith('.rs') || f.includes('node-tests/')), listing.join(', '));
  const pkg = JSON.parse(execFileSync('tar', ['xzf', mainTarball, '-O', 'package/package.json'], { encoding: 'utf8' }));
  assert.equal(pkg.os, undefined);
  assert.equal(pkg.cpu, undefined);
  assert.equal(pkg.scripts, undefined);
  assert.equal(pkg.devDependencies, undefined);
  const root = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  assert.equal(Object.keys(pkg.optionalDependencies).length, root.napi.targets.length);
  assert.equal(pkg.optionalDependencies[`nexotp-${platform}`], root.version);
});

test('both tarballs install offline into an empty project without Rust; the smoke flow passes', () => {
  assert.ok(platformTarball && mainTarball, 'the packing tests ran');
  const out = execFileSync('bash', [path.join(ROOT, 'scripts', 'smoke', 'run'), 'node', mainTarball, platformTarball], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.match(out, /smoke\.js: ok \(balance 25\.00, order \S+, code \d+, webhook verified\)/);
});

test('installed: require and import load the platform package; without it, one clear error', () => {
  const project = path.join(dir, 'consumer');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', mainTarball, platformTarball], { cwd: project, stdio: 'pipe' });
  const installed = path.join(project, 'node_modules', 'nexotp');
  assert.ok(fs.existsSync(path.join(project, 'node_modules', `nexotp-${platform}`, `nexotp.${platform}.node`)));

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

  // The platform package gone (installed with --omit=optional, or node_modules from elsewhere).
  fs.rmSync(path.join(project, 'node_modules', `nexotp-${platform}`), { recursive: true });
  const missing = spawnSync(process.execPath, ['-e', "try { require('nexotp') } catch (e) { console.log(e.code + ' ' + e.message) }"], { cwd: project, encoding: 'utf8' });
  assert.match(missing.stdout, new RegExp(`^NEXOTP_NATIVE_MISSING nexotp: the native binary for ${platform} did not load\\. It comes in the optional package nexotp-${platform}`));
  assert.doesNotMatch(missing.stdout, /npm has a bug/);
});
