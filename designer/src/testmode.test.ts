import { describe, expect, it } from 'vitest';
import { clock, formValue, litNodes, pathSteps, type TraceStep } from './testmode';

const steps: TraceStep[] = [
  { at: '2026-01-01T10:00:01Z', kind: 'entered', journeyId: 'j', version: 0, nodeId: 'event-1' },
  { at: '2026-01-01T10:00:00Z', kind: 'event', detail: 'user.signup' },
  { at: '2026-01-01T10:00:01Z', kind: 'node', journeyId: 'j', version: 0, nodeId: 'condition-1', outcome: 'branch', detail: 'b1', data: { event: { plan: 'pro' } } },
  { at: '2026-01-01T10:00:01Z', kind: 'node', journeyId: 'j', version: 1, nodeId: 'condition-1', outcome: 'passed' },
  { at: '2026-01-01T09:00:00Z', kind: 'entered', journeyId: 'j', version: 0, nodeId: 'event-1' },
  { at: '2026-01-01T10:00:02Z', kind: 'exited', journeyId: 'j', version: 0, nodeId: 'end-1', outcome: 'completed' },
];

describe('test mode', () => {
  it('keeps the draft steps of this run, oldest first', () => {
    const got = pathSteps(steps, 'j', '2026-01-01T09:59:59Z');
    expect(got.map((s) => s.nodeId)).toEqual(['event-1', 'condition-1', 'end-1']);
  });
  it('numbers lit nodes in visit order with the branch taken', () => {
    const lit = litNodes(pathSteps(steps, 'j', '2026-01-01T09:59:59Z'));
    expect([...lit.keys()]).toEqual(['event-1', 'condition-1', 'end-1']);
    expect(lit.get('condition-1')).toMatchObject({ order: 2, outcome: '→ b1' });
    expect(lit.get('end-1')?.outcome).toBe('exited');
  });
  it('keeps the branch taken over a later "passed"', () => {
    const lit = litNodes([...pathSteps(steps, 'j', '2026-01-01T09:59:59Z'), { at: '2026-01-01T10:00:01Z', kind: 'node', journeyId: 'j', version: 0, nodeId: 'condition-1', outcome: 'passed' }]);
    expect(lit.get('condition-1')?.outcome).toBe('→ b1');
    expect(clock('2026-01-01T10:00:01.834567Z')).toBe('10:00:01.834');
  });
  it('types form values from the schema', () => {
    expect(formValue({ path: 'n', type: 'integer' }, '42')).toBe(42);
    expect(formValue({ path: 'b', type: 'boolean' }, 'false')).toBe(false);
    expect(formValue({ path: 's', type: 'string' }, '')).toBeUndefined();
    expect(formValue({ path: 's' }, 'pro')).toBe('pro');
  });
});
