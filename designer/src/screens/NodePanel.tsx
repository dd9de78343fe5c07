import { outputs } from '../graph';
import type { Action, EventDefinition, JNode, Plugin, SchemaField } from '../model';
import type { PinnedError } from '../errors';
import { fieldLabel } from '../errors';
import { ExprInput } from './ExprInput';

export interface PanelContext {
  eventDefs: EventDefinition[];
  actions: Action[];
  plugins: Plugin[];
  events: string[]; // the journey's event types
  fields: SchemaField[]; // fields those events declare
  nodeIds: { id: string; label: string }[];
  targets: Record<string, string>; // handle → target node id
  readOnly: boolean;
}

// The configuration panel of one node: a form per kind, plus where each output goes (the
// keyboard way to connect nodes).
export function NodePanel({
  j,
  ctx,
  errors,
  onChange,
  onConnect,
  onDelete,
}: {
  j: JNode;
  ctx: PanelContext;
  errors: PinnedError[];
  onChange: (j: JNode) => void;
  onConnect: (handle: string, target: string) => void;
  onDelete: () => void;
}) {
  const ro = ctx.readOnly;
  const set = (patch: Partial<JNode>) => onChange({ ...j, ...patch });
  const text = (label: string, value: string | undefined, apply: (v: string) => void, opts: { placeholder?: string; name?: string } = {}) => (
    <label>
      {label}
      <input value={value ?? ''} readOnly={ro} placeholder={opts.placeholder} name={opts.name} onChange={(e) => apply(e.target.value)} />
    </label>
  );
  const expr = (label: string, value: string | undefined, apply: (v: string) => void, kind: 'condition' | 'timestamp' | 'value' = 'condition', name?: string) => (
    <ExprInput label={label} value={value ?? ''} onChange={apply} kind={kind} events={ctx.events} fields={ctx.fields} readOnly={ro} name={name} />
  );

  return (
    <aside className="panel" aria-label={`Configure ${j.id}`}>
      <div className="panel-head">
        <h2>{j.name || j.id}</h2>
        <span className="muted">
          {j.kind} · {j.id}
        </span>
      </div>
      {errors.length > 0 && (
        <ul className="errors" aria-label="Problems with this node">
          {errors.map((e, i) => (
            <li key={i}>
              {e.field && <b>{fieldLabel(e.field, j)}: </b>}
              {e.message}
            </li>
          ))}
        </ul>
      )}
      {text('Name', j.name, (v) => set({ name: v || undefined }), { placeholder: 'optional label' })}

      {j.kind === 'event' && (
        <>
          <label>
            Event
            <select value={j.event ?? ''} disabled={ro} onChange={(e) => set({ event: e.target.value })} name="event">
              <option value="">choose…</option>
              {ctx.eventDefs.map((d) => (
                <option key={d.name} value={d.name}>
                  {d.name}
                </option>
              ))}
            </select>
          </label>
          {expr('Only when (optional CEL filter)', j.condition, (v) => set({ condition: v || undefined }))}
          {text('Timeout (later event nodes: e.g. 3d)', j.timeout, (v) => set({ timeout: v || undefined }), { placeholder: 'none' })}
        </>
      )}

      {j.kind === 'condition' && !j.split?.length && (
        <fieldset>
          <legend>Branches (the first that holds wins; else otherwise)</legend>
          {(j.branches ?? []).map((b, i) => {
            const upd = (patch: Partial<typeof b>) => set({ branches: j.branches!.map((x, k) => (k === i ? { ...x, ...patch } : x)) });
            const mode = b.plugin ? 'plugin' : b.timeWindow ? 'timeWindow' : 'expression';
            return (
              <div className="branch" key={b.id}>
                <div className="row">
                  {text(`Branch ${i + 1} name`, b.name, (v) => upd({ name: v || undefined }), { placeholder: b.id })}
                  <label>
                    Type
                    <select
                      value={mode}
                      disabled={ro}
                      onChange={(e) => {
                        const m = e.target.value;
                        upd({
                          expression: m === 'expression' ? '' : undefined,
                          timeWindow: m === 'timeWindow' ? { start: '09:00', end: '18:00' } : undefined,
                          plugin: m === 'plugin' ? { name: '' } : undefined,
                        });
                      }}
                    >
                      <option value="expression">expression</option>
                      <option value="timeWindow">time window</option>
                      <option value="plugin">plugin</option>
                    </select>
                  </label>
                </div>
                {mode === 'expression' && expr(`Branch ${i + 1} condition`, b.expression, (v) => upd({ expression: v }), 'condition', `branch-${i}-expression`)}
                {mode === 'timeWindow' && b.timeWindow && (
                  <div className="row">
                    {text('From', b.timeWindow.start, (v) => upd({ timeWindow: { ...b.timeWindow!, start: v } }))}
                    {text('To', b.timeWindow.end, (v) => upd({ timeWindow: { ...b.timeWindow!, end: v } }))}
                    {text('Days', (b.timeWindow.days ?? []).join(','), (v) => upd({ timeWindow: { ...b.timeWindow!, days: v ? v.split(',').map((s) => s.trim()) : undefined } }), { placeholder: 'mon,tue,… (all)' })}
                  </div>
                )}
                {mode === 'plugin' && (
                  <label>
                    Condition plugin
                    <select value={b.plugin?.name ?? ''} disabled={ro} onChange={(e) => upd({ plugin: { name: e.target.value } })}>
                      <option value="">choose…</option>
                      {ctx.plugins
                        .filter((p) => p.versions.some((v) => v.kinds.includes('condition')))
                        .map((p) => (
                          <option key={p.name} value={p.name}>
                            {p.name} (latest {p.versions[p.versions.length - 1]?.version})
                          </option>
                        ))}
                    </select>
                  </label>
                )}
                {!ro && (
                  <button type="button" className="link" onClick={() => set({ branches: j.branches!.filter((_, k) => k !== i) })}>
                    Remove branch {i + 1}
                  </button>
                )}
              </div>
            );
          })}
          {!ro && (
            <button
              type="button"
              onClick={() => {
                const taken = new Set((j.branches ?? []).map((b) => b.id));
                let n = 1;
                while (taken.has(`b${n}`)) n++;
                set({ branches: [...(j.branches ?? []), { id: `b${n}`, name: `Branch ${n}`, expression: '', next: '' }] });
              }}
            >
              Add branch
            </button>
          )}
        </fieldset>
      )}

      {j.kind === 'condition' && !!j.split?.length && (
        <fieldset>
          <legend>Percentage split (must add up to 100)</legend>
          {j.split.map((s, i) => (
            <label key={s.id}>
              Arm {s.id} %
              <input
                type="number"
                min={1}
                max={100}
                value={s.percent}
                readOnly={ro}
                onChange={(e) => set({ split: j.split!.map((x, k) => (k === i ? { ...x, percent: Number(e.target.value) } : x)) })}
              />
            </label>
          ))}
          {!ro && (
            <button type="button" onClick={() => set({ split: [...j.split!, { id: String.fromCharCode(97 + j.split!.length), percent: 0, next: '' }] })}>
              Add arm
            </button>
          )}
        </fieldset>
      )}

      {j.kind === 'wait' && (
        <>
          {text('Duration (e.g. 30m, 2h, 7d)', j.duration, (v) => set({ duration: v || undefined, until: undefined, untilExpression: undefined }))}
          {text('…or until (RFC 3339)', j.until, (v) => set({ until: v || undefined, duration: undefined, untilExpression: undefined }))}
          {expr('…or until expression (timestamp)', j.untilExpression, (v) => set({ untilExpression: v || undefined, duration: undefined, until: undefined }), 'timestamp')}
        </>
      )}

      {j.kind === 'action' && (
        <label>
          Action
          <select value={j.action ?? ''} disabled={ro} onChange={(e) => set({ action: e.target.value })} name="action">
            <option value="">choose…</option>
            {ctx.actions.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} ({a.kind === 'plugin' ? `plugin ${a.plugin?.name}` : 'REST'})
              </option>
            ))}
          </select>
        </label>
      )}

      {j.kind === 'update_profile' && (
        <fieldset>
          <legend>Set profile attributes (path → CEL value)</legend>
          {Object.entries(j.set ?? {}).map(([k, v], i) => (
            <div className="row" key={i}>
              {text('Attribute', k, (nk) => set({ set: renameKey(j.set!, k, nk) }))}
              {expr('Value', v, (nv) => set({ set: { ...j.set, [k]: nv } }), 'value')}
            </div>
          ))}
          {!ro && (
            <button type="button" onClick={() => set({ set: { ...(j.set ?? {}), [`attribute${Object.keys(j.set ?? {}).length + 1}`]: 'true' } })}>
              Add attribute
            </button>
          )}
          {text('Unset (comma-separated paths)', (j.unset ?? []).join(','), (v) => set({ unset: v ? v.split(',').map((s) => s.trim()) : undefined }))}
        </fieldset>
      )}

      {outputs(j).length > 0 && (
        <fieldset>
          <legend>Connections</legend>
          {outputs(j).map((o) => (
            <label key={o.handle}>
              {o.label} →
              <select value={ctx.targets[o.handle] ?? ''} disabled={ro} onChange={(e) => onConnect(o.handle, e.target.value)} name={`connect-${o.handle}`}>
                <option value="">{o.optional ? '(none)' : 'not connected'}</option>
                {ctx.nodeIds
                  .filter((n) => n.id !== j.id)
                  .map((n) => (
                    <option key={n.id} value={n.id}>
                      {n.label}
                    </option>
                  ))}
              </select>
            </label>
          ))}
        </fieldset>
      )}
      {!ro && (
        <button type="button" className="danger" onClick={onDelete}>
          Delete node
        </button>
      )}
    </aside>
  );
}

function renameKey(m: Record<string, string>, from: string, to: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) out[k === from ? to : k] = v;
  return out;
}
