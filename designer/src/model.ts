// The journey definition as the API takes it (runtime/model/model.go). Field names are the JSON.

export type Kind = 'event' | 'condition' | 'wait' | 'action' | 'update_profile' | 'end';

export interface PluginRef {
  name: string;
  version?: string;
  config?: unknown;
}

export interface TimeWindow {
  days?: string[];
  start: string;
  end: string;
  timeZoneAttribute?: string;
  defaultTimeZone?: string;
}

export interface Branch {
  id: string;
  name?: string;
  expression?: string;
  timeWindow?: TimeWindow;
  plugin?: PluginRef;
  next: string;
}

export interface Split {
  id: string;
  percent: number;
  next: string;
}

export interface JNode {
  id: string;
  kind: Kind;
  name?: string;
  position?: { x: number; y: number };
  next?: string;
  event?: string;
  condition?: string;
  timeout?: string;
  timeoutNext?: string;
  branches?: Branch[];
  else?: string;
  split?: Split[];
  duration?: string;
  until?: string;
  untilExpression?: string;
  action?: string;
  payload?: unknown;
  errorNext?: string;
  set?: Record<string, string>;
  unset?: string[];
  vars?: Record<string, string>;
}

export interface Rules {
  reentrance: { mode: string; wait?: string };
  timeout?: string;
  exitEvents?: { event: string; condition?: string }[];
}

export interface Definition {
  nodes: JNode[];
  rules: Rules;
}

export interface Journey {
  id: string;
  name: string;
  description?: string;
  status: 'draft' | 'live' | 'stopped';
  liveVersion?: number;
  versions: number;
  draft?: Definition | null;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface JourneyVersion {
  journeyId: string;
  version: number;
  name: string;
  definition: Definition;
  publishedAt: string;
}

export interface ApiErrorDetail {
  code: string;
  message: string;
  field?: string;
}

export interface SchemaField {
  path: string;
  type?: string;
  required?: boolean;
  enum?: unknown[];
  format?: string;
}

export interface EventDefinition {
  name: string;
  description?: string;
  schema?: unknown;
  identityField: string;
  identityNamespace: string;
  qualifier?: string;
  public: boolean;
  version: number;
  fields?: SchemaField[];
}

export interface Action {
  id: string;
  name: string;
  kind?: string;
  plugin?: PluginRef;
  method?: string;
  url?: string;
}

export interface PluginVersion {
  version: string;
  kinds: string[];
  sha256: string;
  size: number;
  manifest?: unknown;
  uploadedAt: string;
}

export interface Plugin {
  name: string;
  description?: string;
  versions: PluginVersion[];
}

export interface Report {
  journeyId: string;
  status: string;
  liveVersion: number;
  active: number;
  totals: Record<string, number>;
  versions: { version: number; totals: Record<string, number>; nodes: Record<string, Record<string, number>> }[];
}

export type Role = 'admin' | 'editor' | 'viewer' | 'ingest';

export interface Me {
  kind: 'user' | 'key';
  role: Role;
  user?: { id: string; username: string; role: Role };
  csrfToken?: string;
}

const rank: Record<string, number> = { viewer: 1, editor: 2, admin: 3 };

/** allows reports whether role may do what needs `need` (as runtime/auth.Allows). */
export function allows(role: string | undefined, need: 'viewer' | 'editor' | 'admin'): boolean {
  return (rank[role ?? ''] ?? 0) >= rank[need];
}
