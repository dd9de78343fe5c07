// Configuration screens for technical users: custom actions (REST, plugin, email/SMS/push) with
// a test call (a real "send test" for channels), data sources, API keys and the event debugger.
// Actions and data sources are edited in the same forms, saved with their revision. Secrets are
// write-only: the API answers "••••" for one that is set, the forms show "set" and never the
// value, and an empty secret field keeps the stored one.
import { useCallback, useEffect, useState } from 'react';
import { ApiError, del, errorText, get, post, put } from '../api';
import { allows, type Me } from '../model';
import {
  actionBody,
  actionForm,
  type ActionForm,
  emptyActionForm,
  emptySourceForm,
  flattenRecent,
  parseJSONField,
  type RecentByType,
  type RecentEvent,
  sourceBody,
  sourceForm,
  type SourceForm,
  type Stored,
} from '../config';

function useList<T>(path: string): [T[], () => void, string] {
  const [items, setItems] = useState<T[]>([]);
  const [error, setError] = useState('');
  const load = useCallback(() => {
    get<{ items: T[] }>(path)
      .then((r) => {
        setItems(r.items ?? []);
        setError('');
      })
      .catch((e) => setError(errorText(e)));
  }, [path]);
  useEffect(load, [load]);
  return [items, load, error];
}

function Alert({ text }: { text: string }) {
  return text ? (
    <p role="alert" className="error">
      {text}
    </p>
  ) : null;
}

// --- actions -------------------------------------------------------------------------------------

interface ActionRow {
  id: string;
  name: string;
  kind?: string;
  method?: string;
  url?: string;
  plugin?: { name: string; version?: string };
}

