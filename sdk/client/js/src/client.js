// WaylineClient: sends events to Wayline nodes from Node.js or a browser, with fetch only.
//
// Shape of the work:
//   send / sendBatch  → deliver(items) directly, with retries;
//   enqueue           → a bounded FIFO queue → batches (by count, bytes, linger time) →
//                       up to `concurrency` batches in flight → deliver(items) with retries.
// deliver() sends one request per attempt to the node picked by measured latency, classifies
// every event of the answer as final (accepted, duplicate, not_qualified, rejected) or
// retryable (failed, rate limited, network error, 429, 5xx), and re-sends only the retryable
// ones, with the ids they were given before the first attempt.

import { newEventId, utf8Length } from './id.js';

/** Base class of the errors this package throws. */
export class WaylineError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'WaylineError';
    this.code = code;
  }
}

/** enqueue() in overflow mode 'error' when the queue holds queueSize events. */
export class QueueFullError extends WaylineError {
  constructor(queueSize) {
    super(`the client's queue is full (${queueSize} events); wait for it to drain (await flush()), raise queueSize, or choose overflow 'block' or 'drop-oldest'`, 'queue_full');
    this.name = 'QueueFullError';
  }
}

/** send(), sendBatch() or enqueue() after close(). */
export class ClosedError extends WaylineError {
  constructor() {
    super('the client is closed; create a new WaylineClient to send more events', 'closed');
    this.name = 'ClosedError';
  }
}

const FINAL_OK = new Set(['accepted', 'duplicate', 'not_qualified']);

const DEFAULTS = {
  batchSize: 500,
  batchBytes: 512 * 1024,
  lingerMs: 5,
  queueSize: 10000,
  overflow: 'block',
  maxAttempts: 8,
  backoffMs: 100,
  maxBackoffMs: 5000,
  timeoutMs: 30000,
  concurrency: 4,
  format: 'ndjson',
  stampTime: true,
  probeIntervalMs: 30000,
  probeTimeoutMs: 2000,
  discover: false,
};

// Most events in one JSON array and largest JSON body the node accepts by default.
const NODE_MAX_BATCH = 1000;
const NODE_MAX_BODY = 1 << 20;

class Deque {
  constructor() { this.a = []; this.h = 0; }
  get length() { return this.a.length - this.h; }
  push(x) { this.a.push(x); }
  peek() { return this.h < this.a.length ? this.a[this.h] : undefined; }
  shift() {
    if (this.h >= this.a.length) return undefined;
    const x = this.a[this.h];
    this.a[this.h++] = undefined;
    if (this.h > 1024 && this.h * 2 > this.a.length) { this.a = this.a.slice(this.h); this.h = 0; }
    return x;
  }
  unshiftAll(xs) { this.a = xs.concat(this.a.slice(this.h)); this.h = 0; }
  drain() { const xs = this.a.slice(this.h); this.a = []; this.h = 0; return xs; }
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

/** An abort signal that fires after ms; call done() when the request is over. */
function deadline(ms) {
  const c = new AbortController();
  const timer = setTimeout(() => {
    const e = new Error(`no answer within ${ms} ms`);
    e.name = 'TimeoutError';
    c.abort(e);
  }, ms);
  return { signal: c.signal, done: () => clearTimeout(timer) };
}

/** fetch, then read the body as text, all under one deadline. */
async function fetchText(fetchFn, url, init, ms) {
  const d = deadline(ms);
  try {
    const res = await fetchFn(url, { ...init, signal: d.signal });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text };
  } finally {
    d.done();
  }
}

function now() { return (globalThis.performance && performance.now) ? performance.now() : Date.now(); }

function trimUrl(u) {
  if (typeof u !== 'string' || !/^https?:\/\//i.test(u)) {
    throw new TypeError(`@wayline/client: node URL ${JSON.stringify(u)} must start with http:// or https://`);
  }
  return u.replace(/\/+$/, '');
}

