// The report page (charts over time from the journey report's hourly series, drawn with uPlot)
// and the profile trace view. Loaded lazily: the chart library stays out of the first load.
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { errorText, get } from '../api';
import { columns, sum, type HourlyPoint } from '../report';
import { go } from '../route';
import type { TraceStep } from '../testmode';

interface FullReport {
  journeyId: string;
  status: string;
  liveVersion: number;
  active: number;
  totals: Record<string, number>;
  hourly: HourlyPoint[];
  actions: Record<string, Record<string, number>>;
}

const palette = ['#2e6fdb', '#12a150', '#d92d20', '#7a5af8', '#f79009'];

function Chart({ title, data, labels, testid }: { title: string; data: number[][]; labels: string[]; testid: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    const opts: uPlot.Options = {
      width: Math.max(320, box.current.clientWidth),
      height: 220,
      series: [{}, ...labels.map((l, i) => ({ label: l, stroke: palette[i % palette.length], width: 2, points: { show: data[0].length < 3 } }))],
      axes: [{}, { size: 40 }],
      scales: { x: { time: true } },
    };
    const plot = new uPlot(opts, data as uPlot.AlignedData, box.current);
    return () => plot.destroy();
  }, [data, labels]);
  return (
    <figure className="chart" data-testid={testid}>
      <figcaption>{title}</figcaption>
      {data[0].length === 0 ? <p className="muted">Nothing yet: the chart fills in as profiles enter the live version.</p> : <div ref={box} />}
    </figure>
  );
}

export function ReportPage({ id }: { id: string }) {
  const [r, setR] = useState<FullReport | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let stop = false;
    const load = () =>
      get<FullReport>(`/v1/journeys/${encodeURIComponent(id)}/report`)
        .then((x) => !stop && setR(x))
        .catch((e) => !stop && setError(errorText(e)));
    load();
    const h = setInterval(load, 5000);
    return () => {
      stop = true;
      clearInterval(h);
    };
  }, [id]);
  if (error)
    return (
      <p role="alert" className="error page">
        {error}
      </p>
    );
  if (!r) return <p className="page">Loading…</p>;
  const flow = ['entered', 'exited', 'errored'];
  const acts = ['actionsSent', 'actionsFailed'];
  return (
    <section className="page report">
      <div className="toolbar">
        <button type="button" onClick={() => go('journeys', id)}>
          ← Canvas
        </button>
        <h1>Report: {id}</h1>
        <span className={`badge ${r.status}`}>
          {r.status}
          {r.liveVersion ? ` v${r.liveVersion}` : ''}
        </span>
      </div>
      <dl className="totals wide" data-testid="report-summary">
        <dt>Entered</dt>
        <dd>{r.totals.entered ?? 0}</dd>
        <dt>Active</dt>
        <dd>{r.active}</dd>
        <dt>Completed</dt>
        <dd>{r.totals.completed ?? 0}</dd>
        <dt>Errors</dt>
        <dd>{r.totals.errored ?? 0}</dd>
        <dt>Actions sent (last 14 days)</dt>
        <dd>{sum(r.hourly, 'actionsSent')}</dd>
      </dl>
      <Chart title="Entries, exits and errors per hour" testid="chart-flow" data={columns(r.hourly, flow)} labels={['entries', 'exits', 'errors']} />
      <Chart title="Actions sent and failed per hour" testid="chart-actions" data={columns(r.hourly, acts)} labels={['sent', 'failed']} />
      {Object.keys(r.actions ?? {}).length > 0 && (
        <table className="list">
          <caption>Actions</caption>
          <thead>
            <tr>
              <th>Action</th>
              <th>Sent</th>
              <th>Failed</th>
              <th>Retried</th>
              <th>Dead-lettered</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(r.actions).map(([a, c]) => (
              <tr key={a}>
                <td>{a}</td>
                <td>{c?.sent ?? 0}</td>
                <td>{c?.failed ?? 0}</td>
                <td>{c?.retried ?? 0}</td>
                <td>{c?.deadLettered ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** ProfileTrace shows one profile's recent steps across journeys. */
export function ProfileTrace({ initial }: { initial?: string }) {
  const [pid, setPid] = useState(initial ?? '');
  const [steps, setSteps] = useState<TraceStep[] | null>(null);
  const [error, setError] = useState('');
  const load = async (id: string) => {
    setError('');
    try {
      const t = await get<{ steps: TraceStep[] }>(`/v1/profiles/${encodeURIComponent(id)}/trace`);
      setSteps([...t.steps].reverse());
    } catch (e) {
      setSteps(null);
      setError(errorText(e));
    }
  };
  useEffect(() => {
    if (initial) load(initial);
  }, [initial]);
  return (
    <section className="page">
      <h1>Profile trace</h1>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault();
          if (pid === initial) load(pid);
          else go('trace', pid); // the route's key remounts the view, which loads it
        }}
      >
        <label>
          Profile id
          <input value={pid} onChange={(e) => setPid(e.target.value)} placeholder="email:ada@example.com" required />
        </label>
        <button type="submit">Show trace</button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {steps && (
        <table className="list" data-testid="trace">
          <thead>
            <tr>
              <th>At</th>
              <th>Journey</th>
              <th>Node</th>
              <th>Step</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {steps.length === 0 && (
              <tr>
                <td colSpan={5}>No steps recorded for this profile.</td>
              </tr>
            )}
            {steps.map((s, i) => (
              <tr key={i} className={s.kind === 'error' ? 'error' : ''}>
                <td>
                  <time dateTime={s.at}>{new Date(s.at).toLocaleString(undefined, { hour12: false })}</time>
                </td>
                <td>{s.journeyId ? `${s.journeyId} ${(s.version ?? 0) === 0 ? 'draft' : 'v' + s.version}` : ''}</td>
                <td>{s.nodeId ?? ''}</td>
                <td>{s.kind === 'node' ? s.outcome : [s.kind, s.outcome].filter(Boolean).join(' ')}</td>
                <td>
                  {s.detail}
                  {s.data && <pre>{JSON.stringify(s.data)}</pre>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
