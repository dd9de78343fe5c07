import { useEffect, useMemo, useState } from 'react';
import { errorText, get, post } from '../api';
import { allows, type Journey, type Me, type Report } from '../model';
import { go } from '../route';

export function JourneyList({ me }: { me: Me }) {
  const [items, setItems] = useState<Journey[] | null>(null);
  const [reports, setReports] = useState<Record<string, Report>>({});
  const [q, setQ] = useState('');
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');
  const [creating, setCreating] = useState(false);

  useEffect(() => {
    get<{ items: Journey[] }>('/v1/journeys?limit=1000')
      .then((r) => {
        setItems(r.items);
        // Counts for journeys that ever went live (a few requests; lists are short).
        for (const j of r.items.filter((j) => j.versions > 0)) {
          get<Report>(`/v1/journeys/${encodeURIComponent(j.id)}/report`)
            .then((rep) => setReports((m) => ({ ...m, [j.id]: rep })))
            .catch(() => {});
        }
      })
      .catch((e) => setError(errorText(e)));
  }, []);

  const shown = useMemo(() => {
    const needle = q.trim().toLowerCase();
    return (items ?? []).filter(
      (j) => (!status || j.status === status) && (!needle || j.id.toLowerCase().includes(needle) || j.name.toLowerCase().includes(needle)),
    );
  }, [items, q, status]);

  return (
    <section className="page">
      <div className="page-head">
        <h1>Journeys</h1>
        {allows(me.role, 'editor') && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New journey
          </button>
        )}
      </div>
      <div className="filters">
        <label>
          Search
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="name or id" />
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">all</option>
            <option value="draft">draft</option>
            <option value="live">live</option>
            <option value="stopped">stopped</option>
          </select>
        </label>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      {creating && <NewJourney onCancel={() => setCreating(false)} />}
      {items === null ? (
        <p>Loading…</p>
      ) : shown.length === 0 ? (
        <p className="empty">{items.length === 0 ? 'No journeys yet.' : 'No journey matches.'}</p>
      ) : (
        <table className="list">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Live version</th>
              <th>Draft</th>
              <th>Entered</th>
              <th>Active</th>
              <th>Errors</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((j) => {
              const r = reports[j.id];
              return (
                <tr key={j.id}>
                  <td>
                    <a href={`#/journeys/${encodeURIComponent(j.id)}`}>{j.name}</a> <span className="muted">{j.id}</span>
                  </td>
                  <td>
                    <span className={`badge ${j.status}`}>{j.status}</span>
                  </td>
                  <td>{j.liveVersion ? `v${j.liveVersion}` : '—'}</td>
                  <td>{j.draft ? 'yes' : '—'}</td>
                  <td>{r ? (r.totals.entered ?? 0) : '—'}</td>
                  <td>{r ? r.active : '—'}</td>
                  <td>{r ? (r.totals.errored ?? 0) : '—'}</td>
                  <td>{new Date(j.updatedAt).toLocaleString()}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function NewJourney({ onCancel }: { onCancel: () => void }) {
  const [name, setName] = useState('');
  const [id, setId] = useState('');
  const [error, setError] = useState('');
  const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    try {
      const j = await post<Journey>('/v1/journeys', { id: id || slug(name), name, draft: { nodes: [], rules: { reentrance: { mode: 'never' } } } });
      go('journeys', j.id);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form className="card inline-form" onSubmit={submit} aria-label="New journey">
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required autoFocus />
      </label>
      <label>
        Id
        <input value={id} placeholder={slug(name)} onChange={(e) => setId(e.target.value)} pattern="[a-z0-9][a-z0-9_-]{0,63}" />
      </label>
      <button type="submit" className="primary">
        Create
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
      {error && <p role="alert" className="error">{error}</p>}
    </form>
  );
}
