'use strict';
// Shared test helpers: spawn one `nexotp-sandbox` per test file (port 0, base URL read from its
// first stdout line), talk to its control endpoints, and build clients pointed at it.

const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.resolve(__dirname, '..');
const SANDBOX_BIN = process.env.NEXOTP_SANDBOX_BIN
  ? path.resolve(ROOT, process.env.NEXOTP_SANDBOX_BIN)
  : path.join(ROOT, 'target', 'debug', 'nexotp-sandbox');
const API_KEY = 'sk_test_sandbox';

const nexotp = require(ROOT);

/**
 * Starts a sandbox; resolves to a handle with `baseUrl`, `control()`, `reset()`, `requests()`,
 * `clearRequests()`, `client()` and `stop()`.
 */
function startSandbox(args = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(SANDBOX_BIN, ['--port', '0', '--exit-on-stdin-close', ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error('the sandbox did not print its base URL within 20 s'));
    }, 20000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    const lines = readline.createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      const baseUrl = line.trim();
      const origin = new URL(baseUrl).origin;
      const sandbox = {
        baseUrl,
        origin,
        child,
        async control(method, route, body) {
          const res = await fetch(`${origin}/__sandbox/${route}`, {
            method,
            headers: body === undefined ? {} : { 'content-type': 'application/json' },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          const text = await res.text();
          if (!res.ok) throw new Error(`sandbox control ${method} ${route}: ${res.status} ${text}`);
          return text ? JSON.parse(text) : null;
        },
        reset() {
          return sandbox.control('POST', 'reset');
        },
        requests() {
          return sandbox.control('GET', 'requests');
        },
        clearRequests() {
          return sandbox.control('DELETE', 'requests');
        },
        faults(f) {
          return sandbox.control('POST', 'faults', f);
        },
        state() {
          return sandbox.control('GET', 'state');
        },
        client(options = {}) {
          return new nexotp.Client({ apiKey: API_KEY, baseUrl, ...options });
        },
        stop() {
          return new Promise((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.stdin.end();
            child.kill('SIGTERM');
          });
        },
      };
      resolve(sandbox);
    });
  });
}

/** Asserts that `promise` rejects with an instance of `Cls`; returns the error. */
async function rejectsWith(promise, Cls) {
  try {
    await promise;
  } catch (e) {
    if (!(e instanceof Cls)) {
      throw new Error(`expected ${Cls.name}, got ${e && e.name}: ${e && e.message}`, { cause: e });
    }
    return e;
  }
  throw new Error(`expected ${Cls.name}, but it resolved`);
}

/** Same for a synchronous throw. */
function throwsWith(fn, Cls) {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof Cls)) {
      throw new Error(`expected ${Cls.name}, got ${e && e.name}: ${e && e.message}`, { cause: e });
    }
    return e;
  }
  throw new Error(`expected ${Cls.name}, but it returned`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** API requests in the sandbox's log matching `method` and a path regex. */
async function apiRequests(sandbox, method, pathRe) {
  const log = await sandbox.requests();
  return log.filter((r) => (!method || r.method === method) && (!pathRe || pathRe.test(r.path)));
}

module.exports = { ROOT, SANDBOX_BIN, API_KEY, nexotp, startSandbox, rejectsWith, throwsWith, sleep, apiRequests };
