// The configuration forms' logic: turning the action and data-source forms into the API's JSON
// and back. Secrets are write-only: the API answers "••••" for one that is set, and keeps the
// stored value when an update sends "••••" or leaves it empty; so a secret is sent only when
// typed, and an edit starts from the stored resource so that fields the form does not show
// (headers, retry, signing, capping…) survive a save.

/** MASK is what the API answers in place of a secret that is set. */
export const MASK = '••••';

/** Stored is a resource as GET returned it; the server-only members are dropped before a PUT. */
export type Stored = Record<string, unknown>;

/** editBase strips what the API returns but refuses in a body (secretsSet, timestamps). */
export function editBase(r: Stored): Stored {
  const { secretsSet: _s, createdAt: _c, updatedAt: _u, ...rest } = r;
  return rest;
}

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
  /** Editing: the stored action (its version included), laid under the form's fields. */
  base?: Stored;
  /** Editing: the stored bearer token is set (an empty token field keeps it). */
  tokenSet?: boolean;
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

/** actionForm fills the form from a stored action (GET /v1/actions/{id}) for editing. */
export function actionForm(a: Stored): ActionForm {
  const f = emptyActionForm();
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const auth = a.auth as { type?: string; token?: string } | undefined;
  const plugin = a.plugin as { name?: string; version?: string } | undefined;
  const m = (a.message ?? {}) as Record<string, string>;
  return {
    ...f,
    kind: str(a.kind) || 'rest',
    id: str(a.id),
    name: str(a.name),
    method: str(a.method) || 'POST',
    url: str(a.url),
    payload: a.payload === undefined || a.payload === null ? '' : JSON.stringify(a.payload, null, 2),
    pluginName: plugin?.name ?? '',
    pluginVersion: plugin?.version ?? '',
    subject: m.subject ?? '',
    title: m.title ?? '',
    text: (a.kind === 'push' ? m.body : m.text) ?? '',
    // Masked provider secrets stay "••••" in the JSON: sent back as they are, they are kept.
    provider: a.provider ? JSON.stringify(a.provider, null, 2) : '{}',
    base: editBase(a),
    tokenSet: auth?.type === 'bearer' && auth.token === MASK,
  };
}

/** actionBody builds POST /v1/actions's body (or, editing, PUT's, over the stored action). */
export function actionBody(f: ActionForm): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(f.base ?? {}), id: f.id.trim(), name: f.name.trim(), kind: f.kind };
  switch (f.kind) {
    case 'rest':
      out.method = f.method;
      out.url = f.url.trim();
      // A typed token replaces the stored one; none keeps the stored auth (masked: the API
      // restores it), whatever its type.
      if (f.token) out.auth = { type: 'bearer', token: f.token };
      else if (!f.base?.auth) delete out.auth;
      if (f.payload.trim()) out.payload = parseJSONField(f.payload, 'payload');
      else delete out.payload;
      break;
    case 'plugin': {
      const old = (f.base?.plugin ?? {}) as Record<string, unknown>;
      const plugin: Record<string, unknown> = { ...old, name: f.pluginName.trim() };
      if (f.pluginVersion.trim()) plugin.version = f.pluginVersion.trim();
      else delete plugin.version;
      out.plugin = plugin;
      break;
    }
    default: {
      const m: Record<string, string> = { ...((f.base?.message ?? {}) as Record<string, string>) };
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
      else delete out.provider;
    }
  }
  return out;
}

/** SourceForm is the data-source form. */
export interface SourceForm {
  id: string;
  name: string;
  kind: string;
  plugin: string;
  baseUrl: string;
  token: string;
  groups: string;
  cacheTtl: string;
  base?: Stored;
  tokenSet?: boolean;
}

export function emptySourceForm(): SourceForm {
  return { id: '', name: '', kind: 'plugin', plugin: '', baseUrl: '', token: '', groups: '[{"name": "main"}]', cacheTtl: '1m' };
}

/** sourceForm fills the form from a stored data source for editing. */
export function sourceForm(d: Stored): SourceForm {
  const rest = d.rest as { baseUrl?: string; auth?: { type?: string; token?: string } } | undefined;
  return {
    id: String(d.id ?? ''),
    name: String(d.name ?? ''),
    kind: String(d.kind ?? 'plugin'),
    plugin: (d.plugin as { name?: string } | undefined)?.name ?? '',
    baseUrl: rest?.baseUrl ?? '',
    token: '',
    groups: JSON.stringify(d.groups ?? [], null, 2),
    cacheTtl: String(d.cacheTtl ?? ''),
    base: editBase(d),
    tokenSet: rest?.auth?.type === 'bearer' && rest.auth.token === MASK,
  };
}

/** sourceBody builds the data source's JSON (editing: over the stored one). */
export function sourceBody(f: SourceForm): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(f.base ?? {}), id: f.id.trim(), name: f.name.trim(), kind: f.kind, cacheTtl: f.cacheTtl, groups: parseJSONField(f.groups, 'groups') };
  if (f.kind === 'plugin') {
    // The pinned version belongs to the stored plugin: a different plugin starts at its latest.
    const old = (f.base?.plugin ?? {}) as Record<string, unknown>;
    out.plugin = old.name === f.plugin.trim() ? { ...old } : { name: f.plugin.trim() };
    delete out.rest;
  } else {
    const old = (f.base?.rest ?? {}) as Record<string, unknown>;
    const rest: Record<string, unknown> = { ...old, baseUrl: f.baseUrl.trim() };
    if (f.token) rest.auth = { type: 'bearer', token: f.token };
    out.rest = rest;
    delete out.plugin;
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
