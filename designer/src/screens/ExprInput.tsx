import { useEffect, useId, useRef, useState } from 'react';
import { post } from '../api';
import type { ApiErrorDetail, SchemaField } from '../model';

// A CEL expression input checked by the server as the user types (POST /v1/expressions/check,
// which compiles it the way validation will), with a field picker built from the event schema.
export function ExprInput(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  kind?: 'condition' | 'timestamp' | 'value' | 'template';
  events: string[];
  fields: SchemaField[];
  readOnly?: boolean;
  name?: string;
}) {
  const { label, value, onChange, kind = 'condition', events, fields, readOnly } = props;
  const id = useId();
  const [status, setStatus] = useState<{ valid: boolean; errors: ApiErrorDetail[] } | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);
  const eventsKey = events.join(',');

  useEffect(() => {
    if (!value.trim()) {
      setStatus(null);
      return;
    }
    let live = true;
    const t = setTimeout(() => {
      post<{ valid: boolean; errors: ApiErrorDetail[] }>('/v1/expressions/check', { expression: value, kind, events })
        .then((r) => live && setStatus(r))
        .catch(() => live && setStatus(null));
    }, 250);
    return () => {
      live = false;
      clearTimeout(t);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value, kind, eventsKey]);

  const insert = (path: string) => {
    if (!path) return;
    const ta = ref.current;
    const start = ta?.selectionStart ?? value.length;
    const end = ta?.selectionEnd ?? value.length;
    const next = value.slice(0, start) + path + value.slice(end);
    onChange(next);
    requestAnimationFrame(() => {
      ta?.focus();
      ta?.setSelectionRange(start + path.length, start + path.length);
    });
  };

  const accessor = (f: SchemaField) => {
    const parts = f.path.split('.');
    // Optional fields read with ?. so a missing key is not an evaluation error.
    return 'event.data' + parts.map((p) => (f.required ? '.' : '.?') + p).join('') + (f.required ? '' : '.orValue(' + zeroOf(f.type) + ')');
  };

  return (
    <div className="expr">
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        ref={ref}
        name={props.name}
        value={value}
        rows={2}
        spellCheck={false}
        readOnly={readOnly}
        aria-invalid={status ? !status.valid : undefined}
        aria-describedby={id + '-status'}
        onChange={(e) => onChange(e.target.value)}
      />
      {!readOnly && fields.length > 0 && (
        <select aria-label={`Insert a field into ${label}`} value="" onChange={(e) => insert(e.target.value)} className="field-picker">
          <option value="">Insert field…</option>
          {fields
            .filter((f) => !f.path.includes('[]'))
            .map((f) => (
              <option key={f.path} value={accessor(f)}>
                event.data.{f.path}
                {f.type ? ` (${f.type})` : ''}
              </option>
            ))}
          <option value="profile.attributes.">profile.attributes.…</option>
          <option value="now">now (timestamp)</option>
        </select>
      )}
      <div id={id + '-status'} className={`expr-status ${status ? (status.valid ? 'ok' : 'bad') : ''}`} aria-live="polite">
        {status ? (status.valid ? '✓ valid' : status.errors.map((e) => e.message).join('; ')) : ''}
      </div>
    </div>
  );
}

function zeroOf(type?: string): string {
  switch (type) {
    case 'number':
    case 'integer':
      return '0.0';
    case 'boolean':
      return 'false';
    default:
      return "''";
  }
}
