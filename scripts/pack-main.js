#!/usr/bin/env node
'use strict';
// Packs the main `nexotp` npm package into DEST and prints the tarball's path.
//
// The repository's package.json is the development package (scripts, devDependencies) and has
// no optionalDependencies: listing platform packages that are not published would make
// `npm ci` here fail. The published package is staged in a temporary directory instead: the
// files `npm pack` would take from the repository, and a package.json with optionalDependencies
// on every platform package of `napi.targets` at this version, without scripts and
// devDependencies. scripts/prepack-guard.js checks the stage before it is packed.
// Used by `scripts/dist node` and node-tests/pack.test.js.
// Usage: node scripts/pack-main.js DEST

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { platformOf } = require('../bindings/node/platform.js');

const root = path.resolve(__dirname, '..');
const dest = path.resolve(process.argv[2] ?? '.');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

const [listing] = JSON.parse(
  execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }),
);
const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'nexotp-main-'));
try {
  for (const { path: file } of listing.files) {
    if (file === 'package.json') continue;
    fs.mkdirSync(path.dirname(path.join(stage, file)), { recursive: true });
    fs.copyFileSync(path.join(root, file), path.join(stage, file));
  }
  const published = { ...pkg };
  delete published.scripts;
  delete published.devDependencies;
  published.optionalDependencies = Object.fromEntries(
    pkg.napi.targets.map((t) => [`${pkg.name}-${platformOf(t)}`, pkg.version]),
  );
  fs.writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(published, null, 2)}\n`);
  execFileSync(process.execPath, [path.join(__dirname, 'prepack-guard.js'), stage], { stdio: 'inherit' });
  fs.mkdirSync(dest, { recursive: true });
  const [packed] = JSON.parse(
    execFileSync(npm, ['pack', '--json', '--pack-destination', dest], { cwd: stage, encoding: 'utf8' }),
  );
  console.log(path.join(dest, packed.filename));
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}
