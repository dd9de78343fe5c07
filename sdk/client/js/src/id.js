// Event ids: 16 hex digits of the creation time in nanoseconds (so ids sort by creation time,
// the same layout as the node's own ids), then 32 hex digits from crypto.getRandomValues (so ids
// made by any number of clients never clash). Ids are assigned before the first attempt; a retry
// carries the same id, which is how the node recognises it as a duplicate.

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

const POOL_SIZE = 16 * 256;
let pool = null;
let poolPos = POOL_SIZE;

function randomHex16() {
  if (poolPos + 16 > POOL_SIZE) {
    if (!globalThis.crypto || typeof globalThis.crypto.getRandomValues !== 'function') {
      throw new Error('@wayline/client: crypto.getRandomValues is not available (needs Node 19+ or a browser)');
    }
    pool = pool || new Uint8Array(POOL_SIZE);
    globalThis.crypto.getRandomValues(pool);
    poolPos = 0;
  }
  let s = '';
  for (let i = 0; i < 16; i++) s += HEX[pool[poolPos + i]];
  poolPos += 16;
  return s;
}

let lastNs = 0n;

/**
 * Returns a new event id: 48 lowercase hex digits, time-ordered within this process.
 * @returns {string}
 */
export function newEventId() {
  let ns = BigInt(Date.now()) * 1000000n;
  if (ns <= lastNs) ns = lastNs + 1n; // strictly increasing, even within one millisecond
  lastNs = ns;
  return ns.toString(16).padStart(16, '0') + randomHex16();
}

/**
 * The UTF-8 length of a string in bytes.
 * @param {string} s
 */
export function utf8Length(s) {
  if (typeof globalThis.Buffer?.byteLength === 'function') return globalThis.Buffer.byteLength(s, 'utf8');
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) { n += 2; i++; } // a surrogate pair: 4 bytes
    else n += 2;
  }
  return n;
}