export function Actions({ me }: { me: Me }) {
  const [items, reload, listError] = useList<ActionRow>('/v1/actions?limit=1000');
  const [form, setForm] = useState<ActionForm | null>(null);
  const [error, setError] = useState('');
  const [result, setResult] = useState<{ id: string; text: string } | null>(null);
  const [preview, setPreview] = useState<{ profileId: string; text: string }>({ profileId: '', text: '' });
  const [sample, setSample] = useState('{"event": {"data": {"userId": "u1"}}, "profile": {"attributes": {}}}');
  // The channel action whose "send test" form is open, and its recipient.
  const [sendTo, setSendTo] = useState<{ id: string; to: string; profileId: string } | null>(null);
  const canEdit = allows(me.role, 'editor');
  const set = (p: Partial<ActionForm>) => setForm((f) => (f ? { ...f, ...p } : f));
  const editing = !!form?.base;

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!form) return;
    setError('');
    try {
      if (form.base) {
        // The revision read goes with the update: a change made meanwhile answers 409.
        await put(`/v1/actions/${encodeURIComponent(form.id)}`, actionBody(form), { 'If-Match': String(form.base.version ?? 0) });
      } else {
        await post('/v1/actions', actionBody(form));
      }
      setForm(null);
      reload();
    } catch (err) {
      setError(errorText(err) + (err instanceof ApiError && err.status === 409 ? '\nReload the action (Edit again) and reapply your change.' : ''));
    }
  };
  const edit = async (id: string) => {
    setError('');
    try {
      setForm(actionForm(await get<Stored>(`/v1/actions/${encodeURIComponent(id)}`)));
    } catch (err) {
      setError(errorText(err));
    }
  };
  const sendTest = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!sendTo) return;
    const { id, to, profileId } = sendTo;
    setResult({ id, text: 'Sending…' });
    try {
      const s = (parseJSONField(sample, 'sample') ?? {}) as Record<string, unknown>;
      const body = { ...s, ...(to.trim() ? { to: to.trim() } : {}), ...(profileId.trim() ? { profileId: profileId.trim() } : {}) };
      const r = await post(`/v1/actions/${encodeURIComponent(id)}/test`, body);
      setResult({ id, text: JSON.stringify(r, null, 2) });
    } catch (err) {
      setResult({ id, text: err instanceof ApiError && err.status === 502 ? errorText(err) + ' (the provider refused or could not be reached)' : errorText(err) });
    }
  };
  const test = async (id: string) => {
    setResult({ id, text: 'Calling…' });
    try {
      const r = await post(`/v1/actions/${encodeURIComponent(id)}/test`, parseJSONField(sample, 'sample'));
      setResult({ id, text: JSON.stringify(r, null, 2) });
    } catch (err) {
      setResult({ id, text: errorText(err) });
    }
  };
  const remove = async (id: string) => {
    try {
      await del(`/v1/actions/${encodeURIComponent(id)}`);
      reload();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const channel = form && ['email', 'sms', 'push'].includes(form.kind);
  // POST /v1/messages/preview renders the message for a profile without sending it.
  const showPreview = async () => {
    if (!form) return;
    try {
      const body = actionBody(form);
      const r = await post('/v1/messages/preview', { kind: form.kind, message: body.message, ...(preview.profileId ? { profileId: preview.profileId } : {}) });
      setPreview({ ...preview, text: JSON.stringify(r, null, 2) });
    } catch (err) {
      setPreview({ ...preview, text: errorText(err) });
    }
  };
  return (
    <section className="page">
      <h1>Actions</h1>
      <Alert text={listError} />
      {canEdit && !form && (
        <button type="button" className="primary" onClick={() => setForm(emptyActionForm())}>
          New action
        </button>
      )}
      {form && (
        <form className="card" onSubmit={save} aria-label={editing ? `Edit action ${form.id}` : 'New action'}>
          {editing && <h2>Edit action {form.id}</h2>}
          <label>
            Kind
            <select value={form.kind} onChange={(e) => set({ kind: e.target.value })} disabled={editing}>
              <option value="rest">REST call</option>
              <option value="plugin">Plugin</option>
              <option value="email">Email</option>
              <option value="sms">SMS</option>
              <option value="push">Push</option>
            </select>
          </label>
          <label>
            Action id
            <input value={form.id} onChange={(e) => set({ id: e.target.value })} required readOnly={editing} />
          </label>
          <label>
            Action name
            <input value={form.name} onChange={(e) => set({ name: e.target.value })} required />
          </label>
          {form.kind === 'rest' && (
            <>
              <label>
                Method
                <select value={form.method} onChange={(e) => set({ method: e.target.value })}>
                  {['POST', 'PUT', 'PATCH', 'GET', 'DELETE'].map((m) => (
                    <option key={m}>{m}</option>
                  ))}
                </select>
              </label>
              <label>
                URL
                <input value={form.url} onChange={(e) => set({ url: e.target.value })} placeholder="https://api.example.com/hooks/{{ event.data.userId }}" required />
              </label>
              <label>
                Bearer token (write-only){form.tokenSet && <span className="badge"> set</span>}
                <input
                  type="password"
                  autoComplete="off"
                  value={form.token}
                  onChange={(e) => set({ token: e.target.value })}
                  placeholder={form.tokenSet ? 'set: leave empty to keep it, type to replace it' : 'stored, never shown again'}
                />
              </label>
              <label>
                Payload template (JSON)
                <textarea rows={4} value={form.payload} onChange={(e) => set({ payload: e.target.value })} />
              </label>
            </>
          )}
          {form.kind === 'plugin' && (
            <>
              <label>
                Plugin name
                <input value={form.pluginName} onChange={(e) => set({ pluginName: e.target.value })} required />
              </label>
              <label>
                Plugin version
                <input value={form.pluginVersion} onChange={(e) => set({ pluginVersion: e.target.value })} placeholder="the latest" />
              </label>
            </>
          )}
          {channel && (
            <fieldset>
              <legend>Message</legend>
              {form.kind === 'email' && (
                <label>
                  Subject
                  <input value={form.subject} onChange={(e) => set({ subject: e.target.value })} />
                </label>
              )}
              {form.kind === 'push' && (
                <label>
                  Title
                  <input value={form.title} onChange={(e) => set({ title: e.target.value })} />
                </label>
              )}
              <label>
                {form.kind === 'push' ? 'Body' : 'Text'}
                <textarea rows={4} value={form.text} onChange={(e) => set({ text: e.target.value })} placeholder="Hi {{ profile.attributes.firstName }}" />
              </label>
              <p className="hint">Templates use CEL between {'{{ }}'}: event, profile, vars, ds.</p>
              <label>
                Preview for profile
                <input value={preview.profileId} onChange={(e) => setPreview({ ...preview, profileId: e.target.value })} placeholder="email:ada@example.com (optional)" />
              </label>
              <button type="button" onClick={showPreview}>
                Preview message
              </button>
              {preview.text && <pre data-testid="message-preview">{preview.text}</pre>}
              <label>
                Provider settings (JSON; passwords and tokens are write-only: "••••" means set and is kept)
                <textarea rows={4} value={form.provider} onChange={(e) => set({ provider: e.target.value })} />
              </label>
            </fieldset>
          )}
          <Alert text={error} />
          <div className="actions">
            <button type="submit" className="primary">
              {editing ? 'Save action' : 'Create action'}
            </button>
            <button type="button" onClick={() => setForm(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <table className="list">
        <thead>
          <tr>
            <th>Id</th>
            <th>Name</th>
            <th>Kind</th>
            <th>Target</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {items.map((a) => (
            <tr key={a.id}>
              <td>{a.id}</td>
              <td>{a.name}</td>
              <td>{a.kind || 'rest'}</td>
              <td>{a.plugin ? `${a.plugin.name}@${a.plugin.version ?? 'latest'}` : a.url ? `${a.method} ${a.url}` : ''}</td>
              <td>
                {canEdit && (
                  <>
                    <button type="button" onClick={() => edit(a.id)} aria-label={`Edit ${a.id}`}>
                      Edit
                    </button>
                    {['email', 'sms', 'push'].includes(a.kind ?? '') ? (
                      <button type="button" onClick={() => setSendTo({ id: a.id, to: '', profileId: '' })} aria-label={`Send test ${a.id}`}>
                        Send test
                      </button>
                    ) : (
                      <button type="button" onClick={() => test(a.id)} aria-label={`Test call ${a.id}`}>
                        Test call
                      </button>
                    )}
                    <button type="button" className="danger" onClick={() => remove(a.id)} aria-label={`Delete ${a.id}`}>
                      Delete
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {items.length > 0 && canEdit && (
        <label>
          Sample for test calls (JSON: event, profile, vars)
          <textarea rows={2} value={sample} onChange={(e) => setSample(e.target.value)} />
        </label>
      )}
      {sendTo && canEdit && (
        <form className="card inline" onSubmit={sendTest} aria-label={`Send test ${sendTo.id}`}>
          <h2>Send test: {sendTo.id}</h2>
          <p className="hint">Sends one real message through the action's provider, rendered with the sample above. A profile must have consent for the channel; an address typed here is sent to as is.</p>
          <label>
            Recipient address
            <input value={sendTo.to} onChange={(e) => setSendTo({ ...sendTo, to: e.target.value })} placeholder="you@example.com, +15550100 or a push token" />
          </label>
          <label>
            or profile id
            <input value={sendTo.profileId} onChange={(e) => setSendTo({ ...sendTo, profileId: e.target.value })} placeholder="user:42" />
          </label>
          <button type="submit" className="primary">
            Send
          </button>
          <button type="button" onClick={() => setSendTo(null)}>
            Close
          </button>
        </form>
      )}
      {result && (
        <section aria-label="Test call result">
          <h2>Test call: {result.id}</h2>
          <pre data-testid="action-test-result">{result.text}</pre>
        </section>
      )}
    </section>
  );
}

// --- data sources --------------------------------------------------------------------------------

interface SourceRow {
  id: string;
  name: string;
  kind: string;
  groups?: { name: string }[];
  plugin?: { name: string; version?: string };
  rest?: { baseUrl: string };
}

export function DataSources({ me }: { me: Me }) {
  const [items, reload, listError] = useList<SourceRow>('/v1/data-sources?limit=1000');
  const [open, setOpen] = useState(false);
  const [f, setF] = useState<SourceForm>(emptySourceForm());
  const [error, setError] = useState('');
  const canEdit = allows(me.role, 'editor');
  const editing = !!f.base;
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setError('');
    try {
      if (f.base) await put(`/v1/data-sources/${encodeURIComponent(f.id)}`, sourceBody(f), { 'If-Match': String(f.base.version ?? 0) });
      else await post('/v1/data-sources', sourceBody(f));
      setOpen(false);
      reload();
    } catch (err) {
      setError(errorText(err) + (err instanceof ApiError && err.status === 409 ? '\nReload the data source (Edit again) and reapply your change.' : ''));
    }
  };
  const edit = async (id: string) => {
    setError('');
    try {
      setF(sourceForm(await get<Stored>(`/v1/data-sources/${encodeURIComponent(id)}`)));
      setOpen(true);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <section className="page">
      <h1>Data sources</h1>
      <Alert text={listError} />
      {canEdit && !open && (
        <button type="button" className="primary" onClick={() => (setF(emptySourceForm()), setOpen(true))}>
          New data source
        </button>
      )}
      {open && (
        <form className="card" onSubmit={save} aria-label={editing ? `Edit data source ${f.id}` : 'New data source'}>
          {editing && <h2>Edit data source {f.id}</h2>}
          <label>
            Source id
            <input value={f.id} onChange={(e) => setF({ ...f, id: e.target.value })} required readOnly={editing} />
          </label>
          <label>
            Source name
            <input value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} required />
          </label>
          <label>
            Kind
            <select value={f.kind} onChange={(e) => setF({ ...f, kind: e.target.value })} disabled={editing}>
              <option value="plugin">Plugin adapter</option>
              <option value="rest">REST endpoint</option>
            </select>
          </label>
          {f.kind === 'plugin' ? (
            <label>
              Plugin name
              <input value={f.plugin} onChange={(e) => setF({ ...f, plugin: e.target.value })} required />
            </label>
          ) : (
            <>
              <label>
                Base URL
                <input value={f.baseUrl} onChange={(e) => setF({ ...f, baseUrl: e.target.value })} required />
              </label>
              <label>
                Bearer token (write-only){f.tokenSet && <span className="badge"> set</span>}
                <input
                  type="password"
                  autoComplete="off"
                  value={f.token}
                  onChange={(e) => setF({ ...f, token: e.target.value })}
                  placeholder={f.tokenSet ? 'set: leave empty to keep it, type to replace it' : ''}
                />
              </label>
            </>
          )}
          <label>
            Cache TTL
            <input value={f.cacheTtl} onChange={(e) => setF({ ...f, cacheTtl: e.target.value })} />
          </label>
          <label>
            Field groups (JSON)
            <textarea rows={4} value={f.groups} onChange={(e) => setF({ ...f, groups: e.target.value })} />
          </label>
          <Alert text={error} />
          <div className="actions">
            <button type="submit" className="primary">
              {editing ? 'Save data source' : 'Create data source'}
            </button>
            <button type="button" onClick={() => setOpen(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <table className="list">
        <thead>
          <tr>
            <th>Id</th>
            <th>Name</th>
            <th>Kind</th>
            <th>Groups</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {items.map((d) => (
            <tr key={d.id}>
              <td>{d.id}</td>
              <td>{d.name}</td>
              <td>{d.kind === 'plugin' ? `plugin ${d.plugin?.name ?? ''}` : `rest ${d.rest?.baseUrl ?? ''}`}</td>
              <td>{(d.groups ?? []).map((g) => g.name).join(', ')}</td>
              <td>
                {canEdit && (
                  <button type="button" onClick={() => edit(d.id)} aria-label={`Edit ${d.id}`}>
                    Edit
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

// --- API keys ------------------------------------------------------------------------------------

interface KeyRow {
  id: string;
  name: string;
  role: string;
  prefix: string;
  createdAt: string;
}

export function Keys() {
  const [items, reload, listError] = useList<KeyRow>('/v1/keys?limit=1000');
  const [name, setName] = useState('');
  const [role, setRole] = useState('ingest');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState('');
  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    setError('');
    try {
      const k = await post<{ key: string }>('/v1/keys', { name, role });
      setSecret(k.key);
      setName('');
      reload();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const remove = async (id: string) => {
    try {
      await del(`/v1/keys/${encodeURIComponent(id)}`);
      reload();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <section className="page">
      <h1>API keys</h1>
      <Alert text={listError} />
      <form className="inline" onSubmit={create} aria-label="New API key">
        <label>
          Key name
          <input value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value)}>
            {['ingest', 'viewer', 'editor', 'admin'].map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary">
          Create key
        </button>
      </form>
      {secret && (
        <p className="ok" role="status">
          Copy this key now; it is not shown again: <code data-testid="new-key">{secret}</code>
        </p>
      )}
      <Alert text={error} />
      <table className="list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Role</th>
            <th>Starts with</th>
            <th>Created</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {items.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td>{k.role}</td>
              <td>
                <code>{k.prefix}…</code>
              </td>
              <td>{new Date(k.createdAt).toLocaleString()}</td>
              <td>
                <button type="button" className="danger" onClick={() => remove(k.id)} aria-label={`Delete key ${k.name}`}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

// --- event debugger ------------------------------------------------------------------------------

export function EventDebugger() {
  const [items, setItems] = useState<RecentEvent[]>([]);
  const [error, setError] = useState('');
  const [only, setOnly] = useState('');
  useEffect(() => {
    let stop = false;
    const load = () =>
      get<{ items: RecentByType[] }>('/v1/events/recent')
        .then((r) => !stop && (setItems(flattenRecent(r.items ?? [])), setError('')))
        .catch((e) => !stop && setError(errorText(e)));
    load();
    const h = setInterval(load, 3000);
    return () => {
      stop = true;
      clearInterval(h);
    };
  }, []);
  const shown = only ? items.filter((e) => e.status === only) : items;
  return (
    <section className="page">
      <h1>Event debugger</h1>
      <p className="hint">The most recent events this node received, accepted or rejected, with each rejection's reason. Refreshes every 3 seconds.</p>
      <label>
        Show
        <select value={only} onChange={(e) => setOnly(e.target.value)}>
          <option value="">all</option>
          <option value="accepted">accepted</option>
          <option value="rejected">rejected</option>
        </select>
      </label>
      <Alert text={error} />
      <table className="list" data-testid="recent-events">
        <thead>
          <tr>
            <th>At</th>
            <th>Type</th>
            <th>Status</th>
            <th>Profile</th>
            <th>Reason / data</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((e, i) => (
            <tr key={(e.id ?? '') + i} className={e.status === 'rejected' ? 'error' : ''}>
              <td>{new Date(e.at).toLocaleTimeString(undefined, { hour12: false })}</td>
              <td>{e.type}</td>
              <td>{e.status}</td>
              <td>{e.identity ?? ''}</td>
              <td>{e.error ? `${e.error.field ? e.error.field + ': ' : ''}${e.error.message} (${e.error.code})` : <code>{JSON.stringify(e.data ?? {})}</code>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
