// Test mode: send events marked "test" for a test profile into the journey's draft and watch
// the profile's path, step by step, from its trace (polled; waits are shortened for test
// instances on the server, see docs/designer.md "Test mode").
import { useEffect, useMemo, useState } from 'react';
import { errorText, get, post, put } from '../api';
import type { EventDefinition, SchemaField } from '../model';
import { clock, formValue, pathSteps, type TraceStep } from '../testmode';

export function TestPanel({
  journeyId,
  entryEvent,
  fields,
  onPath,
  onClose,
}: {
  journeyId: string;
  entryEvent?: EventDefinition;
  fields: SchemaField[];
  onPath: (steps: TraceStep[]) => void;
  onClose: () => void;
}) {
  const [profileId, setProfileId] = useState('test:alice');
  const [ready, setReady] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [error, setError] = useState('');
  const [since, setSince] = useState<string | null>(null);
  const [steps, setSteps] = useState<TraceStep[]>([]);
  const inputs = useMemo(() => fields.filter((f) => f.path !== entryEvent?.identityField && !f.path.includes('[]') && f.type !== 'object'), [fields, entryEvent]);

  const makeProfile = async () => {
    setError('');
    try {
      await put(`/v1/profiles/${encodeURIComponent(profileId)}`, { test: true });
      setReady(profileId);
    } catch (e) {
      setError(errorText(e));
    }
  };

  const send = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!entryEvent) return;
    setError('');
    const data: Record<string, unknown> = {};
    for (const f of inputs) {
      const v = formValue(f, values[f.path] ?? '');
      if (v !== undefined) data[f.path] = v;
    }
    if (entryEvent.identityField) data[entryEvent.identityField] = profileId.slice(profileId.indexOf(':') + 1);
    try {
      setSince(new Date(Date.now() - 1000).toISOString());
      setSteps([]);
      const r = await post<{ results?: { status: string; error?: { message: string; field?: string } }[] }>('/v1/events', [{ type: entryEvent.name, identity: profileId, test: true, data }]);
      const bad = r?.results?.find((x) => x.status !== 'accepted');
      if (bad) setError(`The event was ${bad.status}: ${bad.error?.field ? bad.error.field + ': ' : ''}${bad.error?.message ?? ''}`);
    } catch (err) {
      setError(errorText(err));
    }
  };

  // The profile's trace, polled while a test runs (a wait of a test instance lasts at most a
  // couple of seconds, so a few seconds of polling see a whole walk).
  useEffect(() => {
    if (!since || !ready) return;
    let stop = false;
    const tick = async () => {
      try {
        const t = await get<{ steps: TraceStep[] }>(`/v1/profiles/${encodeURIComponent(ready)}/trace`);
        if (stop) return;
        const mine = pathSteps(t.steps, journeyId, since);
        setSteps(mine);
        onPath(mine);
      } catch {
        /* the next tick tries again */
      }
    };
    tick();
    const h = setInterval(tick, 700);
    return () => {
      stop = true;
      clearInterval(h);
    };
  }, [since, ready, journeyId, onPath]);

  return (
    <aside className="panel test-panel" aria-label="Test mode">
      <h2>Test mode</h2>
      <p className="hint">Events sent here are marked test: they enter this draft (not the live version), waits last at most a few seconds, and reports leave them out.</p>
      <label>
        Test profile
        <input value={profileId} onChange={(e) => setProfileId(e.target.value)} placeholder="namespace:value" />
      </label>
      <button type="button" onClick={makeProfile}>
        Use test profile
      </button>
      {ready && (
        <p className="ok" data-testid="test-profile">
          ✓ {ready} is a test profile
        </p>
      )}
      {ready && entryEvent && (
        <form onSubmit={send} aria-label="Test event">
          <h3>Send {entryEvent.name}</h3>
          {inputs.map((f) => (
            <label key={f.path}>
              {f.path}
              {f.required ? ' *' : ''}
              {f.type === 'boolean' ? (
                <select aria-label={`Test field ${f.path}`} value={values[f.path] ?? ''} onChange={(e) => setValues({ ...values, [f.path]: e.target.value })}>
                  <option value="">—</option>
                  <option value="true">true</option>
                  <option value="false">false</option>
                </select>
              ) : f.enum ? (
                <select aria-label={`Test field ${f.path}`} value={values[f.path] ?? ''} onChange={(e) => setValues({ ...values, [f.path]: e.target.value })}>
                  <option value="">—</option>
                  {f.enum.map((v) => (
                    <option key={String(v)}>{String(v)}</option>
                  ))}
                </select>
              ) : (
                <input aria-label={`Test field ${f.path}`} type={f.type === 'number' || f.type === 'integer' ? 'number' : 'text'} value={values[f.path] ?? ''} onChange={(e) => setValues({ ...values, [f.path]: e.target.value })} />
              )}
            </label>
          ))}
          <button type="submit" className="primary">
            Send test event
          </button>
        </form>
      )}
      {!entryEvent && <p className="muted">Add an event node as the journey's entry to send test events.</p>}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {since && (
        <ol className="test-steps" data-testid="test-steps">
          {steps.length === 0 && <li className="muted">Waiting for the first step…</li>}
          {steps.map((s, i) => (
            <li key={i}>
              <time dateTime={s.at}>{clock(s.at)}</time> <b>{s.nodeId ?? s.kind}</b> {s.kind === 'node' ? s.outcome : s.kind}
              {s.detail ? ` — ${s.detail}` : ''}
              {s.data && (
                <details>
                  <summary>what the condition saw</summary>
                  <pre>{JSON.stringify(s.data, null, 2)}</pre>
                </details>
              )}
            </li>
          ))}
        </ol>
      )}
      <button type="button" onClick={onClose}>
        Leave test mode
      </button>
    </aside>
  );
}
