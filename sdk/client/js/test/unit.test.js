// Client logic with a scripted fetch (no node): ids, retry classification, backoff limits,
// timeouts, options. The behaviour against a real node is in node.test.js.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { WaylineClient, newEventId } from '../src/index.js';
import { utf8Length } from '../src/id.js';

const URL1 = 'http://127.0.0.1:1';

/** A fetch that answers from a script: each entry is [status, body] or an Error to throw. */
function scripted(...steps) {
  const calls = [];
  const f = async (url, init = {}) => {
    calls.push({ url, init, body: init.body });
    const step = steps.length > 1 ? steps.shift() : steps[0];
    const s = typeof step === 'function' ? step(url, init) : step;
    if (s instanceof Error) throw s;
    const [status, body, headers] = s;
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers });
  };
  f.calls = calls;
  return f;
}

const networkError = () => Object.assign(new TypeError('fetch failed'), { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });

test('ids: 48 hex digits, time-ordered, unique', () => {
  const ids = Array.from({ length: 20000 }, () => newEventId());
  for (const id of ids.slice(0, 10)) assert.match(id, /^[0-9a-f]{48}$/);
  assert.equal(new Set(ids).size, ids.length);
  const prefixes = ids.map((id) => id.slice(0, 16));
  assert.deepEqual([...prefixes].sort(), prefixes, 'the time prefix never goes backwards');
  const ns = BigInt('0x' + prefixes[0]);
  assert.ok(Math.abs(Number(ns / 1000000n) - Date.now()) < 60000, 'the prefix is the time in nanoseconds');
});

test('utf8Length matches TextEncoder', () => {
  const { Buffer } = globalThis;
  for (const s of ['', 'abc', 'é', '€', '😀', 'a😀b€é', '\u{10FFFF}']) {
    const want = new TextEncoder().encode(s).length;
    assert.equal(utf8Length(s), want, s);
    // The fallback used where Buffer is missing (browsers).
    globalThis.Buffer = undefined;
    try { assert.equal(utf8Length(s), want, `fallback ${s}`); } finally { globalThis.Buffer = Buffer; }
  }
});

