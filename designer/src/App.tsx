import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { del, errorText, get, hasSessionCookie, post, setCsrfToken, setUnauthenticatedHandler } from './api';
import { allows, type Me } from './model';
import { go, useRoute } from './route';
import { JourneyList } from './screens/JourneyList';
import { JourneyEditor } from './screens/JourneyEditor';
import { EventDefinitions } from './screens/EventDefinitions';
import { Users } from './screens/Users';
import { Plugins } from './screens/Plugins';
import { Actions, DataSources, EventDebugger, Keys } from './screens/Config';

// The report page and the trace view carry the chart library: loaded when first opened.
const ReportPage = lazy(() => import('./screens/Report').then((m) => ({ default: m.ReportPage })));
const ProfileTrace = lazy(() => import('./screens/Report').then((m) => ({ default: m.ProfileTrace })));

export function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checked, setChecked] = useState(false);
  const route = useRoute();

  useEffect(() => {
    setUnauthenticatedHandler(() => setMe(null));
    if (!hasSessionCookie()) {
      setChecked(true);
      return;
    }
    get<Me>('/v1/me')
      .then((m) => {
        setCsrfToken(m.csrfToken ?? '');
        setMe(m);
      })
      .catch(() => setMe(null))
      .finally(() => setChecked(true));
  }, []);

  const signOut = useCallback(async () => {
    try {
      await del('/v1/sessions/current');
    } finally {
      setCsrfToken('');
      setMe(null);
    }
  }, []);

  if (!checked) return null;
  if (!me) return <SignIn onSignedIn={setMe} />;

  const section = route[0] ?? 'journeys';
  let screen;
  switch (section) {
    case 'events':
      screen = <EventDefinitions me={me} />;
      break;
    case 'plugins':
      screen = <Plugins me={me} />;
      break;
    case 'users':
      screen = <Users me={me} />;
      break;
    case 'actions':
      screen = <Actions me={me} />;
      break;
    case 'data-sources':
      screen = <DataSources me={me} />;
      break;
    case 'keys':
      screen = <Keys />;
      break;
    case 'debugger':
      screen = <EventDebugger />;
      break;
    case 'trace':
      screen = <ProfileTrace key={route[1] ?? ''} initial={route[1]} />;
      break;
    default:
      screen = route[1] && route[2] === 'report' ? <ReportPage id={route[1]} /> : route[1] ? <JourneyEditor key={route[1]} id={route[1]} me={me} /> : <JourneyList me={me} />;
  }
  const nav = (id: string, label: string) => (
    <a href={`#/${id}`} aria-current={section === id ? 'page' : undefined} className={section === id ? 'active' : ''}>
      {label}
    </a>
  );
  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">Wayline</span>
        <nav aria-label="Main">
          {nav('journeys', 'Journeys')}
          {nav('events', 'Event definitions')}
          {nav('actions', 'Actions')}
          {nav('data-sources', 'Data sources')}
          {nav('plugins', 'Plugins')}
          {nav('debugger', 'Event debugger')}
          {nav('trace', 'Profile trace')}
          {allows(me.role, 'admin') && nav('keys', 'API keys')}
          {allows(me.role, 'admin') && nav('users', 'Users')}
        </nav>
        <span className="who">
          {me.user?.username ?? 'API key'} · <span data-testid="role">{me.role}</span>
        </span>
        {me.kind === 'user' && (
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        )}
      </header>
      <main className="main">
        <Suspense fallback={<p className="page">Loading…</p>}>{screen}</Suspense>
      </main>
    </div>
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (m: Me) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const s = await post<{ csrfToken: string; user: { id: string; username: string; role: Me['role'] } }>('/v1/sessions', { username, password });
      setCsrfToken(s.csrfToken);
      onSignedIn({ kind: 'user', role: s.user.role, user: s.user, csrfToken: s.csrfToken });
      if (!location.hash) go('journeys');
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to Wayline</h1>
        <label>
          Username
          <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="hint">The first admin's password is printed when a node starts for the first time (or set one with <code>wayline users</code>).</p>
      </form>
    </main>
  );
}
