// Package client sends events to Wayline nodes: one at a time (Send), as JSON batches
// (SendBatch), or streamed through a bounded in-memory queue that is batched and sent as NDJSON
// (Enqueue, Flush, Close).
//
// How an event flows:
//
//  1. Every event gets an id before its first attempt (a time-ordered random hex string, unless
//     the caller set one). The node de-duplicates by id, so any retry is safe: an event sent
//     twice is stored once and answered "duplicate" the second time.
//  2. Streaming: Enqueue puts the encoded event in the queue; a batcher takes events out by
//     count (BatchSize), bytes (BatchBytes) or time (Linger) and hands each batch to one of
//     Concurrency senders. When the queue is full, Overflow decides: wait, drop the oldest
//     queued event, or return ErrQueueFull.
//  3. A sender posts the batch to the node with the lowest measured latency. Per-event answers
//     map back to the events: accepted, duplicate and not_qualified are acknowledged; rejected
//     events are final (bad input does not get better by retrying); failed events, rate
//     limits, 5xx answers and network errors are retried with exponential backoff and full
//     jitter, up to MaxAttempts. A network error or 503 marks the node down and the retry goes
//     to the next one; down nodes are probed in the background and come back when they answer.
//  4. The outcome of each streamed event reaches Config.OnResult and the counters of Stats;
//     Flush waits for the outcome of everything enqueued before it.
//
// A Client is safe for concurrent use.
package client
