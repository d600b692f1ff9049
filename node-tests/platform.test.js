'use strict';
// Which prebuilt binary a machine needs, and the one error on a platform without one
// (bindings/node/platform.js), with the platform and the loader faked.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { SUPPORTED, platformOf, currentPlatform, loadNative } = require('../bindings/node/platform.js');
const ROOT = path.resolve(__dirname, '..');

const napiNotFound = () => {
  throw new Error('Cannot find native binding. npm has a bug related to optional dependencies');
};

test('the supported list is napi.targets in napi-rs naming', () => {
  assert.deepEqual(SUPPORTED, [
    'linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl',
    'darwin-x64', 'darwin-arm64', 'win32-x64-msvc',
  ]);
  assert.equal(platformOf('aarch64-unknown-linux-musl'), 'linux-arm64-musl');
  assert.equal(currentPlatform({ platform: 'linux', arch: 'arm64', musl: true }), 'linux-arm64-musl');
  assert.equal(currentPlatform({ platform: 'linux', arch: 'x64', musl: false }), 'linux-x64-gnu');
  assert.equal(currentPlatform({ platform: 'win32', arch: 'x64' }), 'win32-x64-msvc');
  assert.equal(currentPlatform({ platform: 'darwin', arch: 'arm64' }), 'darwin-arm64');
});

test('an unsupported platform gets one error naming it and the supported list', () => {
  for (const [platform, arch, musl, name] of [
    ['freebsd', 'x64', false, 'freebsd-x64'],
    ['linux', 's390x', true, 'linux-s390x-musl'],
    ['win32', 'arm64', false, 'win32-arm64-msvc'],
  ]) {
    const err = assert.throws(() => loadNative({ platform, arch, musl, load: napiNotFound }), (e) => {
      assert.equal(e.code, 'NEXOTP_UNSUPPORTED_PLATFORM');
      assert.equal(
        e.message,
        `nexotp: no prebuilt binary for ${name} (Node ${process.versions.node}). Prebuilt binaries exist for: ` +
          `${SUPPORTED.join(', ')}. On other platforms build the addon from source (Rust toolchain): see "Install" in the README.`,
      );
      assert.match(e.cause.message, /Cannot find native binding/);
      return true;
    });
    assert.equal(err, undefined);
  }
});

test('a supported platform whose package is missing is told which package and why', () => {
  assert.throws(() => loadNative({ platform: 'linux', arch: 'arm64', musl: true, load: napiNotFound }), (e) => {
    assert.equal(e.code, 'NEXOTP_NATIVE_MISSING');
    assert.match(e.message, /^nexotp: the native binary for linux-arm64-musl did not load\. It comes in the optional package nexotp-linux-arm64-musl/);
    assert.doesNotMatch(e.message, /npm has a bug/);
    return true;
  });
});

test('a binary that loads is used on any platform (built from source)', () => {
  const binding = { ok: true };
  assert.equal(loadNative({ platform: 'freebsd', arch: 'x64', load: () => binding }), binding);
});

test("require('nexotp') on a faked platform throws the unsupported-platform error", () => {
  const r = spawnSync(
    process.execPath,
    ['-e', `Object.defineProperty(process, 'platform', { value: 'aix' });
try { require(${JSON.stringify(path.join(ROOT, 'bindings', 'node', 'index.js'))}) } catch (e) { console.log(e.code + ' ' + e.message) }`],
    { encoding: 'utf8' },
  );
  assert.match(r.stdout, new RegExp(`^NEXOTP_UNSUPPORTED_PLATFORM nexotp: no prebuilt binary for aix-${process.arch} `));
  assert.match(r.stdout, /Prebuilt binaries exist for: linux-x64-gnu, .*win32-x64-msvc\./);
});
