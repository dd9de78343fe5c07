import { useEffect, useState } from 'react';
import { errorText, get, post } from '../api';
import { allows, type Me, type Plugin } from '../model';

export function Plugins({ me }: { me: Me }) {
  const [items, setItems] = useState<Plugin[]>([]);
  const [error, setError] = useState('');
  const [wasm, setWasm] = useState<File | null>(null);
  const [manifest, setManifest] = useState<File | null>(null);
  const [run, setRun] = useState<{ name: string; version: string; kind: string; input: string; config: string; out?: string }>({ name: '', version: '', kind: '', input: '{}', config: '{}' });
  const reload = () =>
    get<{ items: Plugin[] }>('/v1/plugins?limit=1000')
      .then((r) => setItems(r.items))
      .catch((e) => setError(errorText(e)));
  useEffect(() => {
    reload();
  }, []);
  const upload = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!wasm || !manifest) return;
    const fd = new FormData();
    fd.append('manifest', manifest);
    fd.append('module', wasm);
    try {
      await post('/v1/plugins', fd);
      reload();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const runIt = async (e: React.FormEvent) => {
    e.preventDefault();
    try {
      const out = await post(`/v1/plugins/${encodeURIComponent(run.name)}/versions/${encodeURIComponent(run.version)}/run`, { kind: run.kind, input: JSON.parse(run.input), config: JSON.parse(run.config || '{}') });
      setRun({ ...run, out: JSON.stringify(out, null, 2) });
    } catch (err) {
      setRun({ ...run, out: errorText(err) });
    }
  };
  return (
    <section className="page">
      <h1>Plugins</h1>
      {error && <p role="alert" className="error">{error}</p>}
      {allows(me.role, 'editor') && (
        <form className="card inline-form" onSubmit={upload} aria-label="Upload a plugin">
          <label>
            Manifest (JSON)
            <input type="file" accept=".json,application/json" onChange={(e) => setManifest(e.target.files?.[0] ?? null)} />
          </label>
          <label>
            Module (.wasm)
            <input type="file" accept=".wasm" onChange={(e) => setWasm(e.target.files?.[0] ?? null)} />
          </label>
          <button type="submit" className="primary" disabled={!wasm || !manifest}>
            Upload
          </button>
        </form>
      )}
      {items.length === 0 ? (
        <p className="empty">No plugins yet. See docs/plugins.md to write one.</p>
      ) : (
        <table className="list">
          <thead>
            <tr>
              <th>Name</th>
              <th>Versions</th>
              <th>Kinds</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((p) => {
              const latest = p.versions[p.versions.length - 1];
              return (
                <tr key={p.name}>
                  <td>{p.name}</td>
                  <td>{p.versions.map((v) => v.version).join(', ')}</td>
                  <td>{latest?.kinds.join(', ')}</td>
                  <td>
                    {allows(me.role, 'editor') && latest && (
                      <button type="button" className="link" onClick={() => setRun({ name: p.name, version: latest.version, kind: latest.kinds[0], input: '{}', config: '{}' })}>
                        Test run
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {run.name && (
        <form className="card" onSubmit={runIt} aria-label="Test run">
          <h2>
            Run {run.name} {run.version} as {run.kind}
          </h2>
          <label>
            Input (JSON)
            <textarea rows={6} value={run.input} onChange={(e) => setRun({ ...run, input: e.target.value })} />
          </label>
          <label>
            Config (JSON)
            <textarea rows={3} value={run.config} onChange={(e) => setRun({ ...run, config: e.target.value })} />
          </label>
          <button type="submit" className="primary">
            Run
          </button>
          {run.out && <pre>{run.out}</pre>}
        </form>
      )}
    </section>
  );
}
