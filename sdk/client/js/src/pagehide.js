// Browser helper: deliver what is queued when the page is hidden or unloaded.

/**
 * Calls client.beacon() when the page is hidden (`visibilitychange` to `hidden`) or unloaded
 * (`pagehide`). Returns a function that removes the listeners.
 *
 * navigator.sendBeacon cannot send an Authorization header, so beacons suit public event
 * types only; a client made with an apiKey uses fetch with keepalive instead (see the README).
 *
 * @param {import('./client.js').WaylineClient} client
 * @param {{window?: EventTarget, document?: EventTarget & {visibilityState?: string}, navigator?: any, useBeacon?: boolean, maxBytes?: number}} [options]
 */
export function attachPageHide(client, options = {}) {
  const win = options.window ?? globalThis.window ?? globalThis;
  const doc = options.document ?? globalThis.document;
  const send = () => client.beacon({ navigator: options.navigator, useBeacon: options.useBeacon, maxBytes: options.maxBytes });
  const onPageHide = () => send();
  const onVisibility = () => {
    if (doc && doc.visibilityState === 'hidden') send();
  };
  win?.addEventListener?.('pagehide', onPageHide);
  doc?.addEventListener?.('visibilitychange', onVisibility);
  return () => {
    win?.removeEventListener?.('pagehide', onPageHide);
    doc?.removeEventListener?.('visibilitychange', onVisibility);
  };
}
