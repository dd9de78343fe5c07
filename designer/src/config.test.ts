import { describe, expect, it } from 'vitest';
import { actionBody, emptyActionForm, flattenRecent, parseJSONField } from './config';

describe('action form', () => {
  it('builds a REST action with a write-only token and a JSON payload', () => {
    const b = actionBody({ ...emptyActionForm(), id: 'crm', name: 'CRM', url: ' https://x.test/h ', token: 's3cret' });
    expect(b).toMatchObject({ id: 'crm', kind: 'rest', method: 'POST', url: 'https://x.test/h', auth: { type: 'bearer', token: 's3cret' } });
    expect(b.payload).toEqual({ user: '{{ event.data.userId }}' });
  });
  it('leaves the secret out when none is typed', () => {
    expect(actionBody({ ...emptyActionForm(), id: 'a', name: 'A', url: 'https://x.test' }).auth).toBeUndefined();
  });
  it('maps message fields per channel', () => {
    expect(actionBody({ ...emptyActionForm(), kind: 'push', id: 'p', name: 'P', title: 'Hi', text: 'Body' }).message).toEqual({ title: 'Hi', body: 'Body' });
    expect(actionBody({ ...emptyActionForm(), kind: 'sms', id: 's', name: 'S', text: 'Yo' }).message).toEqual({ text: 'Yo' });
  });
  it('names the field of bad JSON', () => {
    expect(() => parseJSONField('{', 'groups')).toThrow(/groups: not valid JSON/);
  });
});

describe('event debugger', () => {
  it('merges accepted and rejected events of every type, newest first', () => {
    const got = flattenRecent([
      { type: 'a', accepted: [{ at: '2026-01-01T10:00:01Z', type: 'a', status: 'accepted' }], rejected: [{ at: '2026-01-01T10:00:03Z', type: 'a', status: 'rejected' }] },
      { type: 'b', accepted: [{ at: '2026-01-01T10:00:02Z', type: 'b', status: 'accepted' }] },
    ]);
    expect(got.map((e) => e.at.slice(-3))).toEqual(['03Z', '02Z', '01Z']);
  });
});
