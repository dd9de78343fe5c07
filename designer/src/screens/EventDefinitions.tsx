import { useEffect, useState } from 'react';
import { errorText, get, post } from '../api';
import { allows, type EventDefinition, type Me } from '../model';
import { curlSnippet, samplePayload, toSchema, type FieldRow } from '../schema';

export function EventDefinitions({ me }: { me: Me }) {
  const [items, setItems] = useState<EventDefinition[] | null>(null);
  const [error, setError] = useState('');
  const [creating, setCreating] = useState(false);
  const reload = () =>
    get<{ items: EventDefinition[] }>('/v1/event-definitions?limit=1000')
      .then((r) => setItems(r.items))
      .catch((e) => setError(errorText(e)));
  useEffect(() => {
    reload();
  }, []);
  return (
    <section className="page">
      <div className="page-head">
        <h1>Event definitions</h1>
        {allows(me.role, 'editor') && !creating && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New event definition
          </button>
        )}
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      {creating && (
        <SchemaBuilder
          onDone={() => {
            setCreating(false);
            reload();
          }}
        />
      )}
      {items && items.length === 0 && <p className="empty">No event definitions yet.</p>}
      {items && items.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th>Name</th>
              <th>Identity</th>
              <th>Fields</th>
              <th>Public</th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.name}>
                <td>{d.name}</td>
                <td>
                  {d.identityNamespace}:&lt;{d.identityField}&gt;
                </td>
                <td>{Object.keys(((d.schema as { properties?: object }) ?? {}).properties ?? {}).join(', ') || 'any'}</td>
                <td>{d.public ? 'yes' : 'no'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function SchemaBuilder({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState('');
  const [namespace, setNamespace] = useState('user');
  const [identity, setIdentity] = useState('userId');
  const [isPublic, setPublic] = useState(false);
  const [rows, setRows] = useState<FieldRow[]>([{ name: 'userId', type: 'string', required: true }]);
  const [error, setError] = useState('');
  const upd = (i: number, patch: Partial<FieldRow>) => setRows(rows.map((r, k) => (k === i ? { ...r, ...patch } : r)));
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError('');
    try {
      await post('/v1/event-definitions', { name, identityField: identity, identityNamespace: namespace, public: isPublic, schema: toSchema(rows) });
      onDone();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="New event definition">
      <div className="row">
        <label>
          Event name
          <input name="name" value={name} onChange={(e) => setName(e.target.value)} placeholder="user.signup" required />
        </label>
        <label>
          Identity namespace
          <input name="namespace" value={namespace} onChange={(e) => setNamespace(e.target.value)} required />
        </label>
        <label>
          <input type="checkbox" checked={isPublic} onChange={(e) => setPublic(e.target.checked)} /> Public (no API key, rate-limited)
        </label>
      </div>
      <table className="list fields">
        <thead>
          <tr>
            <th>Field</th>
            <th>Type</th>
            <th>Required</th>
            <th>Identity</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td>
                <input aria-label={`Field ${i + 1} name`} value={r.name} onChange={(e) => upd(i, { name: e.target.value })} />
              </td>
              <td>
                <select aria-label={`Field ${i + 1} type`} value={r.type} onChange={(e) => upd(i, { type: e.target.value as FieldRow['type'] })}>
                  <option>string</option>
                  <option>number</option>
                  <option>integer</option>
                  <option>boolean</option>
                </select>
              </td>
              <td>
                <input type="checkbox" aria-label={`Field ${i + 1} required`} checked={r.required} onChange={(e) => upd(i, { required: e.target.checked })} />
              </td>
              <td>
                <input type="radio" name="identity" aria-label={`Field ${i + 1} is the identity`} checked={identity === r.name && !!r.name} onChange={() => setIdentity(r.name)} />
              </td>
              <td>
                <button type="button" className="link" onClick={() => setRows(rows.filter((_, k) => k !== i))}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" onClick={() => setRows([...rows, { name: '', type: 'string', required: false }])}>
        Add field
      </button>
      <details>
        <summary>Sample event and curl</summary>
        <pre>{JSON.stringify(samplePayload(name || 'my.event', rows), null, 2)}</pre>
        <pre>{curlSnippet(location.origin, name || 'my.event', rows)}</pre>
      </details>
      {error && <p role="alert" className="error">{error}</p>}
      <div className="actions">
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="primary">
          Create event definition
        </button>
      </div>
    </form>
  );
}
