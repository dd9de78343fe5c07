// The API client: same-origin fetches with the session cookie, the CSRF header on every
// state-changing call, and errors in the API's one shape.
import type { ApiErrorDetail } from './model';

let csrfToken = '';
let onUnauthenticated: () => void = () => {};

export function setCsrfToken(t: string): void {
  csrfToken = t;
}

export function setUnauthenticatedHandler(fn: () => void): void {
  onUnauthenticated = fn;
}

/** hasSessionCookie reports whether the page holds a session (the readable CSRF cookie is set
 * with the HttpOnly session cookie); without one, asking /v1/me would only answer 401. */
export function hasSessionCookie(): boolean {
  return document.cookie.split(';').some((c) => c.trim().startsWith('wayline_csrf='));
}

export class ApiError extends Error {
  constructor(
    public status: number,
    public details: ApiErrorDetail[],
  ) {
    super(details.map((d) => d.message).join('; ') || `HTTP ${status}`);
  }
  get code(): string {
    return this.details[0]?.code ?? '';
  }
  get field(): string | undefined {
    return this.details[0]?.field;
  }
}

export async function api<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const h: Record<string, string> = { Accept: 'application/json', ...headers };
  let payload: BodyInit | undefined;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (method !== 'GET' && csrfToken) h['X-CSRF-Token'] = csrfToken;
  const resp = await fetch(path, { method, headers: h, body: payload, credentials: 'same-origin' });
  if (resp.status === 204) return undefined as T;
  const text = await resp.text();
  let data: unknown = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(resp.status, [{ code: 'invalid_json', message: `the server answered ${resp.status} with something other than JSON` }]);
  }
  if (!resp.ok) {
    const d = data as { error?: ApiErrorDetail; errors?: ApiErrorDetail[] } | undefined;
    const details = d?.errors ?? (d?.error ? [d.error] : [{ code: 'http_' + resp.status, message: `HTTP ${resp.status}` }]);
    if (resp.status === 401 && !path.startsWith('/v1/sessions')) onUnauthenticated();
    throw new ApiError(resp.status, details);
  }
  return data as T;
}

export const get = <T,>(path: string) => api<T>('GET', path);
export const post = <T,>(path: string, body?: unknown, headers?: Record<string, string>) => api<T>('POST', path, body, headers);
export const put = <T,>(path: string, body?: unknown, headers?: Record<string, string>) => api<T>('PUT', path, body, headers);
export const del = <T,>(path: string) => api<T>('DELETE', path);

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.details.map((d) => (d.field ? `${d.field}: ${d.message}` : d.message)).join('\n');
  return e instanceof Error ? e.message : String(e);
}
