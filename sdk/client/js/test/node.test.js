// The client against real Wayline nodes: the binary is built from this checkout and started on
// 127.0.0.1 in temporary data directories. Every test has a time limit and kills its nodes.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { WaylineClient, QueueFullError, attachPageHide } from '../src/index.js';
import {
  ADMIN_KEY, admin, delayProxy, eventsTotal, journeyEntered, recordingFetch, setupWorkspace, sleep, startNode, waylineBinary,
} from '../testing/wayline-node.js';

// A cold Go build cache can take minutes on 2 cores; WAYLINE_BIN skips the build.
before(async () => { await waylineBinary(); }, { timeout: 600000 });

const signup = (userId) => ({ type: 'signup', data: { userId } });

async function until(cond, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(2);
  }
}

test('send: one event, id assigned before the first attempt, duplicates and rejections', { timeout: 30000 }, async (t) => {
  const n = await startNode(t);
  await setupWorkspace(n);
  const f = recordingFetch();
  const results = [];
  const c = new WaylineClient({ urls: [n.url], apiKey: ADMIN_KEY, fetch: f, onResult: (e, r) => results.push([e, r]) });

  const r1 = await c.send(signup('ada'));
  assert.equal(r1.status, 'accepted');
  assert.match(r1.id, /^[0-9a-f]{48}$/, 'a time-ordered random hex id');
  assert.equal(results[0][0].id, r1.id, 'onResult sees the event with its id');
  assert.ok(results[0][0].timestamp, 'a timestamp is stamped when the event is made');

  const again = await c.send({ id: r1.id, ...signup('ada') });
  assert.deepEqual(again, { id: r1.id, status: 'duplicate' });

  const posts = f.posts();
  const bad = await c.send({ type: 'signup', data: { plan: 'pro' } });
  assert.equal(bad.status, 'rejected');
  assert.equal(bad.error.code, 'invalid_event');
  assert.equal(bad.error.field, 'data.userId');
  assert.equal(f.posts(), posts + 1, 'a rejected event is never retried');

  const unknown = await c.send({ type: 'nope', data: {} });
  assert.equal(unknown.status, 'rejected');
  assert.equal(unknown.error.code, 'unknown_event_type');

  // Without a key: only public event types pass.
  const anon = new WaylineClient({ urls: [n.url] });
  const denied = await anon.send(signup('bob'));
  assert.equal(denied.status, 'rejected');
  assert.equal(denied.error.code, 'unauthenticated');
  const pv = await anon.send({ type: 'pageview', data: { visitorId: 'v1', path: '/' } });
  assert.equal(pv.status, 'accepted');

  assert.deepEqual(
    (({ acked, duplicates, rejected, failed, retried }) => ({ acked, duplicates, rejected, failed, retried }))(c.stats()),
    { acked: 2, duplicates: 1, rejected: 2, failed: 0, retried: 0 });
  assert.equal(await eventsTotal(n, 'accepted'), 2);
  await c.close();
  await assert.rejects(c.send(signup('late')), { name: 'ClosedError' });
});

test('sendBatch: a bad event is rejected and not retried; the others are accepted (NDJSON and JSON array)', { timeout: 30000 }, async (t) => {
  const n = await startNode(t);
  await setupWorkspace(n);
  for (const format of ['ndjson', 'json']) {
    const f = recordingFetch();
    const c = new WaylineClient({ urls: [n.url], apiKey: ADMIN_KEY, fetch: f, format });
    const res = await c.sendBatch([signup(`${format}-1`), { type: 'signup', data: { userId: 42 } }, signup(`${format}-2`)]);
    assert.deepEqual(res.map((r) => r.status), ['accepted', 'rejected', 'accepted'], format);
    assert.equal(res[1].error.code, 'invalid_event');
    assert.equal(res[1].error.field, format === 'json' ? '[1].data.userId' : 'data.userId');
    assert.equal(f.posts(), 1, `${format}: one request, no retry of the rejected event`);
    const s = c.stats();
    assert.equal(s.acked, 2);
    assert.equal(s.rejected, 1);
    assert.equal(s.retried, 0);
    // A retry of the whole batch (same ids) is safe: the good ones come back as duplicates.
    const ids = res.map((r) => r.id);
    const again = await c.sendBatch([{ id: ids[0], ...signup(`${format}-1`) }, { id: ids[2], ...signup(`${format}-2`) }]);
    assert.deepEqual(again.map((r) => r.status), ['duplicate', 'duplicate']);
  }
  assert.equal(await eventsTotal(n, 'accepted'), 4);
  assert.equal(await journeyEntered(n), 4);
});