test('options are checked with a clear message', () => {
  assert.throws(() => new WaylineClient({}), /urls/);
  assert.throws(() => new WaylineClient({ urls: ['localhost:8080'] }), /http:\/\//);
  assert.throws(() => new WaylineClient({ urls: [URL1], overflow: 'spill' }), /overflow/);
  assert.throws(() => new WaylineClient({ urls: [URL1], batchSize: 0 }), /batchSize/);
  assert.throws(() => new WaylineClient({ urls: [URL1], format: 'xml' }), /format/);
  const c = new WaylineClient({ urls: [URL1 + '/'], fetch: scripted([202, {}]) });
  assert.equal(c.nodes()[0].url, URL1);
});

test('503, 429 and network errors are retried with the same id; the answer ends it', { timeout: 10000 }, async () => {
  const f = scripted(networkError(), [503, { error: { code: 'unavailable', message: 'shutting down' } }], [429, { error: { code: 'rate_limited', message: 'slow down' } }],
    (url, init) => [202, { id: JSON.parse(init.body).id, status: 'accepted' }]);
  const c = new WaylineClient({ urls: [URL1], fetch: f, backoffMs: 1, maxBackoffMs: 5 });
  const r = await c.send({ type: 'signup', data: { userId: '1' } });
  assert.equal(r.status, 'accepted');
  assert.equal(f.calls.length, 4);
  const ids = f.calls.map((x) => JSON.parse(x.body).id);
  assert.equal(new Set(ids).size, 1, 'every attempt carries the id given before the first');
  assert.equal(ids[0], r.id);
  assert.equal(c.stats().retried, 3);
  assert.equal(c.stats().sent, 4);
});

test('other 4xx answers are final: no retry', { timeout: 10000 }, async () => {
  for (const [status, code] of [[400, 'invalid_event'], [401, 'unauthenticated'], [403, 'forbidden'], [413, 'body_too_large'], [415, 'unsupported_media']]) {
    const f = scripted([status, { error: { code, message: 'no', field: 'x' } }]);
    const c = new WaylineClient({ urls: [URL1], fetch: f, backoffMs: 1 });
    const r = await c.send({ type: 't' });
    assert.equal(r.status, 'rejected', `${status}`);
    assert.equal(r.error.code, code);
    const [b] = await c.sendBatch([{ type: 't' }]);
    assert.equal(b.status, 'rejected');
    assert.equal(f.calls.length, 2, `${status}: one request each`);
  }
});

test('a batch re-sends only its failed and rate-limited events', { timeout: 10000 }, async () => {
  let round = 0;
  const f = scripted((url, init) => {
    round++;
    const lines = init.body.trimEnd().split('\n').map((l) => JSON.parse(l));
    const out = lines.map((ev, i) => {
      let status = 'accepted';
      let error;
      if (round === 1 && ev.data.n === 1) { status = 'failed'; error = { code: 'unavailable', message: 'retry' }; }
      if (round === 1 && ev.data.n === 2) { status = 'rejected'; error = { code: 'rate_limited', message: 'slow down' }; }
      if (ev.data.n === 3) { status = 'rejected'; error = { code: 'invalid_event', message: 'bad', field: 'data.n' }; }
      return JSON.stringify({ line: i + 1, id: ev.id, status, error });
    });
    return [200, out.join('\n') + '\n' + JSON.stringify({ summary: {} }) + '\n'];
  });
  const c = new WaylineClient({ urls: [URL1], fetch: f, backoffMs: 1, maxBackoffMs: 2 });
  const res = await c.sendBatch([0, 1, 2, 3].map((n) => ({ type: 't', data: { n } })));
  assert.deepEqual(res.map((r) => r.status), ['accepted', 'accepted', 'accepted', 'rejected']);
  assert.equal(f.calls.length, 2);
  const second = f.calls[1].body.trimEnd().split('\n').map((l) => JSON.parse(l).data.n);
  assert.deepEqual(second, [1, 2], 'only the retryable ones again');
  assert.deepEqual(f.calls[1].body.trimEnd().split('\n').map((l) => JSON.parse(l).id), [res[1].id, res[2].id]);
});

test('missing NDJSON lines (the answer broke off) are retried', { timeout: 10000 }, async () => {
  const f = scripted(
    (url, init) => {
      const ev = JSON.parse(init.body.split('\n')[0]);
      return [200, JSON.stringify({ line: 1, id: ev.id, status: 'accepted' }) + '\n'];
    },
    (url, init) => [200, init.body.trimEnd().split('\n').map((l, i) => JSON.stringify({ line: i + 1, id: JSON.parse(l).id, status: 'duplicate' })).join('\n')],
  );
  const c = new WaylineClient({ urls: [URL1], fetch: f, backoffMs: 1 });
  const res = await c.sendBatch([{ type: 't' }, { type: 't' }]);
  assert.deepEqual(res.map((r) => r.status), ['accepted', 'duplicate']);
  assert.equal(f.calls[1].body.trimEnd().split('\n').length, 1);
});

test('after maxAttempts an event fails with the last error; backoff stays under its cap', { timeout: 10000 }, async () => {
  const f = scripted(networkError());
  const c = new WaylineClient({ urls: [URL1], fetch: f, maxAttempts: 4, backoffMs: 10, maxBackoffMs: 20 });
  const t0 = Date.now();
  const r = await c.send({ type: 't' });
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(r.status, 'failed');
  assert.equal(r.error.code, 'network_error');
  assert.match(r.error.message, /gave up after 4 attempts/);
  assert.equal(f.calls.length, 4);
  assert.equal(c.stats().failed, 1);
});

test('a request that hangs times out and is retried', { timeout: 10000 }, async () => {
  let n = 0;
  const f = (url, init) => {
    n++;
    if (n === 1) {
      return new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason)));
    }
    return Promise.resolve(new Response(JSON.stringify({ id: JSON.parse(init.body).id, status: 'accepted' }), { status: 202 }));
  };
  const c = new WaylineClient({ urls: [URL1], fetch: f, timeoutMs: 50, backoffMs: 1 });
  const r = await c.send({ type: 't' });
  assert.equal(r.status, 'accepted');
  assert.equal(n, 2);
});

