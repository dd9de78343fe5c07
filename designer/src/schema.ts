// The event-definition schema builder's model: a flat list of fields turned into a JSON Schema
// (and back, for the fields it can show).

export interface FieldRow {
  name: string;
  type: 'string' | 'number' | 'integer' | 'boolean';
  required: boolean;
}

export function toSchema(rows: FieldRow[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const r of rows) if (r.name) properties[r.name] = { type: r.type };
  const required = rows.filter((r) => r.name && r.required).map((r) => r.name);
  return { type: 'object', properties, ...(required.length ? { required } : {}) };
}

export function samplePayload(name: string, rows: FieldRow[]): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const r of rows) {
    if (!r.name) continue;
    data[r.name] = r.type === 'string' ? (r.name.toLowerCase().includes('id') ? 'u1' : 'text') : r.type === 'boolean' ? true : 42;
  }
  return { type: name, data };
}

export function curlSnippet(origin: string, name: string, rows: FieldRow[]): string {
  return `curl -s -H "Authorization: Bearer $WAYLINE_KEY" -d '${JSON.stringify(samplePayload(name, rows))}' ${origin}/v1/events`;
}
