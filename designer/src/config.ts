// The configuration forms' logic: turning the action form into the API's JSON (secrets are
// sent only when typed: the API never returns them).

export interface ActionForm {
  kind: string;
  id: string;
  name: string;
  method: string;
  url: string;
  token: string;
  payload: string;
  pluginName: string;
  pluginVersion: string;
  subject: string;
  title: string;
  text: string;
  provider: string;
}

export function emptyActionForm(): ActionForm {
  return { kind: 'rest', id: '', name: '', method: 'POST', url: '', token: '', payload: '{\n  "user": "{{ event.data.userId }}"\n}', pluginName: '', pluginVersion: '', subject: '', title: '', text: '', provider: '{}' };
}

/** parseJSONField parses a JSON text area, naming it in the error. */
export function parseJSONField(text: string, field: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${field}: not valid JSON (${(e as Error).message})`);
  }
}

/** actionBody builds POST /v1/actions's body from the form. */
export function actionBody(f: ActionForm): Record<string, unknown> {
  const out: Record<string, unknown> = { id: f.id.trim(), name: f.name.trim(), kind: f.kind };
  switch (f.kind) {
    case 'rest':
      out.method = f.method;
      out.url = f.url.trim();
      if (f.token) out.auth = { type: 'bearer', token: f.token };
      if (f.payload.trim()) out.payload = parseJSONField(f.payload, 'payload');
      break;
    case 'plugin':
      out.plugin = { name: f.pluginName.trim(), ...(f.pluginVersion.trim() ? { version: f.pluginVersion.trim() } : {}) };
      break;
    default: {
      const m: Record<string, string> = {};
      if (f.kind === 'email') {
        m.subject = f.subject;
        m.text = f.text;
      } else if (f.kind === 'sms') m.text = f.text;
      else {
        m.title = f.title;
        m.body = f.text;
      }
      out.message = m;
      const p = parseJSONField(f.provider, 'provider');
      if (p && Object.keys(p as object).length) out.provider = p;
    }
  }
  return out;
}

/** RecentEvent is one event the debugger lists. */
export interface RecentEvent {
  at: string;
  id?: string;
  type: string;
  status: string;
  identity?: string;
  data?: Record<string, unknown>;
  error?: { code: string; message: string; field?: string };
}

/** RecentByType is GET /v1/events/recent's item: the last accepted and rejected of one type. */
export interface RecentByType {
  type: string;
  accepted?: RecentEvent[];
  rejected?: RecentEvent[];
}

/** flattenRecent merges the per-type rings into one list, newest first. */
export function flattenRecent(items: RecentByType[]): RecentEvent[] {
  return items.flatMap((t) => [...(t.accepted ?? []), ...(t.rejected ?? [])]).sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
}