test('JSON array batches stay within the node limits (1000 events, 1 MiB)', { timeout: 10000 }, async () => {
  const f = scripted((url, init) => {
    const arr = JSON.parse(init.body);
    assert.ok(arr.length <= 1000);
    assert.ok(utf8Length(init.body) <= 1 << 20);
    return [202, { results: arr.map((e, i) => ({ index: i, id: e.id, status: 'accepted' })) }];
  });
  const c = new WaylineClient({ urls: [URL1], fetch: f, format: 'json', batchSize: 5000, batchBytes: 8 << 20 });
  const res = await c.sendBatch(Array.from({ length: 2500 }, (_, i) => ({ type: 't', data: { i, pad: 'y'.repeat(i % 7 === 0 ? 3000 : 10) } })));
  assert.equal(res.length, 2500);
  assert.ok(res.every((r) => r.status === 'accepted'));
  assert.ok(f.calls.length >= 3);
});

test('a throwing onResult does not stop delivery; enqueue of a non-object rejects', { timeout: 10000 }, async () => {
  const f = scripted((url, init) => [200, init.body.trimEnd().split('\n').map((l, i) => JSON.stringify({ line: i + 1, id: JSON.parse(l).id, status: 'accepted' })).join('\n')]);
  const c = new WaylineClient({ urls: [URL1], fetch: f, onResult: () => { throw new Error('boom'); } });
  await c.enqueue({ type: 't' });
  await c.enqueue({ type: 't' });
  await c.flush();
  assert.equal(c.stats().acked, 2);
  await assert.rejects(c.enqueue('nope'), TypeError);
  await c.close();
  await assert.rejects(c.enqueue({ type: 't' }), { name: 'ClosedError' });
});

test('beacon fallback: one keepalive body for in-flight and queued events; each settled once', { timeout: 10000 }, async () => {
  let release;
  const hung = new Promise((r) => { release = r; });
  const bodies = [];
  const answer = (body, status) => new Response(body.trimEnd().split('\n').map((l, i) => JSON.stringify({ line: i + 1, id: JSON.parse(l).id, status })).join('\n'), { status: 200 });
  const f = async (url, init) => {
    bodies.push(init);
    if (bodies.length === 1) { await hung; return answer(init.body, 'accepted'); } // the batch in flight
    return answer(init.body, init.keepalive ? 'accepted' : 'duplicate');
  };
  const results = [];
  const c = new WaylineClient({ urls: [URL1], fetch: f, batchSize: 2, lingerMs: 60000, onResult: (e, r) => results.push([e.data.n, r.status]) });
  await c.enqueue({ type: 't', data: { n: 0 } });
  await c.enqueue({ type: 't', data: { n: 1 } }); // a full batch: in flight, hanging
  await c.enqueue({ type: 't', data: { n: 2 } }); // queued
  assert.deepEqual([c.stats().inFlight, c.stats().queued], [2, 1]);
  const n = c.beacon({ navigator: { sendBeacon: () => false } });
  assert.equal(n, 3);
  await new Promise((r) => setTimeout(r, 10));
  const ka = bodies.find((b) => b.keepalive);
  assert.deepEqual(ka.body.trimEnd().split('\n').map((l) => JSON.parse(l).data.n), [0, 1, 2]);
  assert.deepEqual(results, [[2, 'accepted']], 'the queued event is settled by the keepalive answer');
  release();
  await c.flush();
  assert.deepEqual(results.map((r) => r[0]).sort(), [0, 1, 2], 'each event settled once');
  assert.equal(c.stats().acked, 3);
});

test('discover: the node list comes from GET /v1/cluster; without the endpoint it is kept', { timeout: 10000 }, async () => {
  const seen = [];
  const f = scripted((url) => {
    seen.push(url);
    if (url.endsWith('/v1/cluster')) {
      return [200, { members: [{ apiUrl: 'http://10.0.0.1:8080/', state: 'alive' }, { url: 'http://10.0.0.2:8080', state: 'dead' }], nodes: [{ apiURL: 'http://10.0.0.3:8080' }] }];
    }
    if (url.endsWith('/readyz')) return [200, { status: 'ready' }];
    return [202, { id: 'x', status: 'accepted' }];
  });
  const c = new WaylineClient({ urls: [URL1], fetch: f, discover: true });
  await c.send({ type: 't' });
  assert.deepEqual(c.nodes().map((n) => n.url).sort(), ['http://10.0.0.1:8080', 'http://10.0.0.3:8080']);
  assert.ok(seen[0].endsWith('/v1/cluster'));

  const c2 = new WaylineClient({ urls: [URL1], fetch: scripted([404, { error: { code: 'not_found', message: 'no' } }]), discover: true });
  assert.equal(await c2.refreshNodes(), false);
  assert.deepEqual(c2.nodes().map((n) => n.url), [URL1]);
});
