// @wayline/client: stream events to Wayline nodes from Node.js (20+) and browsers.
export { WaylineClient, WaylineError, QueueFullError, ClosedError } from './client.js';
export { attachPageHide } from './pagehide.js';
export { newEventId } from './id.js';