test('enqueue + flush: 10,000 events streamed in batches, all acknowledged once', { timeout: 60000 }, async (t) => {
  const n = await startNode(t);
  await setupWorkspace(n);
  const f = recordingFetch();
  const statuses = {};
  const c = new WaylineClient({ urls: [n.url], apiKey: ADMIN_KEY, fetch: f, onResult: (_, r) => { statuses[r.status] = (statuses[r.status] ?? 0) + 1; } });
  const N = 10000;
  const t0 = Date.now();
  for (let i = 0; i < N; i++) await c.enqueue(signup(`stream-${i}`));
  await c.flush();
  const ms = Date.now() - t0;
  assert.deepEqual(statuses, { accepted: N });
  const s = c.stats();
  assert.equal(s.acked, N);
  assert.equal(s.failed + s.rejected + s.dropped, 0);
  assert.equal(s.queued + s.inFlight, 0);
  assert.ok(f.posts() >= N / 500 && f.posts() <= N / 50, `batched: ${f.posts()} requests for ${N} events`);
  assert.equal(await eventsTotal(n, 'accepted'), N);
  assert.equal(await journeyEntered(n), N);
  t.diagnostic(`${N} events in ${ms} ms (${Math.round(N / (ms / 1000))} events/s) in ${f.posts()} requests`);
  await c.close();
});

for (const signal of ['SIGTERM', 'SIGKILL']) test(`retry after a node restart (${signal}): every event stored exactly once`, { timeout: 60000 }, async (t) => {
  const n1 = await startNode(t);
  await setupWorkspace(n1);
  const N = 6000;
  let restarted = false;
  let fromN2 = 0;
  const ids = new Set();
  const userOf = new Map(); // id → the user it was sent for: the node de-duplicates per profile
  const statuses = {};
  const c = new WaylineClient({
    urls: [n1.url], apiKey: ADMIN_KEY, batchSize: 100, concurrency: 4, maxAttempts: 40, backoffMs: 20, maxBackoffMs: 300, timeoutMs: 10000,
    onResult: (e, r) => {
      ids.add(e.id);
      userOf.set(e.id, e.data.userId);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (restarted) fromN2++;
    },
  });
  // Stream the first half; stop the node while batches are in flight, go on streaming while
  // it is down, restart it on the same data directory and port.
  let i = 0;
  for (; i < N / 2; i++) await c.enqueue(signup(`r-${i}`));
  await until(() => c.stats().acked >= 500, 20000, '500 acknowledged events');
  assert.ok(c.stats().inFlight > 0 || c.stats().queued > 0, 'the node is stopped mid-stream');
  const stopped = n1.stop(signal);
  for (; i < N; i++) await c.enqueue(signup(`r-${i}`));
  await stopped;
  await sleep(100); // answers the first life wrote before it died are read by now
  restarted = true;
  const n2 = await startNode(t, { data: n1.data, port: n1.port });
  await c.flush();

  const s = c.stats();
  assert.equal(s.failed, 0, JSON.stringify(s));
  assert.equal(s.rejected, 0);
  assert.equal(s.acked, N);
  assert.equal(ids.size, N, 'each event got one result');
  assert.ok(s.retried > 0, `events were retried (${JSON.stringify(s)})`);
  // Durable count across both lives of the node: each distinct event entered the journey once.
  assert.equal(await journeyEntered(n2), N);
  // The restarted node's counters: it stored exactly the events it answered as accepted, and
  // answered each event at most once (accepted, or duplicate for what the first life stored).
  const acc2 = await eventsTotal(n2, 'accepted');
  const dup2 = await eventsTotal(n2, 'duplicate');
  assert.equal(acc2 + dup2, fromN2, `restarted node: accepted ${acc2} + duplicate ${dup2} = results after restart ${fromN2}`);
  assert.equal(acc2, fromN2 - (statuses.duplicate ?? 0));

  // Sending the first 100 again with the same ids stores nothing new.
  const first = [...ids].slice(0, 100);
  // Results arrive in any order after a restart: resend each id with the event it belonged to.
  const again = await c.sendBatch(first.map((id) => ({ id, ...signup(userOf.get(id)) })));
  assert.ok(again.every((r) => r.status === 'duplicate'));
  assert.equal(await eventsTotal(n2, 'accepted'), acc2);
  assert.equal(await journeyEntered(n2), N);
  t.diagnostic(`stats ${JSON.stringify(c.stats())}; restarted node accepted ${acc2}, duplicates ${dup2}`);
  await c.close();
});

