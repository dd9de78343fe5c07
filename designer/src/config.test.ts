import { describe, expect, it } from 'vitest';
import { actionBody, actionForm, emptyActionForm, flattenRecent, parseJSONField, sourceBody, sourceForm } from './config';

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

describe('editing', () => {
  const stored = {
    id: 'crm', name: 'CRM', kind: 'rest', method: 'POST', url: 'https://x.test/h', version: 3,
    auth: { type: 'bearer', token: '••••' }, headers: { 'X-Api-Key': '••••', 'X-Team': 'a' }, retry: { maxAttempts: 5 },
    payload: { user: '{{ event.data.userId }}' }, secretsSet: { token: true }, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z',
  };
  it('loads an action with its token shown as set, never its value', () => {
    const f = actionForm(stored);
    expect(f).toMatchObject({ id: 'crm', url: 'https://x.test/h', token: '', tokenSet: true });
    expect(JSON.parse(f.payload)).toEqual(stored.payload);
  });
  it('saves over the stored action: the revision and unshown fields kept, a masked secret sent back to be kept', () => {
    const b = actionBody({ ...actionForm(stored), url: 'https://x.test/v2' });
    expect(b).toMatchObject({ url: 'https://x.test/v2', version: 3, retry: { maxAttempts: 5 }, headers: { 'X-Api-Key': '••••' }, auth: { type: 'bearer', token: '••••' } });
    expect(b).not.toHaveProperty('secretsSet');
    expect(b).not.toHaveProperty('createdAt');
  });
  it('replaces a secret only when one is typed', () => {
    expect(actionBody({ ...actionForm(stored), token: 'new' }).auth).toEqual({ type: 'bearer', token: 'new' });
  });
  it('keeps channel message fields the form does not show and masked provider secrets', () => {
    const f = actionForm({ id: 'w', name: 'W', kind: 'email', version: 1, message: { subject: 'Hi', html: '<p>x</p>', text: 't' }, provider: { host: 'h', password: '••••' } });
    const b = actionBody({ ...f, subject: 'Hello' });
    expect(b.message).toEqual({ subject: 'Hello', html: '<p>x</p>', text: 't' });
    expect(b.provider).toEqual({ host: 'h', password: '••••' });
  });
  it('edits a REST data source over the stored one', () => {
    const f = sourceForm({ id: 'crm', name: 'CRM', kind: 'rest', version: 2, groups: [{ name: 'main' }], cacheTtl: '1m', rest: { baseUrl: 'https://c.test', auth: { type: 'bearer', token: '••••' }, timeout: '2s' }, secretsSet: { token: true } });
    expect(f).toMatchObject({ baseUrl: 'https://c.test', token: '', tokenSet: true });
    const b = sourceBody({ ...f, baseUrl: 'https://c2.test' });
    expect(b).toMatchObject({ version: 2, rest: { baseUrl: 'https://c2.test', auth: { type: 'bearer', token: '••••' }, timeout: '2s' } });
    expect(b).not.toHaveProperty('secretsSet');
    expect(sourceBody({ ...f, token: 't2' }).rest).toMatchObject({ auth: { type: 'bearer', token: 't2' } });
  });
});
