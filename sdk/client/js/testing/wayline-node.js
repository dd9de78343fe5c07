// Test support: builds the wayline binary and runs real nodes on loopback. Kept outside test/
// so that `node --test test/` does not run it as a test file.

import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const ADMIN_KEY = 'js-sdk-test-admin-key-0123456789';

let built = null;

/** Builds ./cmd/wayline once per test process (or uses $WAYLINE_BIN). */
export function waylineBinary() {
  if (process.env.WAYLINE_BIN) return Promise.resolve(path.resolve(process.env.WAYLINE_BIN));
  if (!built) {
    built = (async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'wayline-js-bin-'));
      const bin = path.join(dir, 'wayline');
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      await run('go', ['build', '-o', bin, './cmd/wayline'], { cwd: repoRoot, timeoutMs: 600000 });
      return bin;
    })();
  }
  return built;
}

function run(cmd, args, { cwd, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
    p.on('close', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${sig ?? code}):\n${out}`));
    });
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function tempDir(t, prefix = 'wayline-js-') {
  const d = await mkdtemp(path.join(os.tmpdir(), prefix));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `wayline serve` on 127.0.0.1 and waits for GET /readyz. The node is killed when the
 * test ends (t.after), whatever happened.
 */
export async function startNode(t, { data, port } = {}) {
  const bin = await waylineBinary();
  data = data ?? await tempDir(t);
  port = port ?? await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(bin, ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--admin-key', ADMIN_KEY, '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  let alive = true;
  exited.then(() => { alive = false; });
  const node = {
    url, port, data, proc,
    get alive() { return alive; },
    get log() { return log; },
    exited,
    /** Sends a signal; with wait, resolves when the process has exited. */
    async stop(signal = 'SIGTERM', wait = true) {
      if (alive) proc.kill(signal);
      if (wait) await exited;
    },
  };
  t.after(async () => {
    if (alive) {
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
      await exited;
    }
  });
  const deadline = Date.now() + 20000;
  for (;;) {
    if (!alive) throw new Error(`wayline exited during start:\n${log}`);
    try {
      const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status === 200) return node;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`wayline did not become ready in 20s:\n${log}`);
    await sleep(25);
  }
}

/** An admin API call; fails unless the status is the one expected. */
export async function admin(node, method, p, body, expect) {
  const res = await fetch(node.url + p, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10000),
  });
  const text = await res.text();
  if (expect !== undefined && res.status !== expect) throw new Error(`${method} ${p}: HTTP ${res.status}, want ${expect}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/**
 * Defines `signup` (needs a key; data.userId required), `pageview` (public) and a live journey
 * `count` (signup → end) whose report counts each distinct stored signup once, durably.
 */
export async function setupWorkspace(node) {
  await admin(node, 'POST', '/v1/event-definitions', {
    name: 'signup', identityField: 'userId', identityNamespace: 'user',
    schema: { type: 'object', required: ['userId'], properties: { userId: { type: 'string' } } },
  }, 201);
  await admin(node, 'POST', '/v1/event-definitions', {
    name: 'pageview', identityField: 'visitorId', identityNamespace: 'visitor', public: true,
    schema: { type: 'object', required: ['visitorId'], properties: { visitorId: { type: 'string' }, path: { type: 'string' } } },
  }, 201);
  await admin(node, 'POST', '/v1/journeys', {
    id: 'count', name: 'Count signups',
    draft: { nodes: [{ id: 'start', kind: 'event', event: 'signup', next: 'end' }, { id: 'end', kind: 'end' }] },
  }, 201);
  await admin(node, 'POST', '/v1/journeys/count/publish', undefined, 200);
}

/** wayline_events_total{status="..."} from GET /metrics (0 when absent). */
export async function eventsTotal(node, status) {
  const res = await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  const m = text.match(new RegExp(`^wayline_events_total\\{status="${status}"\\} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : 0;
}

/** Distinct signups the `count` journey has seen (durable: survives restarts). */
export async function journeyEntered(node) {
  const r = await admin(node, 'GET', '/v1/journeys/count/report', undefined, 200);
  return r.totals?.entered ?? 0;
}

/** A fetch that records every call (url, method, init) and then calls the real fetch. */
export function recordingFetch() {
  const calls = [];
  const f = (url, init = {}) => {
    calls.push({ url: String(url), method: init.method ?? 'GET', init });
    return fetch(url, init);
  };
  f.calls = calls;
  f.posts = () => calls.filter((c) => c.method === 'POST' && c.url.endsWith('/v1/events')).length;
  return f;
}

/**
 * A TCP proxy on 127.0.0.1 that delays every chunk from client to server by delayMs: a node
 * that is "farther away". Closed when the test ends.
 */
export async function delayProxy(t, target, delayMs) {
  const { port: tport } = new URL(target);
  const sockets = new Set();
  const server = net.createServer((c) => {
    const s = net.connect(Number(tport), '127.0.0.1');
    sockets.add(c); sockets.add(s);
    c.on('data', (d) => setTimeout(() => { if (!s.destroyed) s.write(d); }, delayMs));
    s.on('data', (d) => { if (!c.destroyed) c.write(d); });
    const end = () => { c.destroy(); s.destroy(); sockets.delete(c); sockets.delete(s); };
    c.on('error', end); s.on('error', end); c.on('close', end); s.on('close', end);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }));
  return `http://127.0.0.1:${server.address().port}`;
}

export { sleep };
