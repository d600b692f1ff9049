'use strict';
// Network options: HTTPS with a CA made by the test (HTTP/2 by ALPN, HTTP/1.1 when off), a
// certificate error without it, an explicit proxy with credentials (the password never shown),
// and bad values refused before any request. `nexotp-testnet` runs a TLS forwarder (ALPN h2 and
// http/1.1) in front of the sandbox and a counting proxy that wants `alice:s3cret-Pass`.

const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');
const fs = require('node:fs');
const { ROOT, startSandbox, nexotp, API_KEY, rejectsWith, throwsWith } = require('./helpers.js');

const { Client, APIConnectionError, InvalidArgumentError } = nexotp;
const TESTNET_BIN = process.env.NEXOTP_TESTNET_BIN
  ? path.resolve(ROOT, process.env.NEXOTP_TESTNET_BIN)
  : path.join(ROOT, 'target', 'debug', 'nexotp-testnet');
const PASSWORD = 's3cret-Pass';

function startTestnet(upstream) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      TESTNET_BIN,
      ['--upstream', upstream, '--proxy-user', 'alice', '--proxy-password', PASSWORD],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    child.once('error', reject);
    readline.createInterface({ input: child.stdout }).once('line', (line) => {
      const info = JSON.parse(line);
      resolve({
        ...info,
        async stats() {
          return (await fetch(info.stats_url)).json();
        },
        proxy(password = PASSWORD) {
          return info.proxy_url.replace('http://', `http://alice:${password}@`);
        },
        stop() {
          return new Promise((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.stdin.end();
          });
        },
      });
    });
  });
}

let sb;
let net;

before(async () => {
  sb = await startSandbox();
  net = await startTestnet(sb.baseUrl);
});
after(async () => {
  await net.stop();
  await sb.stop();
});
beforeEach(() => sb.reset());

function httpsClient(options = {}) {
  return new Client({ apiKey: API_KEY, baseUrl: net.https_url, timeoutMs: 10000, ...options });
}

async function lastVersion() {
  const log = await sb.requests();
  return log[log.length - 1].http_version;
}

describe('HTTPS with a CA made by the test', () => {
  for (const [form, value] of [
    ['PEM text', () => net.ca_pem],
    ['a file path', () => net.ca_file],
    ['a Buffer', () => fs.readFileSync(net.ca_file)],
  ]) {
    test(`caCertificates as ${form}`, async () => {
      const c = httpsClient({ caCertificates: value() });
      await c.account();
      assert.equal(await lastVersion(), 'HTTP/2.0');
    });
  }

  test('http2 on negotiates h2, off forces HTTP/1.1', async () => {
    for (const [http2, version, alpn] of [[true, 'HTTP/2.0', 'h2'], [false, 'HTTP/1.1', 'http/1.1']]) {
      const c = httpsClient({ caCertificates: net.ca_pem, http2, tlsRoots: 'both', maxConnections: 4 });
      await c.countries();
      assert.equal(await lastVersion(), version);
      const stats = await net.stats();
      assert.equal(stats.alpn[stats.alpn.length - 1], alpn);
    }
  });

  test('without the CA: a certificate error, nothing sent', async () => {
    const err = await rejectsWith(httpsClient().account(), APIConnectionError);
    assert.match(err.message, /certificate/);
    assert.match(err.message, /ca_certificates/);
    assert.deepEqual(await sb.requests(), []);
  });
});

describe('proxy', () => {
  test('with credentials: one CONNECT tunnel for two calls', async () => {
    const before = (await net.stats()).connects;
    const c = httpsClient({ caCertificates: net.ca_pem, proxy: net.proxy() });
    await c.account();
    await c.countries();
    assert.equal((await net.stats()).connects, before + 1);
    assert.equal((await sb.requests()).length, 2);
  });

  test('a wrong password is refused (407) and never shown', async () => {
    const wrong = 'Wr0ng-PASSWORD-x';
    const refused = (await net.stats()).refused;
    const c = httpsClient({ caCertificates: net.ca_pem, proxy: net.proxy(wrong) });
    const err = await rejectsWith(c.account(), APIConnectionError);
    assert.match(err.message, /407/);
    const shown = `${err.message} ${err.stack} ${JSON.stringify(err)} ${require('node:util').inspect(err)}`;
    assert.ok(!shown.includes(wrong), shown);
    assert.ok(!require('node:util').inspect(c).includes(wrong));
    assert.equal((await net.stats()).refused, refused + 1);
    assert.deepEqual(await sb.requests(), []);
  });
});

describe('bad network options fail at construction', () => {
  const cases = [
    [{ maxConnections: 0 }, 'maxConnections'],
    [{ maxConnections: 100000 }, 'maxConnections'],
    [{ maxConnections: -1 }, 'maxConnections'],
    [{ maxConnections: 1.5 }, 'maxConnections'],
    [{ maxIdleConnections: 100000 }, 'maxIdleConnections'],
    [{ http2: 'yes' }, 'http2'],
    [{ tlsRoots: 'os' }, 'tlsRoots'],
    [{ proxy: 'socks5://u:hunter2@127.0.0.1:1' }, 'proxy'],
    [{ proxy: 8080 }, 'proxy'],
    [{ caCertificates: 123 }, 'caCertificates'],
    [{ caCertificates: '/nonexistent/ca.pem' }, 'caCertificates'],
    [{ caCertificates: Buffer.from('no pem here') }, 'caCertificates'],
    [{ poolIdleTimeoutMs: 0 }, 'poolIdleTimeoutMs'],
  ];
  for (const [options, argument] of cases) {
    test(`${JSON.stringify(options)} names ${argument}`, async () => {
      const err = throwsWith(() => new Client({ apiKey: API_KEY, baseUrl: sb.baseUrl, ...options }), InvalidArgumentError);
      assert.equal(err.argument, argument);
      assert.ok(!err.message.includes('hunter2'), err.message);
      assert.deepEqual(await sb.requests(), []);
    });
  }
});
