#!/usr/bin/env node
'use strict';
// `prepack` of every npm package of this repository (npm runs it before `npm pack` and
// `npm publish`, in the package's directory). Refuses to make a tarball that would install
// and then fail at `require`:
//   - a platform package (npm/<platform>/, `main` is the .node file) without its binary, or
//     with a file that is not a native library for that platform;
//   - the main package without `optionalDependencies` on every platform package of
//     `napi.targets` at its own version. The repository's package.json has none (they would
//     make `npm ci` here fail: the platform packages are not published yet), so the main
//     package is packed by `scripts/dist node` (scripts/pack-main.js), which adds them.
// Usage: node scripts/prepack-guard.js [DIR]   (default: the current directory)

const fs = require('node:fs');
const path = require('node:path');
const { platformOf } = require('../bindings/node/platform.js');

// Magic numbers of the shared-library formats: ELF, Mach-O (64-bit, both byte orders), PE.
const MAGIC = {
  linux: [Buffer.from([0x7f, 0x45, 0x4c, 0x46])],
  darwin: [Buffer.from([0xcf, 0xfa, 0xed, 0xfe]), Buffer.from([0xfe, 0xed, 0xfa, 0xcf])],
  win32: [Buffer.from('MZ')],
};

function refuse(dir, why) {
  console.error(`prepack-guard: refusing to pack ${dir}: ${why}`);
  process.exit(1);
}

function checkPlatformPackage(dir, pkg) {
  const file = path.join(dir, pkg.main);
  if (!fs.existsSync(file)) {
    refuse(dir, `the native binary ${pkg.main} is missing. Build it first: ./scripts/dist node`);
  }
  const head = Buffer.alloc(4);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 4, 0);
  fs.closeSync(fd);
  const os = pkg.os?.[0];
  if (!(MAGIC[os] ?? []).some((m) => head.subarray(0, m.length).equals(m))) {
    refuse(dir, `${pkg.main} is not a ${os} shared library`);
  }
}

function checkMainPackage(dir, pkg) {
  const want = pkg.napi.targets.map((t) => `${pkg.name}-${platformOf(t)}`);
  const have = pkg.optionalDependencies ?? {};
  const missing = want.filter((name) => have[name] !== pkg.version);
  if (missing.length > 0) {
    refuse(
      dir,
      `optionalDependencies lack ${missing.map((n) => `${n}@${pkg.version}`).join(', ')}: ` +
        'the main package is packed by ./scripts/dist node, which adds them',
    );
  }
  for (const f of ['bindings/node/index.js', 'bindings/node/native.js', 'bindings/node/platform.js']) {
    if (!fs.existsSync(path.join(dir, f))) refuse(dir, `${f} is missing`);
  }
}

const dir = path.resolve(process.argv[2] ?? '.');
const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
if (typeof pkg.main === 'string' && pkg.main.endsWith('.node')) checkPlatformPackage(dir, pkg);
else if (pkg.napi) checkMainPackage(dir, pkg);
else refuse(dir, 'neither a platform package (main *.node) nor the main package (napi)');
