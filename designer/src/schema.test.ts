import { describe, expect, it } from 'vitest';
import { curlSnippet, samplePayload, toSchema } from './schema';

describe('schema builder', () => {
  const rows = [
    { name: 'userId', type: 'string' as const, required: true },
    { name: 'plan', type: 'string' as const, required: false },
    { name: 'amount', type: 'number' as const, required: false },
    { name: '', type: 'string' as const, required: true },
  ];
  it('builds a JSON Schema with required fields, skipping unnamed rows', () => {
    expect(toSchema(rows)).toEqual({
      type: 'object',
      properties: { userId: { type: 'string' }, plan: { type: 'string' }, amount: { type: 'number' } },
      required: ['userId'],
    });
    expect(toSchema([])).toEqual({ type: 'object', properties: {} });
  });
  it('makes a sample event and a curl line to send it', () => {
    expect(samplePayload('user.signup', rows)).toEqual({ type: 'user.signup', data: { userId: 'u1', plan: 'text', amount: 42 } });
    expect(curlSnippet('http://127.0.0.1:8080', 'user.signup', rows.slice(0, 1))).toBe(
      `curl -s -H "Authorization: Bearer $WAYLINE_KEY" -d '{"type":"user.signup","data":{"userId":"u1"}}' http://127.0.0.1:8080/v1/events`,
    );
  });
});