test('failover: the fastest node is used; when it stops, the other takes the stream', { timeout: 60000 }, async (t) => {
  const a = await startNode(t);
  const b = await startNode(t);
  await setupWorkspace(a);
  await setupWorkspace(b);
  const slowB = await delayProxy(t, b.url, 30); // b is "farther away"
  const c = new WaylineClient({ urls: [slowB, a.url], apiKey: ADMIN_KEY, batchSize: 50, maxAttempts: 20, backoffMs: 20, maxBackoffMs: 300, timeoutMs: 10000 });
  await c.probe();
  const nodes = c.nodes();
  assert.equal(nodes[0].url, a.url, `the nearest node first: ${JSON.stringify(nodes)}`);
  assert.ok(nodes[1].latencyMs > nodes[0].latencyMs);

  const N = 3000;
  let i = 0;
  for (; i < 1000; i++) await c.enqueue(signup(`f-${i}`));
  await until(() => c.stats().acked >= 300, 20000, '300 acknowledged events');
  assert.equal(await eventsTotal(b, 'accepted'), 0, 'nothing went to the slower node while the fast one was up');
  const stopped = a.stop('SIGKILL');
  for (; i < N; i++) await c.enqueue(signup(`f-${i}`));
  await stopped;
  await c.flush();
  const s = c.stats();
  assert.equal(s.acked, N, JSON.stringify(s));
  assert.equal(s.failed + s.rejected, 0);
  const onB = await eventsTotal(b, 'accepted');
  assert.ok(onB >= N - 1000 && onB <= N, `the other node took the rest: ${onB}`);
  assert.equal(c.nodes().find((x) => x.url === a.url).up, false, 'the stopped node is marked down');
  t.diagnostic(`node b accepted ${onB}; stats ${JSON.stringify(s)}`);
  await c.close();
});

test('backpressure: block, drop-oldest and error when the queue is full', { timeout: 40000 }, async (t) => {
  const n = await startNode(t);
  await setupWorkspace(n);
  for (const overflow of ['block', 'drop-oldest', 'error']) {
    const results = [];
    const c = new WaylineClient({ urls: [n.url], apiKey: ADMIN_KEY, batchSize: 1, concurrency: 1, queueSize: 3, lingerMs: 0, overflow, timeoutMs: 20000,
      onResult: (e, r) => results.push([e.data.userId, r.status]) });
    assert.equal((await c.send(signup(`${overflow}-warm`))).status, 'accepted');
    n.proc.kill('SIGSTOP'); // the node stalls: the one request in flight hangs, the queue fills
    try {
      await c.enqueue(signup(`${overflow}-0`));
      await until(() => c.stats().inFlight === 1, 5000, 'one batch in flight');
      for (let k = 1; k <= 3; k++) await c.enqueue(signup(`${overflow}-${k}`));
      assert.equal(c.stats().queued, 3);
      const fifth = c.enqueue(signup(`${overflow}-4`));
      if (overflow === 'block') {
        const state = await Promise.race([fifth.then(() => 'queued'), sleep(200).then(() => 'waiting')]);
        assert.equal(state, 'waiting', 'block mode waits for room');
      } else if (overflow === 'drop-oldest') {
        await fifth;
        assert.equal(c.stats().dropped, 1);
        assert.deepEqual(results.at(-1), [`${overflow}-1`, 'dropped'], 'the oldest queued event was dropped');
      } else {
        await assert.rejects(fifth, (e) => e instanceof QueueFullError && e.code === 'queue_full');
      }
    } finally {
      n.proc.kill('SIGCONT');
    }
    await c.flush();
    const s = c.stats();
    const want = { block: [6, 0], 'drop-oldest': [5, 1], error: [5, 0] }[overflow];
    assert.deepEqual([s.acked, s.dropped], want, `${overflow}: ${JSON.stringify(s)}`);
    assert.equal(s.failed, 0);
    await c.close();
  }
});