function positiveInt(name, v, min = 1) {
  if (!Number.isInteger(v) || v < min) throw new TypeError(`@wayline/client: ${name} must be an integer >= ${min}, not ${v}`);
  return v;
}

function nonNegative(name, v) {
  if (typeof v !== 'number' || !(v >= 0)) throw new TypeError(`@wayline/client: ${name} must be a number >= 0, not ${v}`);
  return v;
}

/** The API error of a response body: {error:{...}} or {errors:[...]}. */
function bodyError(body, status) {
  if (body && typeof body === 'object') {
    if (body.error && typeof body.error === 'object') return body.error;
    if (Array.isArray(body.errors) && body.errors.length > 0) return { ...body.errors[0], errors: body.errors };
  }
  return { code: `http_${status}`, message: `the node answered HTTP ${status}` };
}

function itemError(r) {
  if (r.error) return r.errors ? { ...r.error, errors: r.errors } : r.error;
  if (Array.isArray(r.errors) && r.errors.length > 0) return { ...r.errors[0], errors: r.errors };
  return undefined;
}

function retryableStatus(status) {
  return status === 408 || status === 429 || status >= 500;
}

export class WaylineClient {
  /**
   * @param {import('../index').WaylineClientOptions} options
   */
  constructor(options = {}) {
    const o = { ...DEFAULTS, ...options };
    let urls = o.urls ?? (o.url ? [o.url] : undefined);
    if (typeof urls === 'string') urls = [urls];
    if (!Array.isArray(urls) || urls.length === 0) {
      throw new TypeError('@wayline/client: give the node addresses as urls: ["http://127.0.0.1:8080"]');
    }
    this._nodes = [...new Set(urls.map(trimUrl))].map((url) => ({ url, latency: Infinity, downUntil: 0, fails: 0 }));
    this._apiKey = o.apiKey || undefined;
    this._batchSize = Math.min(positiveInt('batchSize', o.batchSize), o.format === 'json' ? NODE_MAX_BATCH : Infinity);
    this._batchBytes = positiveInt('batchBytes', o.batchBytes);
    if (o.format === 'json') this._batchBytes = Math.min(this._batchBytes, NODE_MAX_BODY - 2);
    this._lingerMs = nonNegative('lingerMs', o.lingerMs);
    this._queueSize = positiveInt('queueSize', o.queueSize);
    if (!['block', 'drop-oldest', 'error'].includes(o.overflow)) {
      throw new TypeError(`@wayline/client: overflow must be 'block', 'drop-oldest' or 'error', not ${JSON.stringify(o.overflow)}`);
    }
    this._overflow = o.overflow;
    this._maxAttempts = positiveInt('maxAttempts', o.maxAttempts);
    this._backoffMs = nonNegative('backoffMs', o.backoffMs);
    this._maxBackoffMs = nonNegative('maxBackoffMs', o.maxBackoffMs);
    this._timeoutMs = positiveInt('timeoutMs', o.timeoutMs);
    this._concurrency = positiveInt('concurrency', o.concurrency);
    if (o.format !== 'ndjson' && o.format !== 'json') {
      throw new TypeError(`@wayline/client: format must be 'ndjson' or 'json', not ${JSON.stringify(o.format)}`);
    }
    this._format = o.format;
    this._stampTime = !!o.stampTime;
    this._probeIntervalMs = nonNegative('probeIntervalMs', o.probeIntervalMs);
    this._probeTimeoutMs = positiveInt('probeTimeoutMs', o.probeTimeoutMs);
    this._discover = !!o.discover;
    this._onResult = typeof o.onResult === 'function' ? o.onResult : null;
    const f = o.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new TypeError('@wayline/client: no fetch: pass options.fetch or use Node 20+ or a browser');
    this._fetch = o.fetch ? f : f.bind(globalThis);

    this._stats = { sent: 0, acked: 0, duplicates: 0, notQualified: 0, retried: 0, dropped: 0, rejected: 0, failed: 0, beaconed: 0 };
    this._queue = new Deque(); // items waiting to be batched
    this._queuedBytes = 0;
    this._waiters = new Deque(); // overflow 'block': {item, resolve}
    this._inflight = new Set(); // batches being delivered: {items, minSeq}
    this._seq = 0; // sequence number of the last enqueue() call
    this._forceSeq = 0; // items with seq <= this are dispatched without waiting to fill a batch
    this._lingerTimer = null;
    this._changeResolvers = [];
    this._closed = false;
    this._probed = this._nodes.length === 1 && !this._discover; // one node: nothing to measure
    this._probing = null;
    this._lastProbe = 0;
  }

