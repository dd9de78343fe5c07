// Conversion between the journey definition (the API's JSON) and the canvas's nodes and edges.
// Edges are the single source of truth for where a node continues: toFlow derives them from
// next/else/timeoutNext/errorNext/branches[].next/split[].next, and fromFlow writes those fields
// back from the edges, so a definition survives a round trip unchanged.
import type { Definition, JNode, Kind } from './model';

export interface FlowNodeData extends Record<string, unknown> {
  j: JNode;
  /** live counts for this node ("entered", "passed", "errored", "branch:<id>", ...) */
  counts?: Record<string, number>;
  /** validation errors pinned on this node */
  errors?: string[];
  readOnly?: boolean;
  /** test mode: where this node is on the test profile's path */
  lit?: { order: number; at: string; outcome: string; error?: boolean };
}

export interface FlowNode {
  id: string;
  type: string;
  position: { x: number; y: number };
  data: FlowNodeData;
  selected?: boolean;
}

export interface FlowEdge {
  id: string;
  source: string;
  sourceHandle: string;
  target: string;
  label?: string;
}

export interface Output {
  handle: string;
  label: string;
  optional?: boolean;
}

/** outputs lists where a node may continue: one source handle each. */
export function outputs(j: JNode): Output[] {
  switch (j.kind) {
    case 'event': {
      const out: Output[] = [{ handle: 'next', label: 'next' }];
      if (j.timeout) out.push({ handle: 'timeout', label: `timeout ${j.timeout}` });
      return out;
    }
    case 'condition':
      if (j.split && j.split.length > 0) return j.split.map((s) => ({ handle: `s:${s.id}`, label: `${s.id} ${s.percent}%` }));
      return [...(j.branches ?? []).map((b) => ({ handle: `b:${b.id}`, label: b.name || b.id })), { handle: 'else', label: 'else' }];
    case 'action':
      return [
        { handle: 'next', label: 'next' },
        { handle: 'error', label: 'on error', optional: true },
      ];
    case 'wait':
    case 'update_profile':
      return [{ handle: 'next', label: 'next' }];
    default:
      return [];
  }
}

/** countKey is the report counter of an output ("branch:<id>", "branch:else"), if any. */
export function countKey(handle: string): string | undefined {
  if (handle.startsWith('b:') || handle.startsWith('s:')) return `branch:${handle.slice(2)}`;
  if (handle === 'else') return 'branch:else';
  return undefined;
}

function targetOf(j: JNode, handle: string): string | undefined {
  switch (handle) {
    case 'next':
      return j.next;
    case 'else':
      return j.else;
    case 'timeout':
      return j.timeoutNext;
    case 'error':
      return j.errorNext;
  }
  if (handle.startsWith('b:')) return j.branches?.find((b) => b.id === handle.slice(2))?.next;
  if (handle.startsWith('s:')) return j.split?.find((s) => s.id === handle.slice(2))?.next;
  return undefined;
}

export function edgeId(source: string, handle: string): string {
  return `${source}→${handle}`;
}

/** stripEdges returns a copy of a node without the fields that edges carry. */
export function stripEdges(j: JNode): JNode {
  const c: JNode = structuredClone(j);
  delete c.next;
  delete c.else;
  delete c.timeoutNext;
  delete c.errorNext;
  delete c.position;
  c.branches?.forEach((b) => (b.next = ''));
  c.split?.forEach((s) => (s.next = ''));
  return c;
}

/** layout places nodes without a position: columns by distance from the entry. */
function layout(def: Definition): Map<string, { x: number; y: number }> {
  const pos = new Map<string, { x: number; y: number }>();
  const depth = new Map<string, number>();
  const ids = new Set(def.nodes.map((n) => n.id));
  const byId = new Map(def.nodes.map((n) => [n.id, n]));
  const queue: string[] = [];
  if (def.nodes[0]) {
    depth.set(def.nodes[0].id, 0);
    queue.push(def.nodes[0].id);
  }
  while (queue.length > 0) {
    const id = queue.shift()!;
    const n = byId.get(id)!;
    for (const o of outputs(n)) {
      const t = targetOf(n, o.handle);
      if (t && ids.has(t) && !depth.has(t)) {
        depth.set(t, depth.get(id)! + 1);
        queue.push(t);
      }
    }
  }
  const rows = new Map<number, number>();
  for (const n of def.nodes) {
    const d = depth.get(n.id) ?? 0;
    const r = rows.get(d) ?? 0;
    rows.set(d, r + 1);
    pos.set(n.id, { x: 40 + d * 280, y: 40 + r * 170 });
  }
  return pos;
}

