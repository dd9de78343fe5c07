import { useEffect, useState } from 'react';
import { del, errorText, get, post } from '../api';
import type { Me } from '../model';

interface UserView {
  id: string;
  username: string;
  role: string;
  createdAt: string;
}

export function Users({ me }: { me: Me }) {
  const [items, setItems] = useState<UserView[]>([]);
  const [error, setError] = useState('');
  const [username, setUsername] = useState('');
  const [role, setRole] = useState('editor');
  const [password, setPassword] = useState('');
  const reload = () =>
    get<{ items: UserView[] }>('/v1/users?limit=1000')
      .then((r) => setItems(r.items))
      .catch((e) => setError(errorText(e)));
  useEffect(() => {
    reload();
  }, []);
  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    setError('');
    try {
      await post('/v1/users', { username, role, password });
      setUsername('');
      setPassword('');
      reload();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <section className="page">
      <h1>Users</h1>
      <form className="card inline-form" onSubmit={create} aria-label="New user">
        <label>
          Username
          <input value={username} onChange={(e) => setUsername(e.target.value)} required autoComplete="off" />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value)}>
            <option>admin</option>
            <option>editor</option>
            <option>viewer</option>
          </select>
        </label>
        <label>
          Initial password
          <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} minLength={10} required autoComplete="new-password" />
        </label>
        <button type="submit" className="primary">
          Add user
        </button>
      </form>
      {error && <p role="alert" className="error">{error}</p>}
      <table className="list">
        <thead>
          <tr>
            <th>Username</th>
            <th>Role</th>
            <th>Created</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {items.map((u) => (
            <tr key={u.id}>
              <td>{u.username}</td>
              <td>{u.role}</td>
              <td>{new Date(u.createdAt).toLocaleString()}</td>
              <td>
                {u.id !== me.user?.id && (
                  <button type="button" className="link" onClick={() => del(`/v1/users/${encodeURIComponent(u.id)}`).then(reload, (e) => setError(errorText(e)))}>
                    Delete {u.username}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="hint">API keys for machines are managed under /v1/keys.</p>
    </section>
  );
}