  // --- public API --------------------------------------------------------------------------

  /** Sends one event in its own request, with retries. */
  async send(event) {
    this._checkOpen();
    const item = this._prepare(event);
    const [result] = await this._deliver([item], 'single');
    return result;
  }

  /** Sends events in batches (split by batchSize and batchBytes), with retries; results in input order. */
  async sendBatch(events) {
    this._checkOpen();
    if (!Array.isArray(events)) throw new TypeError('@wayline/client: sendBatch takes an array of events');
    const items = events.map((e) => this._prepare(e));
    const chunks = [];
    let cur = [];
    let bytes = 0;
    for (const it of items) {
      if (cur.length > 0 && (cur.length >= this._batchSize || bytes + it.bytes + 1 > this._batchBytes)) {
        chunks.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push(it);
      bytes += it.bytes + 1;
    }
    if (cur.length) chunks.push(cur);
    const out = new Array(items.length);
    let next = 0;
    let offset = 0;
    const starts = chunks.map((c) => { const s = offset; offset += c.length; return s; });
    const worker = async () => {
      while (next < chunks.length) {
        const i = next++;
        const res = await this._deliver(chunks[i], this._format);
        for (let j = 0; j < res.length; j++) out[starts[i] + j] = res[j];
      }
    };
    await Promise.all(Array.from({ length: Math.min(this._concurrency, chunks.length) }, worker));
    return out;
  }

  /**
   * Queues an event for batched delivery. Resolves once it is queued (not when it is
   * acknowledged: see onResult and flush()).
   */
  enqueue(event) {
    if (this._closed) return Promise.reject(new ClosedError());
    let item;
    try {
      item = this._prepare(event);
    } catch (e) {
      return Promise.reject(e);
    }
    item.seq = ++this._seq;
    if (this._queue.length < this._queueSize && this._waiters.length === 0) {
      this._push(item);
      return Promise.resolve(item.event.id);
    }
    switch (this._overflow) {
      case 'error':
        this._seq--; // not queued: flush() must not wait for it
        return Promise.reject(new QueueFullError(this._queueSize));
      case 'drop-oldest': {
        const old = this._queue.shift();
        if (old) {
          this._queuedBytes -= old.bytes;
          this._finish(old, { id: old.event.id, status: 'dropped', error: { code: 'queue_full', message: `dropped to make room in a full queue of ${this._queueSize} events (overflow 'drop-oldest')` } });
          this._notify();
        }
        this._push(item);
        return Promise.resolve(item.event.id);
      }
      default: // block
        return new Promise((resolve) => {
          this._waiters.push({ item, resolve });
          this._pump();
        });
    }
  }

  /** Resolves when every event enqueued before this call has a final result. */
  async flush() {
    const target = this._seq;
    if (target > this._forceSeq) this._forceSeq = target;
    this._pump();
    while (this._lowestUnsettled() <= target) await this._changed();
  }

  /** Stops taking events, delivers what is queued, and resolves with the final stats. */
  async close() {
    this._closed = true;
    await this.flush();
    if (this._lingerTimer) { clearTimeout(this._lingerTimer); this._lingerTimer = null; }
    return this.stats();
  }

  /** Counters since the client was made. */
  stats() {
    return { ...this._stats, queued: this._queue.length + this._waiters.length, inFlight: this._inflightCount() };
  }

  /** The nodes, fastest first, with their last measured /readyz latency in ms. */
  nodes() {
    const t = Date.now();
    return this._ordered().map((n) => ({ url: n.url, latencyMs: n.latency, up: n.downUntil <= t }));
  }

  /** Measures GET /readyz latency of every node now (done lazily on first use and every probeIntervalMs). */
  async probe() {
    if (this._probing) return this._probing;
    this._probing = (async () => {
      try {
        if (this._discover) await this.refreshNodes().catch(() => false);
        await Promise.all(this._nodes.map((n) => this._probeOne(n)));
      } finally {
        this._probed = true;
        this._lastProbe = Date.now();
        this._probing = null;
      }
    })();
    return this._probing;
  }

  /**
   * Replaces the node list with the members a cluster reports at GET /v1/cluster (`members` or
   * `nodes`, each with `apiUrl`, `url` or `apiURL`; members whose `state` is dead or left are
   * skipped — the same reading as the Go client). Resolves false and keeps the list when the
   * node has no such endpoint (a single node), fails, or lists nobody.
   */
  async refreshNodes() {
    const n = this._pickSync();
    const headers = this._apiKey ? { authorization: `Bearer ${this._apiKey}` } : {};
    let res;
    try {
      res = await fetchText(this._fetch, `${n.url}/v1/cluster`, { headers }, this._probeTimeoutMs);
    } catch {
      return false;
    }
    if (res.status !== 200) return false;
    let body;
    try { body = JSON.parse(res.text); } catch { return false; }
    const list = [].concat(Array.isArray(body?.members) ? body.members : [], Array.isArray(body?.nodes) ? body.nodes : []);
    const urls = [];
    for (const m of list) {
      if (!m || typeof m !== 'object' || m.state === 'dead' || m.state === 'left') continue;
      const u = m.apiUrl || m.url || m.apiURL;
      if (typeof u !== 'string' || !/^https?:\/\//i.test(u)) continue;
      const url = u.replace(/\/+$/, '');
      if (!urls.includes(url)) urls.push(url);
    }
    if (urls.length === 0) return false;
    const known = new Map(this._nodes.map((x) => [x.url, x]));
    const changed = urls.length !== this._nodes.length || urls.some((u) => !known.has(u));
    this._nodes = urls.map((url) => known.get(url) ?? { url, latency: Infinity, downUntil: 0, fails: 0 });
    return changed;
  }

  /**
   * Browser, on page hide: hands everything queued (and, since a retry is safe, what is in
   * flight) to navigator.sendBeacon as NDJSON, falling back to fetch with keepalive. Returns how
   * many events were handed off. attachPageHide() calls it for you.
   */
  beacon(options = {}) {
    const nav = options.navigator ?? globalThis.navigator;
    const maxBytes = options.maxBytes ?? 60000;
    const useBeacon = options.useBeacon ?? !this._apiKey;
    const taken = this._queue.drain();
    this._queuedBytes = 0;
    for (let w = this._waiters.shift(); w; w = this._waiters.shift()) { taken.push(w.item); w.resolve(w.item.event.id); }
    const again = [];
    for (const b of this._inflight) for (const it of b.items) if (!it.handedOff) again.push(it);
    const all = again.concat(taken);
    this._pump(); // clears the linger timer of the now empty queue
    if (all.length === 0) return 0;
    const node = this._pickSync();
    const url = `${node.url}/v1/events`;
    const chunks = [];
    let cur = [];
    let bytes = 0;
    for (const it of all) {
      it.handedOff = true;
      if (cur.length > 0 && (bytes + it.bytes + 1 > maxBytes || cur.length >= NODE_MAX_BATCH)) { chunks.push(cur); cur = []; bytes = 0; }
      cur.push(it);
      bytes += it.bytes + 1;
    }
    chunks.push(cur);
    const fromQueue = new Set(taken);
    for (const chunk of chunks) {
      const body = chunk.map((it) => it.line).join('\n') + '\n';
      let ok = false;
      if (useBeacon && nav && typeof nav.sendBeacon === 'function' && typeof Blob !== 'undefined') {
        try {
          ok = nav.sendBeacon(url, new Blob([body], { type: 'application/x-ndjson' }));
        } catch {
          ok = false;
        }
      }
      const mine = chunk.filter((it) => fromQueue.has(it));
      this._stats.sent += chunk.length;
      if (ok) {
        for (const it of mine) {
          this._stats.beaconed++;
          this._finish(it, { id: it.event.id, status: 'beaconed' }, true);
        }
        continue;
      }
      // fetch with keepalive outlives the page and can carry the API key.
      if (mine.length === 0) {
        this._fetchKeepalive(url, body).catch(() => {});
        continue;
      }
      const batch = { items: mine, minSeq: mine[0].seq ?? Infinity };
      this._inflight.add(batch);
      this._fetchKeepalive(url, body)
        .then((res) => this._parseBatch(res, chunk, 'ndjson'))
        .then((outcome) => {
          const retry = [];
          for (let i = 0; i < chunk.length; i++) {
            if (!fromQueue.has(chunk[i])) continue; // in flight: its own request settles it
            const r = outcome.results[i];
            if (r && !r.retry) this._finish(chunk[i], r.result);
            else { chunk[i].handedOff = false; retry.push(chunk[i]); }
          }
          this._requeueFront(retry);
        }, () => {
          for (const it of mine) it.handedOff = false;
          this._requeueFront(mine); // the page lived on: deliver them normally
        })
        .finally(() => { this._inflight.delete(batch); this._notify(); this._pump(); });
    }
    this._notify();
    return all.length;
  }

  // --- preparation and the queue -----------------------------------------------------------

  _checkOpen() {
    if (this._closed) throw new ClosedError();
  }

  _prepare(event) {
    if (event === null || typeof event !== 'object' || Array.isArray(event)) {
      throw new TypeError('@wayline/client: an event is an object such as {type: "signup", data: {userId: "42"}}');
    }
    const ev = { ...event };
    if (ev.id === undefined || ev.id === null || ev.id === '') ev.id = newEventId();
    if (this._stampTime && (ev.timestamp === undefined || ev.timestamp === null || ev.timestamp === '')) {
      ev.timestamp = new Date().toISOString();
    }
    const line = JSON.stringify(ev); // throws on cycles and BigInt: a programming error
    return { event: ev, line, bytes: utf8Length(line), seq: undefined };
  }

  _push(item) {
    this._queue.push(item);
    this._queuedBytes += item.bytes;
    this._pump();
  }

  _requeueFront(items) {
    const keep = items.filter((it) => !it.settled);
    if (keep.length === 0) return;
    this._queue.unshiftAll(keep);
    for (const it of keep) this._queuedBytes += it.bytes;
    for (const it of keep) if (it.seq !== undefined && it.seq > this._forceSeq) this._forceSeq = it.seq;
    this._pump();
  }

  _admitWaiters() {
    while (this._waiters.length > 0 && this._queue.length < this._queueSize) {
      const w = this._waiters.shift();
      this._queue.push(w.item);
      this._queuedBytes += w.item.bytes;
      w.resolve(w.item.event.id);
    }
  }

  _pump() {
    this._admitWaiters();
    while (this._inflight.size < this._concurrency && this._queue.length > 0) {
      const head = this._queue.peek();
      const forced = head.seq <= this._forceSeq;
      const full = this._queue.length >= this._batchSize || this._queuedBytes >= this._batchBytes;
      if (!forced && !full) break;
      const items = [];
      let bytes = 0;
      while (this._queue.length > 0 && items.length < this._batchSize) {
        const it = this._queue.peek();
        if (items.length > 0 && bytes + it.bytes + 1 > this._batchBytes) break;
        this._queue.shift();
        this._queuedBytes -= it.bytes;
        items.push(it);
        bytes += it.bytes + 1;
      }
      const batch = { items, minSeq: items[0].seq };
      this._inflight.add(batch);
      this._admitWaiters();
      this._deliver(items, this._format)
        .catch((err) => { // a bug, not an answer: settle what is left so flush() cannot hang
          for (const it of items) {
            this._finish(it, { id: it.event.id, status: 'failed', error: { code: 'client_error', message: String(err?.stack ?? err) } });
          }
        })
        .finally(() => {
          this._inflight.delete(batch);
          this._notify();
          this._pump();
        });
    }
    if (this._queue.length === 0 && this._lingerTimer) {
      clearTimeout(this._lingerTimer); // nothing left to wait for: do not hold the process open
      this._lingerTimer = null;
    }
    if (this._queue.length > 0 && this._inflight.size < this._concurrency && !this._lingerTimer) {
      this._lingerTimer = setTimeout(() => {
        this._lingerTimer = null;
        if (this._seq > this._forceSeq) this._forceSeq = this._seq;
        this._pump();
      }, this._lingerMs);
    }
  }

  _inflightCount() {
    let n = 0;
    for (const b of this._inflight) n += b.items.length;
    return n;
  }

  _lowestUnsettled() {
    let low = Infinity;
    const q = this._queue.peek();
    if (q) low = q.seq;
    const w = this._waiters.peek();
    if (w && w.item.seq < low) low = w.item.seq;
    for (const b of this._inflight) {
      for (const it of b.items) if (!it.settled && it.seq !== undefined && it.seq < low) low = it.seq;
    }
    return low;
  }

  _changed() {
    return new Promise((r) => this._changeResolvers.push(r));
  }

  _notify() {
    const rs = this._changeResolvers;
    this._changeResolvers = [];
    for (const r of rs) r();
  }

  _finish(item, result, counted = false) {
    if (item.settled) return;
    item.settled = true;
    const s = this._stats;
    if (!counted) {
      switch (result.status) {
        case 'accepted': s.acked++; break;
        case 'duplicate': s.acked++; s.duplicates++; break;
        case 'not_qualified': s.acked++; s.notQualified++; break;
        case 'rejected': s.rejected++; break;
        case 'dropped': s.dropped++; break;
        default: s.failed++;
      }
    }
    if (this._onResult) {
      try {
        this._onResult(item.event, result);
      } catch {
        // a throwing callback must not stop delivery
      }
    }
  }

  // --- nodes -------------------------------------------------------------------------------

  async _probeOne(n) {
    let best = Infinity;
    for (let i = 0; i < 2; i++) { // the first also opens the connection; the second measures a warm one
      const t0 = now();
      try {
        const res = await fetchText(this._fetch, `${n.url}/readyz`, {}, this._probeTimeoutMs);
        if (res.status !== 200) { best = Infinity; break; }
        best = Math.min(best, now() - t0);
      } catch {
        best = Infinity;
        break;
      }
    }
    n.latency = best;
    if (best === Infinity) n.downUntil = Date.now() + 1000;
    else { n.downUntil = 0; n.fails = 0; }
  }

  _ordered() {
    return [...this._nodes].sort((a, b) => a.latency - b.latency);
  }

  _pickSync() {
    const t = Date.now();
    const ordered = this._ordered();
    for (const n of ordered) if (n.downUntil <= t) return n;
    return ordered.reduce((a, b) => (b.downUntil < a.downUntil ? b : a)); // all down: the one back soonest
  }

  async _pick() {
    if (!this._probed) await this.probe();
    else if ((this._nodes.length > 1 || this._discover) && this._probeIntervalMs > 0 && Date.now() - this._lastProbe > this._probeIntervalMs) {
      this.probe(); // in the background
    }
    return this._pickSync();
  }

  _markDown(n) {
    n.fails++;
    n.downUntil = Date.now() + Math.min(30000, 500 * 2 ** (n.fails - 1));
  }

  _markUp(n) {
    n.fails = 0;
    n.downUntil = 0;
  }

  // --- delivery ----------------------------------------------------------------------------

  _headers(contentType) {
    const h = { 'content-type': contentType };
    if (this._apiKey) h.authorization = `Bearer ${this._apiKey}`;
    return h;
  }

  _fetchKeepalive(url, body) {
    return this._fetch(url, { method: 'POST', body, headers: this._headers('application/x-ndjson'), keepalive: true });
  }

  _backoff(attempt, retryAfterMs) {
    const ceiling = Math.min(this._maxBackoffMs, this._backoffMs * 2 ** (attempt - 1));
    let d = Math.random() * ceiling; // full jitter
    if (retryAfterMs > 0) d = Math.max(d, Math.min(retryAfterMs, this._maxBackoffMs));
    return d;
  }

  /**
   * Delivers items (one request per attempt) until each has a final result; mode is 'single'
   * (one event object), 'json' (an array) or 'ndjson'. Settles every item; returns the results.
   */
  async _deliver(items, mode) {
    const results = new Array(items.length);
    let pending = items.map((_, i) => i);
    let lastError = null;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) this._stats.retried += pending.length;
      const batch = pending.map((i) => items[i]);
      const node = await this._pick();
      this._stats.sent += batch.length;
      let outcome;
      try {
        const res = await this._post(node, batch, mode);
        outcome = this._parseResponse(res, batch, mode);
      } catch (err) {
        outcome = { network: err };
      }
      let retryAfterMs = 0;
      let failover = false;
      const retry = [];
      if (outcome.network) {
        const msg = outcome.network?.cause?.message || outcome.network?.message || String(outcome.network);
        const code = outcome.network?.name === 'TimeoutError' || outcome.network?.name === 'AbortError' ? 'timeout' : 'network_error';
        lastError = { code, message: `${node.url}: ${msg}; the event will be sent again` };
        this._markDown(node);
        failover = true;
        retry.push(...pending);
      } else {
        if (outcome.nodeDown) { this._markDown(node); failover = true; } else this._markUp(node);
        retryAfterMs = outcome.retryAfterMs || 0;
        for (let k = 0; k < pending.length; k++) {
          const r = outcome.results[k];
          if (r.retry) { retry.push(pending[k]); lastError = r.result.error ?? lastError; } else results[pending[k]] = r.result;
        }
      }
      for (let k = 0; k < pending.length; k++) {
        const i = pending[k];
        if (results[i]) this._finish(items[i], results[i]);
      }
      pending = retry;
      if (pending.length === 0) break;
      if (attempt >= this._maxAttempts) {
        for (const i of pending) {
          results[i] = { id: items[i].event.id, status: 'failed', error: { ...(lastError ?? { code: 'failed', message: 'not stored' }), message: `gave up after ${attempt} attempts: ${lastError?.message ?? 'not stored'}` } };
          this._finish(items[i], results[i]);
        }
        break;
      }
      // Another node that is up: fail over at once. Otherwise back off.
      if (!(failover && this._pickSync() !== node && this._pickSync().downUntil <= Date.now())) {
        await sleep(this._backoff(attempt, retryAfterMs));
      }
    }
    return results;
  }