/** toFlow turns a definition into canvas nodes and edges. */
export function toFlow(def: Definition): { nodes: FlowNode[]; edges: FlowEdge[] } {
  const auto = layout(def);
  const ids = new Set(def.nodes.map((n) => n.id));
  const nodes: FlowNode[] = def.nodes.map((n) => ({
    id: n.id,
    type: n.kind,
    position: n.position ? { ...n.position } : auto.get(n.id)!,
    data: { j: stripEdges(n) },
  }));
  const edges: FlowEdge[] = [];
  for (const n of def.nodes) {
    for (const o of outputs(n)) {
      const t = targetOf(n, o.handle);
      if (t && ids.has(t)) edges.push({ id: edgeId(n.id, o.handle), source: n.id, sourceHandle: o.handle, target: t });
    }
  }
  return { nodes, edges };
}

/** fromFlow turns canvas nodes and edges back into a definition's nodes. The entry (the first
 * node) stays first; when the first node is not an event node, the first event node that nothing
 * points at becomes the entry. */
export function fromFlow(nodes: FlowNode[], edges: FlowEdge[]): JNode[] {
  const out = new Map<string, Map<string, string>>();
  for (const e of edges) {
    if (!out.has(e.source)) out.set(e.source, new Map());
    out.get(e.source)!.set(e.sourceHandle, e.target);
  }
  const result = nodes.map((n) => {
    const j = stripEdges(n.data.j);
    const o = out.get(n.id) ?? new Map<string, string>();
    const set = (handle: string, assign: (t: string) => void) => {
      const t = o.get(handle);
      if (t) assign(t);
    };
    j.id = n.id;
    j.position = { x: Math.round(n.position.x), y: Math.round(n.position.y) };
    if (j.kind !== 'end') set('next', (t) => (j.next = t));
    if (j.kind === 'condition' && !(j.split && j.split.length > 0)) set('else', (t) => (j.else = t));
    if (j.kind === 'event') set('timeout', (t) => (j.timeoutNext = t));
    if (j.kind === 'action') set('error', (t) => (j.errorNext = t));
    j.branches?.forEach((b) => (b.next = o.get(`b:${b.id}`) ?? ''));
    j.split?.forEach((s) => (s.next = o.get(`s:${s.id}`) ?? ''));
    if (j.kind === 'condition' && j.split && j.split.length > 0) delete j.next;
    if (j.kind === 'condition' && !(j.split && j.split.length > 0)) delete j.next;
    return j;
  });
  if (result.length > 0 && result[0].kind !== 'event') {
    const targets = new Set(edges.map((e) => e.target));
    const i = result.findIndex((n) => n.kind === 'event' && !targets.has(n.id));
    if (i > 0) result.unshift(...result.splice(i, 1));
  }
  return result;
}

/** newNodeId returns an id for a new node of a kind, unused in taken. */
export function newNodeId(kind: Kind | 'split', taken: Iterable<string>): string {
  const used = new Set(taken);
  const base = kind.replace('_', '-');
  for (let i = 1; ; i++) {
    const id = `${base}-${i}`;
    if (!used.has(id)) return id;
  }
}

/** pruneEdges drops edges whose handle no longer exists (a branch removed, a timeout cleared)
 * or whose end node is gone. */
export function pruneEdges(nodes: FlowNode[], edges: FlowEdge[]): FlowEdge[] {
  const handles = new Map(nodes.map((n) => [n.id, new Set(outputs(n.data.j).map((o) => o.handle))]));
  return edges.filter((e) => handles.get(e.source)?.has(e.sourceHandle) && handles.has(e.target));
}

/** connect adds an edge from a handle, replacing the edge that handle had (one target each). */
export function connect(edges: FlowEdge[], source: string, sourceHandle: string, target: string): FlowEdge[] {
  const rest = edges.filter((e) => !(e.source === source && e.sourceHandle === sourceHandle));
  if (source === target) return rest;
  return [...rest, { id: edgeId(source, sourceHandle), source, sourceHandle, target }];
}
