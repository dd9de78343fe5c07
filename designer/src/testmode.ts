// Test mode's logic: which trace steps belong to a test run of a journey's draft, the nodes
// they light up, and typed values from the generated event form.
import type { SchemaField } from './model';

/** TraceStep is one step of GET /v1/profiles/{id}/trace. */
export interface TraceStep {
  at: string;
  journeyId?: string;
  version?: number;
  instanceId?: string;
  nodeId?: string;
  kind: string;
  outcome?: string;
  detail?: string;
  eventId?: string;
  data?: Record<string, unknown>;
}

/** DRAFT_VERSION is the version number the engine gives a journey's draft (test mode). */
export const DRAFT_VERSION = 0;

/** pathSteps keeps the steps of the journey's draft at or after since, oldest first. */
export function pathSteps(steps: TraceStep[], journeyId: string, since: string): TraceStep[] {
  return steps.filter((s) => s.journeyId === journeyId && (s.version ?? 0) === DRAFT_VERSION && s.at >= since).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

export interface Lit {
  order: number;
  at: string;
  outcome: string;
  error?: boolean;
}

/** litNodes numbers the nodes a path visited, in order; a node visited again keeps its first
 * number and its latest outcome. */
export function litNodes(steps: TraceStep[]): Map<string, Lit> {
  const out = new Map<string, Lit>();
  for (const s of steps) {
    if (!s.nodeId) continue;
    const outcome = s.kind === 'node' ? (s.outcome === 'branch' ? `→ ${s.detail}` : (s.outcome ?? '')) : s.kind;
    const prev = out.get(s.nodeId);
    if (prev) {
      if (!prev.outcome.startsWith('→')) prev.outcome = outcome; // the branch taken says more than a later "passed"
      prev.error ||= s.kind === 'error';
    } else out.set(s.nodeId, { order: out.size + 1, at: s.at, outcome, error: s.kind === 'error' });
  }
  return out;
}

/** formValue turns a form input into the field's JSON value; undefined leaves it out. */
export function formValue(f: SchemaField, raw: string): unknown {
  if (raw === '') return undefined;
  switch (f.type) {
    case 'number':
    case 'integer': {
      const n = Number(raw);
      return Number.isFinite(n) ? n : raw;
    }
    case 'boolean':
      return raw === 'true';
    default:
      return raw;
  }
}

/** clock shows a step's time of day in UTC with milliseconds ("07:41:32.834"). */
export function clock(at: string): string {
  return at.slice(11, 23);
}
