// Type definitions for @wayline/client (hand-written; the code is plain ES modules in src/).

/** An event as the node takes it at POST /v1/events. */
export interface WaylineEvent {
  /** Made by the client when absent (48 hex digits, time-ordered): a retry carries the same id. At most 128 of [A-Za-z0-9._:-]. */
  id?: string;
  /** The event definition's name, e.g. "signup". */
  type: string;
  /** RFC 3339; stamped with the time the event was made when absent (option stampTime). */
  timestamp?: string;
  /** "namespace:value" or "value"; usually left out: the node reads it from the definition's identityField. */
  identity?: string;
  /** The event's fields, validated against the definition's JSON schema. */
  data?: Record<string, unknown>;
  /** A test event (test profiles only). */
  test?: boolean;
}

/** An event after the client prepared it: it always has an id. */
export type PreparedEvent = WaylineEvent & { id: string };

/** One API error, as the node reports it. */
export interface WaylineApiError {
  /** Stable snake_case code: invalid_event, unknown_event_type, unauthenticated, rate_limited, unavailable, ...; client-side: network_error, timeout, queue_full. */
  code: string;
  /** What went wrong and what to do. */
  message: string;
  /** The path of the field concerned, e.g. "data.userId" (JSON arrays: "[3].data.userId"). */
  field?: string;
  /** All errors, when the node reported several for the event. */
  errors?: Array<{ code: string; message: string; field?: string }>;
}

/**
 * The final outcome of one event.
 * - accepted: stored (durably) — acknowledged
 * - duplicate: an event with this id was already stored (a retry): acknowledged
 * - not_qualified: stored, but its definition's qualifying expression was false: acknowledged
 * - rejected: refused for good (invalid, unknown type, not allowed); never retried
 * - failed: not stored after maxAttempts (network errors, 429, 5xx, node shutting down)
 * - dropped: removed from a full queue (overflow 'drop-oldest'); never sent
 * - beaconed: handed to navigator.sendBeacon on page hide; the outcome is unknown
 */
export type EventStatus = 'accepted' | 'duplicate' | 'not_qualified' | 'rejected' | 'failed' | 'dropped' | 'beaconed';

export interface EventResult {
  id: string;
  status: EventStatus;
  error?: WaylineApiError;
}

/** What the client needs of fetch: the global fetch of Node 20+ and browsers fits. */
export type FetchLike = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; body?: any; signal?: any; keepalive?: boolean },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export interface WaylineClientOptions {
  /** Node base URLs, e.g. ["http://127.0.0.1:8080"]. With several, the one with the lowest GET /readyz latency is used and the others take over on network errors and 503. */
  urls?: string[];
  /** Shorthand for urls: [url]. */
  url?: string;
  /** API key with the ingest (or editor, admin) role, sent as "Authorization: Bearer KEY". Leave it out in browsers: public event types need none. */
  apiKey?: string;
  /** Most events per request. Default 500 (at most 1000 with format 'json'). */
  batchSize?: number;
  /** Most bytes of events per request. Default 512 KiB. */
  batchBytes?: number;
  /** How long a partial batch waits for more events, in ms. Default 5. */
  lingerMs?: number;
  /** Most events waiting in the queue (not counting the batches in flight). Default 10000. */
  queueSize?: number;
  /** What enqueue() does when the queue is full. Default 'block'. */
  overflow?: 'block' | 'drop-oldest' | 'error';
  /** Attempts per event, the first included. Default 8. */
  maxAttempts?: number;
  /** Base of the exponential backoff between attempts, in ms; full jitter. Default 100. */
  backoffMs?: number;
  /** Cap of one backoff, in ms. Default 5000. */
  maxBackoffMs?: number;
  /** Deadline of one request (answer included), in ms. Default 30000. */
  timeoutMs?: number;
  /** Most batches in flight from the queue (and parallel requests of one sendBatch). Default 4. */
  concurrency?: number;
  /** Body of batch requests: 'ndjson' (default; per-line answers) or 'json' (an array). */
  format?: 'ndjson' | 'json';
  /** Stamp events that have no timestamp with the time they were made. Default true. */
  stampTime?: boolean;
  /** How often node latencies are measured again (lazily, on use), in ms; 0: never. Default 30000. */
  probeIntervalMs?: number;
  /** Deadline of one GET /readyz probe, in ms. Default 2000. */
  probeTimeoutMs?: number;
  /** Take the node list from GET /v1/cluster (members or nodes; apiUrl, url or apiURL) each time nodes are probed. Default false. */
  discover?: boolean;
  /** Called once per event with its final result (from enqueue, send and sendBatch). Errors it throws are ignored. */
  onResult?: (event: PreparedEvent, result: EventResult) => void;
  /** The fetch to use; default globalThis.fetch (keep-alive is on by default in Node's fetch). */
  fetch?: FetchLike;
}