test('page hide: queued public events go out with navigator.sendBeacon as NDJSON', { timeout: 30000 }, async (t) => {
  const n = await startNode(t);
  await setupWorkspace(n);
  const beacons = [];
  let beaconAnswer = true;
  const hadNavigator = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', {
    configurable: true, writable: true,
    value: { sendBeacon: (url, data) => { beacons.push({ url, data }); return beaconAnswer; } },
  });
  t.after(() => {
    if (hadNavigator) Object.defineProperty(globalThis, 'navigator', hadNavigator);
    else delete globalThis.navigator;
  });
  const win = new EventTarget();
  const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' });
  const f = recordingFetch();
  const c = new WaylineClient({ urls: [n.url], fetch: f, lingerMs: 60000, batchSize: 1000 }); // no key: public types only
  const detach = attachPageHide(c, { window: win, document: doc });
  t.after(detach);

  const ids = [];
  for (let k = 0; k < 5; k++) ids.push(await c.enqueue({ type: 'pageview', data: { visitorId: `v${k}`, path: `/p/${k}` } }));
  assert.equal(c.stats().queued, 5);
  doc.visibilityState = 'hidden';
  doc.dispatchEvent(new Event('visibilitychange'));
  assert.equal(beacons.length, 1);
  const { url, data } = beacons[0];
  assert.equal(url, `${n.url}/v1/events`);
  assert.ok(data instanceof Blob);
  assert.equal(data.type, 'application/x-ndjson');
  const body = await data.text();
  const lines = body.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.id), ids);
  assert.deepEqual(lines.map((l) => l.data.visitorId), ['v0', 'v1', 'v2', 'v3', 'v4']);
  assert.equal(f.posts(), 0, 'nothing sent with fetch');
  assert.equal(c.stats().beaconed, 5);
  assert.equal(c.stats().queued, 0);
  await c.flush(); // nothing left to wait for

  // What the browser would POST: the node takes it without a key (public type).
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': data.type } });
  assert.equal(res.status, 200);
  const answer = (await res.text()).trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(answer.slice(0, 5).map((r) => r.status), Array(5).fill('accepted'));
  assert.equal(answer[5].summary.accepted, 5);

  // pagehide with nothing queued sends nothing.
  win.dispatchEvent(new Event('pagehide'));
  assert.equal(beacons.length, 1);

  // Large queues are split into beacons under the 64 KiB limit.
  const pad = 'x'.repeat(400);
  for (let k = 0; k < 300; k++) await c.enqueue({ type: 'pageview', data: { visitorId: `big${k}`, path: `/${pad}` } });
  win.dispatchEvent(new Event('pagehide'));
  assert.ok(beacons.length >= 3, `${beacons.length - 1} beacons for ~130 KB`);
  let total = 0;
  for (const b of beacons.slice(1)) {
    assert.ok(b.data.size <= 60000, `beacon of ${b.data.size} bytes`);
    total += (await b.data.text()).trimEnd().split('\n').length;
  }
  assert.equal(total, 300);

  // sendBeacon refuses (quota): fall back to fetch with keepalive, whose answer is read.
  beaconAnswer = false;
  const got = [];
  const c2 = new WaylineClient({ urls: [n.url], fetch: f, lingerMs: 60000, onResult: (_, r) => got.push(r.status) });
  attachPageHide(c2, { window: win, document: doc });
  for (let k = 0; k < 3; k++) await c2.enqueue({ type: 'pageview', data: { visitorId: `fb${k}` } });
  win.dispatchEvent(new Event('pagehide'));
  await c2.flush();
  assert.deepEqual(got, ['accepted', 'accepted', 'accepted']);
  const kept = f.calls.filter((x) => x.init.keepalive === true);
  assert.ok(kept.length >= 1);
  assert.equal(kept.at(-1).init.headers['content-type'], 'application/x-ndjson');

  // With an API key, beacons (which cannot carry it) are skipped for fetch with keepalive.
  const before = beacons.length;
  const c3 = new WaylineClient({ urls: [n.url], apiKey: ADMIN_KEY, fetch: f, lingerMs: 60000 });
  await c3.enqueue(signup('hidden-1'));
  c3.beacon({ navigator: globalThis.navigator });
  await c3.flush();
  assert.equal(beacons.length, before);
  assert.equal(c3.stats().acked, 1);
  assert.equal(f.calls.at(-1).init.headers.authorization, `Bearer ${ADMIN_KEY}`);
  assert.equal(f.calls.at(-1).init.keepalive, true);
});

test('an unknown API key: the batch is rejected, not retried', { timeout: 20000 }, async (t) => {
  const n = await startNode(t);
  const c = new WaylineClient({ urls: [n.url], apiKey: 'not-a-key-0123456789' });
  const [r] = await c.sendBatch([signup('x')]);
  assert.equal(r.status, 'rejected');
  assert.equal(r.error.code, 'unauthenticated');
  assert.equal(c.stats().retried, 0);
  await admin(n, 'GET', '/v1/event-definitions', undefined, 200);
});
