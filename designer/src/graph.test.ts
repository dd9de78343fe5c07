import { describe, expect, it } from 'vitest';
import { connect, fromFlow, newNodeId, outputs, pruneEdges, toFlow } from './graph';
import type { Definition } from './model';

// The demo's welcome journey (runtime/demo), with positions as the designer saves them.
const welcome: Definition = {
  nodes: [
    { id: 'signup', kind: 'event', event: 'user.signup', position: { x: 0, y: 0 }, next: 'check-plan' },
    {
      id: 'check-plan',
      kind: 'condition',
      position: { x: 280, y: 0 },
      branches: [{ id: 'pro', expression: "event.data.?plan.orValue('free') == 'pro'", next: 'pro-welcome' }],
      else: 'wait-a-bit',
    },
    { id: 'pro-welcome', kind: 'action', action: 'welcome-webhook', position: { x: 560, y: 0 }, next: 'mark' },
    { id: 'wait-a-bit', kind: 'wait', duration: '2s', position: { x: 560, y: 170 }, next: 'welcome' },
    { id: 'welcome', kind: 'action', action: 'welcome-webhook', position: { x: 840, y: 170 }, next: 'mark', errorNext: 'done' },
    { id: 'mark', kind: 'update_profile', set: { welcomed: 'true' }, position: { x: 1120, y: 0 }, next: 'done' },
    { id: 'done', kind: 'end', position: { x: 1400, y: 0 } },
  ],
  rules: { reentrance: { mode: 'never' } },
};

describe('toFlow / fromFlow', () => {
  it('round-trips a definition unchanged', () => {
    const { nodes, edges } = toFlow(welcome);
    expect(nodes.map((n) => n.type)).toEqual(['event', 'condition', 'action', 'wait', 'action', 'update_profile', 'end']);
    expect(edges).toHaveLength(8);
    expect(edges.find((e) => e.source === 'check-plan' && e.sourceHandle === 'b:pro')?.target).toBe('pro-welcome');
    expect(edges.find((e) => e.source === 'welcome' && e.sourceHandle === 'error')?.target).toBe('done');
    expect(fromFlow(nodes, edges)).toEqual(welcome.nodes);
  });

  it('keeps edge fields off node data so edges are the only truth', () => {
    const { nodes } = toFlow(welcome);
    for (const n of nodes) {
      expect(n.data.j.next).toBeUndefined();
      expect(n.data.j.else).toBeUndefined();
      n.data.j.branches?.forEach((b) => expect(b.next).toBe(''));
    }
  });

  it('writes a removed edge back as a missing next', () => {
    const { nodes, edges } = toFlow(welcome);
    const out = fromFlow(nodes, edges.filter((e) => !(e.source === 'check-plan' && e.sourceHandle === 'else')));
    expect(out[1].else).toBeUndefined();
    expect(out[1].branches?.[0].next).toBe('pro-welcome');
  });

  it('round-trips splits, timeouts and lays out nodes without positions', () => {
    const def: Definition = {
      nodes: [
        { id: 'in', kind: 'event', event: 'a', next: 'ab' },
        { id: 'ab', kind: 'condition', split: [{ id: 'a', percent: 30, next: 'w' }, { id: 'b', percent: 70, next: 'end' }] },
        { id: 'w', kind: 'event', event: 'b', timeout: '3d', timeoutNext: 'end', next: 'end' },
        { id: 'end', kind: 'end' },
      ],
      rules: { reentrance: { mode: 'never' } },
    };
    const { nodes, edges } = toFlow(def);
    expect(nodes[0].position.x).toBeLessThan(nodes[1].position.x);
    expect(nodes[1].position.x).toBeLessThan(nodes[2].position.x);
    const back = fromFlow(nodes, edges).map(({ position, ...rest }) => {
      expect(position).toBeDefined();
      return rest;
    });
    expect(back).toEqual(def.nodes);
  });

  it('makes an unreferenced event node the entry when the first node is not one', () => {
    const def: Definition = {
      nodes: [
        { id: 'end-1', kind: 'end', position: { x: 400, y: 0 } },
        { id: 'event-1', kind: 'event', event: 'a', position: { x: 0, y: 0 }, next: 'end-1' },
      ],
      rules: { reentrance: { mode: 'never' } },
    };
    const { nodes, edges } = toFlow(def);
    expect(fromFlow(nodes, edges).map((n) => n.id)).toEqual(['event-1', 'end-1']);
  });
});

describe('edges', () => {
  it('lists one output per branch plus else, and per split arm', () => {
    expect(outputs(welcome.nodes[1]).map((o) => o.handle)).toEqual(['b:pro', 'else']);
    expect(outputs({ id: 'x', kind: 'condition', split: [{ id: 'a', percent: 50, next: '' }, { id: 'b', percent: 50, next: '' }] }).map((o) => o.handle)).toEqual(['s:a', 's:b']);
    expect(outputs({ id: 'e', kind: 'end' })).toEqual([]);
  });

  it('gives each handle one target and drops self-loops', () => {
    let edges = connect([], 'a', 'next', 'b');
    edges = connect(edges, 'a', 'next', 'c');
    expect(edges).toEqual([{ id: 'a→next', source: 'a', sourceHandle: 'next', target: 'c' }]);
    expect(connect(edges, 'a', 'next', 'a')).toEqual([]);
  });

  it('prunes edges of removed branches and nodes', () => {
    const { nodes, edges } = toFlow(welcome);
    nodes[1].data.j.branches = [];
    const kept = pruneEdges(nodes.filter((n) => n.id !== 'done'), edges);
    expect(kept.some((e) => e.sourceHandle === 'b:pro')).toBe(false);
    expect(kept.some((e) => e.target === 'done')).toBe(false);
    expect(kept.some((e) => e.sourceHandle === 'else')).toBe(true);
  });

  it('names new nodes uniquely', () => {
    expect(newNodeId('update_profile', ['update-profile-1'])).toBe('update-profile-2');
    expect(newNodeId('condition', [])).toBe('condition-1');
  });
});