export interface ClientStats {
  /** Events put in requests, every attempt counted (beacons included). */
  sent: number;
  /** Events acknowledged: accepted, duplicate or not_qualified. */
  acked: number;
  /** Of acked: answered as duplicates (a retry of something already stored). */
  duplicates: number;
  /** Of acked: stored but not qualified. */
  notQualified: number;
  /** Events sent again after a retryable failure. */
  retried: number;
  /** Events removed from a full queue (overflow 'drop-oldest'). */
  dropped: number;
  /** Events refused for good. */
  rejected: number;
  /** Events given up on after maxAttempts. */
  failed: number;
  /** Events handed to navigator.sendBeacon. */
  beaconed: number;
  /** Events waiting in the queue now (blocked enqueue() calls included). */
  queued: number;
  /** Events in requests now. */
  inFlight: number;
}

export interface NodeInfo {
  url: string;
  /** Last measured GET /readyz latency (Infinity: not measured or not reachable). */
  latencyMs: number;
  /** false while the client avoids it after a network error or 503. */
  up: boolean;
}

export interface BeaconOptions {
  /** Default globalThis.navigator. */
  navigator?: { sendBeacon?(url: string, data?: any): boolean };
  /** Use sendBeacon; default: only when the client has no apiKey (a beacon cannot carry it). Otherwise fetch with keepalive: true. */
  useBeacon?: boolean;
  /** Largest beacon body in bytes; default 60000 (browsers allow 64 KiB in flight). */
  maxBytes?: number;
}

/** What the client needs of an event target (a window or document). */
export interface EventTargetLike {
  addEventListener(type: string, listener: (event: any) => void): void;
  removeEventListener(type: string, listener: (event: any) => void): void;
}

export interface PageHideOptions extends BeaconOptions {
  /** Where 'pagehide' is listened for; default globalThis.window. */
  window?: EventTargetLike;
  /** Where 'visibilitychange' is listened for; default globalThis.document. */
  document?: EventTargetLike & { visibilityState?: string };
}

export class WaylineClient {
  constructor(options: WaylineClientOptions);
  /** Sends one event in its own request, retrying retryable failures. Never rejects for an event's outcome: see the result's status. */
  send(event: WaylineEvent): Promise<EventResult>;
  /** Sends events in batches (split by batchSize and batchBytes), with retries; one result per event, in order. */
  sendBatch(events: WaylineEvent[]): Promise<EventResult[]>;
  /**
   * Queues an event for batched delivery; resolves with its id once queued. When the queue is
   * full: 'block' waits for room, 'drop-oldest' drops the oldest queued event (result 'dropped'),
   * 'error' rejects with QueueFullError. Results arrive through onResult.
   */
  enqueue(event: WaylineEvent): Promise<string>;
  /** Resolves when every event enqueued before the call has a final result. */
  flush(): Promise<void>;
  /** Stops taking events, delivers what is queued, resolves with the final stats. */
  close(): Promise<ClientStats>;
  stats(): ClientStats;
  /** The nodes, fastest first. */
  nodes(): NodeInfo[];
  /** Measures every node's GET /readyz latency now. */
  probe(): Promise<void>;
  /** Replaces the node list with the live members GET /v1/cluster lists; false (list kept) when there is no such endpoint, it fails, or nothing changed. */
  refreshNodes(): Promise<boolean>;
  /** Hands everything queued (and in flight) to sendBeacon, or fetch with keepalive; returns how many events. */
  beacon(options?: BeaconOptions): number;
}

export class WaylineError extends Error {
  code: string;
}
export class QueueFullError extends WaylineError {
  code: 'queue_full';
}
export class ClosedError extends WaylineError {
  code: 'closed';
}

/**
 * Browser: on 'pagehide' and on 'visibilitychange' to hidden, sends what is queued with
 * navigator.sendBeacon (NDJSON, unauthenticated: public event types only) or fetch with
 * keepalive. Returns a function that removes the listeners.
 */
export function attachPageHide(client: WaylineClient, options?: PageHideOptions): () => void;

/** A new event id: 16 hex digits of the time in ns, then 32 random hex digits. */
export function newEventId(): string;
