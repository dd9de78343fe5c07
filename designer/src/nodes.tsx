import { Handle, Position, type NodeProps, type Node } from '@xyflow/react';
import { countKey, outputs, type FlowNodeData } from './graph';
import type { JNode } from './model';

const kindLabel: Record<string, string> = {
  event: 'Event',
  condition: 'Condition',
  wait: 'Wait',
  action: 'Action',
  update_profile: 'Update profile',
  end: 'End',
};

/** summary says in one line what a node does. */
export function summary(j: JNode): string {
  switch (j.kind) {
    case 'event':
      return j.event ? `on ${j.event}` : 'choose an event';
    case 'condition':
      if (j.split?.length) return `split ${j.split.map((s) => s.percent + '%').join(' / ')}`;
      return `${j.branches?.length ?? 0} branch${j.branches?.length === 1 ? '' : 'es'} + else`;
    case 'wait':
      return j.duration ? `for ${j.duration}` : j.until ? `until ${j.until}` : j.untilExpression ? 'until expression' : 'set a duration';
    case 'action':
      return j.action ? `call ${j.action}` : 'choose an action';
    case 'update_profile':
      return `${Object.keys(j.set ?? {}).length} set, ${(j.unset ?? []).length} unset`;
    default:
      return 'finish';
  }
}

export function JourneyNode({ data, selected }: NodeProps<Node<FlowNodeData>>) {
  const j = data.j;
  const outs = outputs(j);
  const c = data.counts;
  const kind = j.kind === 'condition' && j.split?.length ? 'split' : j.kind;
  return (
    <div
      className={`jnode kind-${kind}${selected ? ' selected' : ''}${data.errors?.length ? ' has-errors' : ''}${data.lit ? ' lit' : ''}`}
      data-testid={`node-${j.id}`}
      aria-label={`${kindLabel[j.kind]} node ${j.name || j.id}`}
    >
      <Handle type="target" position={Position.Left} id="in" className="handle-in" isConnectable={!data.readOnly} />
      <div className="jnode-head">
        <span className="jnode-kind">{kind === 'split' ? 'Split' : kindLabel[j.kind]}</span>
        <span className="jnode-id">{j.id}</span>
      </div>
      <div className="jnode-title">{j.name || summary(j)}</div>
      {j.name && <div className="jnode-sub">{summary(j)}</div>}
 {data.lit && (
        <div className={`jnode-lit${data.lit.error ? ' err' : ''}`} data-testid={`lit-${j.id}`} title={data.lit.at}>
          #{data.lit.order} {data.lit.at.slice(11, 23)} {data.lit.outcome}
        </div>
      )}
      {c && (
        <div className="jnode-counts" data-testid={`counts-${j.id}`}>
          <span title="entered">▶ {c.entered ?? 0}</span>
          <span title="passed">✓ {c.passed ?? 0}</span>
          {(c.errored ?? 0) > 0 && <span className="err" title="errored">⚠ {c.errored}</span>}
        </div>
      )}
      {data.errors && data.errors.length > 0 && (
        <div className="jnode-errors" role="note" data-testid={`errors-${j.id}`}>
          {data.errors.map((e, i) => (
            <div key={i}>⚠ {e}</div>
          ))}
        </div>
      )}
      {outs.length > 0 && (
        <div className="jnode-outs">
          {outs.map((o) => {
            const k = countKey(o.handle);
            return (
              <div className="jnode-out" key={o.handle}>
                <span>
                  {o.label}
                  {c && k ? <b data-testid={`count-${j.id}-${o.handle}`}> {c[k] ?? 0}</b> : null}
                </span>
                <Handle type="source" position={Position.Right} id={o.handle} className={`handle-out${o.optional ? ' optional' : ''}`} isConnectable={!data.readOnly} data-testid={`handle-${j.id}-${o.handle}`} />
              </div>
            );
          })}
        </div>
      )}
    </div>
  );
}

export const nodeTypes = {
  event: JourneyNode,
  condition: JourneyNode,
  wait: JourneyNode,
  action: JourneyNode,
  update_profile: JourneyNode,
  end: JourneyNode,
};
