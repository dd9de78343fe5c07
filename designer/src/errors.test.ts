import { describe, expect, it } from 'vitest';
import { fieldLabel, mapErrors } from './errors';
import type { JNode } from './model';

const nodes: JNode[] = [
  { id: 'signup', kind: 'event', event: 'user.signup' },
  { id: 'check', kind: 'condition', branches: [{ id: 'b1', name: 'Pro', expression: 'x', next: '' }] },
  { id: 'done', kind: 'end' },
];

describe('mapErrors', () => {
  it('pins errors on the node their field path names, without the node prefix', () => {
    const { byNode, global } = mapErrors(
      [
        { code: 'invalid_expression', message: 'node check: 1:1: undeclared reference to x', field: 'nodes[1].branches[0].expression' },
        { code: 'journey_invalid', message: 'node check: a condition needs an else path, taken when no branch matches', field: 'nodes[1].else' },
        { code: 'journey_invalid', message: 'event type "nope" is not defined', field: 'rules.exitEvents[0].event' },
      ],
      nodes,
    );
    expect(byNode.get('check')).toEqual([
      { code: 'invalid_expression', message: '1:1: undeclared reference to x', field: 'branches[0].expression', nodeId: 'check' },
      { code: 'journey_invalid', message: 'a condition needs an else path, taken when no branch matches', field: 'else', nodeId: 'check' },
    ]);
    expect(global).toHaveLength(1);
    expect(global[0].field).toBe('rules.exitEvents[0].event');
  });

  it('falls back on the node named in the message, and keeps unknown nodes global', () => {
    const { byNode, global } = mapErrors(
      [
        { code: 'journey_invalid', message: 'node done: is not reachable from the entry' },
        { code: 'journey_invalid', message: 'node ghost: something', field: 'nodes[9].next' },
        { code: 'journey_invalid', message: 'a journey needs at least an entry event node and an end node', field: 'nodes' },
      ],
      nodes,
    );
    expect(byNode.get('done')?.[0].message).toBe('is not reachable from the entry');
    expect(global.map((e) => e.field)).toEqual(['nodes[9].next', 'nodes']);
  });
});

describe('fieldLabel', () => {
  it('names branches and arms in words', () => {
    expect(fieldLabel('branches[0].expression', nodes[1])).toBe('Pro › expression');
    expect(fieldLabel('branches[0].next', nodes[1])).toBe('Pro › connection');
    expect(fieldLabel('split[1].percent')).toBe('arm 2 › percent');
    expect(fieldLabel('')).toBe('');
    expect(fieldLabel('else')).toBe('else');
  });
});