  async _post(node, batch, mode) {
    let body;
    let ct;
    if (mode === 'single') { body = batch[0].line; ct = 'application/json'; }
    else if (mode === 'json') { body = '[' + batch.map((it) => it.line).join(',') + ']'; ct = 'application/json'; }
    else { body = batch.map((it) => it.line).join('\n') + '\n'; ct = 'application/x-ndjson'; }
    return fetchText(this._fetch, `${node.url}/v1/events`, { method: 'POST', body, headers: this._headers(ct) }, this._timeoutMs);
  }

  async _parseBatch(fetchRes, batch, mode) {
    const text = await fetchRes.text();
    return this._parseResponse({ status: fetchRes.status, headers: fetchRes.headers, text }, batch, mode);
  }

  /**
   * Turns an answer into one {result, retry} per event of the batch, plus nodeDown (fail over)
   * and retryAfterMs.
   */
  _parseResponse(res, batch, mode) {
    const { status, text } = res;
    let retryAfterMs = 0;
    const ra = res.headers?.get?.('retry-after');
    if (ra && /^\d+$/.test(ra)) retryAfterMs = Number(ra) * 1000;
    const id = (i) => batch[i].event.id;
    const all = (result, retry) => batch.map((_, i) => ({ result: { ...result, id: id(i) }, retry }));

    let body = null;
    if (mode !== 'ndjson' || status !== 200) {
      try { body = text ? JSON.parse(text) : null; } catch { body = null; }
    }
    const nodeDown = status === 503 || status === 502 || status === 504;
    if (status === 429 || status === 408 || status >= 500) {
      // Whole request refused for now: every event is retried.
      return { results: all({ status: 'failed', error: bodyError(body, status) }, true), nodeDown, retryAfterMs };
    }
    if (mode === 'single') {
      if (status >= 200 && status < 300 && body && typeof body.status === 'string') {
        const r = { id: body.id ?? id(0), status: body.status };
        return { results: [{ result: r, retry: !FINAL_OK.has(r.status) && r.status !== 'rejected' }], nodeDown: false };
      }
      if (status >= 400 && status < 500) return { results: all({ status: 'rejected', error: bodyError(body, status) }, false), nodeDown: false };
      return { results: all({ status: 'failed', error: { code: `http_${status}`, message: `unexpected answer HTTP ${status}` } }, true), nodeDown: false };
    }
    if (status >= 400 && status < 500) {
      // The whole request was refused (bad key, body too large, ...): no event will ever pass.
      return { results: all({ status: 'rejected', error: bodyError(body, status) }, false), nodeDown: false };
    }
    const out = new Array(batch.length);
    let items = [];
    let summaryError = null;
    if (mode === 'json') {
      if (!(status === 202 || status === 207) || !body || !Array.isArray(body.results)) {
        return { results: all({ status: 'failed', error: { code: `http_${status}`, message: `unexpected answer HTTP ${status}` } }, true), nodeDown: false };
      }
      for (const r of body.results) if (Number.isInteger(r.index) && r.index >= 0 && r.index < batch.length) out[r.index] = r;
      items = body.results;
    } else {
      if (status !== 200) {
        return { results: all({ status: 'failed', error: { code: `http_${status}`, message: `unexpected answer HTTP ${status}` } }, true), nodeDown: false };
      }
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        let r;
        try { r = JSON.parse(line); } catch { continue; }
        if (r && r.summary) { summaryError = r.summary.error ?? null; continue; }
        if (r && Number.isInteger(r.line) && r.line >= 1 && r.line <= batch.length) out[r.line - 1] = r;
        items.push(r);
      }
    }
    let nodeDownItems = false;
    const results = batch.map((it, i) => {
      const r = out[i];
      if (!r) {
        if (summaryError && summaryError.code === 'too_many_events') return { result: { id: id(i), status: 'rejected', error: summaryError }, retry: false };
        return { result: { id: id(i), status: 'failed', error: summaryError ?? { code: 'no_answer', message: 'the node did not answer for this event' } }, retry: true };
      }
      const err = itemError(r);
      const result = { id: r.id || id(i), status: r.status };
      if (err) result.error = err;
      if (FINAL_OK.has(r.status)) return { result, retry: false };
      if (r.status === 'rejected') return { result, retry: err?.code === 'rate_limited' };
      if (err?.code === 'unavailable') nodeDownItems = true; // shutting down: try another node
      return { result: { ...result, status: 'failed' }, retry: true };
    });
    return { results, nodeDown: nodeDownItems, retryAfterMs };
  }
}
