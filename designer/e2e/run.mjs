// End-to-end test of the designer: a real `wayline` node (WAYLINE_BIN, built with -tags designer)
// on a free loopback port with a fresh data directory, driven through Debian's Chromium with
// playwright-core. It signs in, defines an event, draws a journey by dragging nodes from the
// palette and connecting them, configures a condition with the field picker, sees a validation
// error and fixes it, publishes, sends events through the API, watches the live counts change on
// the canvas, and checks that a viewer cannot edit. Screenshots of each main screen go to
// E2E_OUT (default designer/e2e/out); any console error in the page fails the test.
//
// Every wait polls for a condition with a deadline (no fixed sleeps), so a slow machine makes
// the test slower, not flaky.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createHTTPServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.WAYLINE_BIN ?? resolve(here, '../../bin/wayline');
const out = resolve(process.env.E2E_OUT ?? join(here, 'out'));
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const pluginsDir = process.env.PLUGINS_DIR ?? resolve(here, '../../bin/plugins');
const pluginManifest = resolve(here, '../../plugins/examples/loyalty-tier/manifest.json');
const adminKey = 'e2e-admin-key-0123456789';
const adminPassword = 'e2e-admin-password';
const viewerPassword = 'e2e-viewer-password';
const started = Date.now();

function log(msg) {
  console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
}

async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

async function waitFor(what, fn, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not true after ${timeoutMs} ms${last ? ` (last error: ${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startNode() {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'wayline-e2e-'));
  const url = `http://127.0.0.1:${port}`;
  let logs = '';
  // --allow-net lets REST actions reach the test's own receiver on loopback.
  const proc = spawn(bin, ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--admin-key', adminKey, '--admin-password', adminPassword, '--allow-net', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout.on('data', (b) => (logs += b));
  proc.stderr.on('data', (b) => (logs += b));
  let exited = false;
  proc.on('exit', () => (exited = true));
  await waitFor('the node answers /readyz', async () => {
    if (exited) throw new Error(`the node exited:\n${logs}`);
    const r = await fetch(url + '/readyz');
    return r.ok;
  });
  return {
    url,
    logs: () => logs,
    stop: () => {
      proc.kill('SIGKILL');
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** startReceiver answers every request 200 and remembers it: the REST action's far end. */
async function startReceiver() {
  const seen = [];
  const srv = createHTTPServer((req, res) => {
    seen.push({ method: req.method, url: req.url, auth: req.headers.authorization });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  srv.unref();
  return { url: `http://127.0.0.1:${srv.address().port}`, seen };
}

/** startMailSink is a minimal SMTP server on loopback that keeps each message it receives: the
 * far end of the email action's send test. It speaks just what an SMTP client without TLS or
 * AUTH needs (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT). */
async function startMailSink() {
  const messages = [];
  const srv = createServer((sock) => {
    let buf = '';
    let data = null;
    const reply = (l) => sock.write(l + '\r\n');
    reply('220 localhost e2e sink');
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      for (let i; (i = buf.indexOf('\r\n')) >= 0; ) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (data !== null) {
          if (line === '.') {
            messages.push(data.join('\n'));
            data = null;
            reply('250 OK queued');
          } else data.push(line.startsWith('..') ? line.slice(1) : line);
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') reply('250 localhost');
        else if (verb === 'DATA') (data = []), reply('354 end with <CRLF>.<CRLF>');
        else if (verb === 'QUIT') reply('221 bye'), sock.end();
        else reply('250 OK');
      }
    });
    sock.on('error', () => {});
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  srv.unref();
  return { port: srv.address().port, messages };
}

async function call(node, method, path, body) {
  const r = await fetch(node.url + path, {
    method,
    headers: { Authorization: `Bearer ${adminKey}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

/** connectHandles drags a connection from a node's output handle to another node's input. */
async function connectHandles(page, source, handle, target) {
  const from = page.locator(`[data-testid="handle-${source}-${handle}"]`);
  const to = page.locator(`.react-flow__node[data-id="${target}"] .react-flow__handle.target`);
  const a = await from.boundingBox();
  const b = await to.boundingBox();
  if (!a || !b) throw new Error(`connect ${source}:${handle} → ${target}: handle not visible`);
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 });
  await page.mouse.up();
  await waitFor(`edge ${source}:${handle} → ${target}`, () => page.locator(`.react-flow__edge[data-id="${source}→${handle}"], [data-testid="rf__edge-${source}→${handle}"]`).count());
}

async function dragFromPalette(page, key, x, y) {
  const before = await page.locator('.react-flow__node').count();
  await page.locator(`[data-testid="palette-${key}"]`).dragTo(page.locator('[data-testid="canvas"]'), { targetPosition: { x, y } });
  await waitFor(`a node dropped from palette item ${key}`, async () => (await page.locator('.react-flow__node').count()) === before + 1);
}

async function shot(page, name) {
  await page.screenshot({ path: join(out, name) });
  log(`screenshot ${name}`);
}

async function signIn(page, node, user, password) {
  await page.goto(node.url + '/');
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Journeys' }).waitFor();
}

async function main() {
  mkdirSync(out, { recursive: true });
  const node = await startNode();
  const hooks = await startReceiver();
  const mail = await startMailSink();
  log(`node on ${node.url}`);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const consoleErrors = [];
  const watch = (page, who) => {
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(`${who}: ${m.text()}`));
    page.on('pageerror', (e) => consoleErrors.push(`${who}: uncaught ${e.message}`));
  };
  try {
    // --- sign in ---------------------------------------------------------------------------------
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    watch(page, 'admin');
    page.setDefaultTimeout(15000);
    await page.goto(node.url + '/');
    await page.getByRole('heading', { name: 'Sign in to Wayline' }).waitFor();
    await shot(page, '01-sign-in.png');
    await signIn(page, node, 'admin', adminPassword);
    log('signed in as admin');

    // --- an event definition, through the schema builder ----------------------------------------
    await page.getByRole('link', { name: 'Event definitions' }).click();
    await page.getByRole('button', { name: 'New event definition' }).click();
    await page.getByLabel('Event name').fill('user.signup');
    await page.getByRole('button', { name: 'Add field' }).click();
    await page.getByLabel('Field 2 name').fill('plan');
    await page.getByRole('button', { name: 'Create event definition' }).click();
    await page.getByRole('cell', { name: 'user.signup' }).waitFor();
    await shot(page, '02-event-definitions.png');
    log('event definition created');

    // --- a journey, drawn on the canvas --------------------------------------------------------
    await page.getByRole('link', { name: 'Journeys' }).click();
    await page.getByRole('button', { name: 'New journey' }).click();
    await page.getByLabel('Name').fill('Onboarding');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('[data-testid="palette-event:user.signup"]').waitFor();
    await dragFromPalette(page, 'event:user.signup', 110, 220);
    await dragFromPalette(page, 'condition', 340, 220);
    await dragFromPalette(page, 'update_profile', 580, 110);
    await dragFromPalette(page, 'end', 580, 400);
    // Undo takes the last drop back, redo restores it.
    await page.getByRole('button', { name: 'Undo' }).click();
    await waitFor('undo removes the end node', async () => (await page.locator('.react-flow__node').count()) === 3);
    await page.getByRole('button', { name: 'Redo' }).click();
    await waitFor('redo restores the end node', async () => (await page.locator('.react-flow__node').count()) === 4);
    await connectHandles(page, 'event-1', 'next', 'condition-1');
    await connectHandles(page, 'condition-1', 'b:b1', 'update-profile-1');
    await connectHandles(page, 'update-profile-1', 'next', 'end-1');
    log('journey drawn');

    // The condition, with the field picker; the server checks it as it is typed.
    await page.locator('[data-testid="node-condition-1"]').click();
    const picker = page.getByLabel('Insert a field into Branch 1 condition');
    await picker.selectOption({ label: 'event.data.plan (string)' });
    const exprBox = page.getByLabel('Branch 1 condition', { exact: true });
    await waitFor('the picker inserts the field', async () => (await exprBox.inputValue()).includes('plan'));
    await exprBox.press('End');
    await exprBox.pressSequentially(" == 'pro'");
    await page.getByText('✓ valid').waitFor();
    // The update-profile node sets an attribute.
    await page.locator('[data-testid="node-update-profile-1"]').click();
    await page.getByRole('button', { name: 'Add attribute' }).click();
    await page.getByLabel('Attribute').fill('vip');
    await page.locator('[data-testid="save-state"]', { hasText: 'All changes saved' }).waitFor();

    // Validate: the condition has no else path; the error is pinned on the node and listed.
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.locator('[data-testid="errors-condition-1"]', { hasText: 'else path' }).waitFor();
    await page.locator('[data-testid="problems"]', { hasText: 'else' }).waitFor();
    await page.locator('.react-flow__pane').click({ position: { x: 40, y: 40 } });
    await shot(page, '03-canvas-validation-error.png');
    log('validation error shown');
    await connectHandles(page, 'condition-1', 'else', 'end-1');
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.getByText('No problems found').waitFor();
    log('fixed');

    // Test mode: a test profile, an event from the form generated from the schema, and the
    // path lit up on the draft, step by step, with what the condition saw.
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    await page.getByLabel('Test profile').fill('test:alice');
    await page.getByRole('button', { name: 'Use test profile' }).click();
    await page.locator('[data-testid="test-profile"]').waitFor();
    await page.getByLabel('Test field plan').fill('pro');
    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.locator('[data-testid="lit-condition-1"]', { hasText: '→ b1' }).waitFor();
    await page.locator('[data-testid="lit-update-profile-1"]').waitFor();
    await page.locator('[data-testid="lit-end-1"]').waitFor();
    if (await page.locator('[data-testid="lit-event-1"]').count() === 0) throw new Error('test mode: the entry node is not lit');
    await page.locator('[data-testid="test-steps"]').getByText('what the condition saw').first().click();
    await page.locator('[data-testid="test-steps"] pre', { hasText: '"plan": "pro"' }).waitFor();
    await shot(page, '04-test-mode.png');
    await page.getByRole('button', { name: 'Leave test mode' }).click();
    const testReport = await call(node, 'GET', '/v1/journeys/onboarding/report');
    if ((testReport.body.totals.entered ?? 0) !== 0) throw new Error(`a test run counts in the journey's totals: ${JSON.stringify(testReport.body.totals)}`);
    log('test mode lit the path');

    // Publish, with confirmation; the live version shows read-only.
    await page.getByRole('button', { name: 'Publish…' }).click();
    await page.getByRole('dialog').waitFor();
    await shot(page, '05-publish-confirm.png');
    await page.getByRole('dialog').getByRole('button', { name: 'Publish' }).click();
    await page.locator('[data-testid="journey-status"]', { hasText: 'live v1' }).waitFor();
    if (await page.locator('[data-testid^="palette-"]').count()) throw new Error('the live version shows the palette: it must be read-only');
    log('published');

    // Events through the API; the live counts on the canvas follow.
    const events = [
      { type: 'user.signup', data: { userId: 'u1', plan: 'pro' } },
      { type: 'user.signup', data: { userId: 'u2', plan: 'free' } },
      { type: 'user.signup', data: { userId: 'u3', plan: 'pro' } },
    ];
    const sent = await call(node, 'POST', '/v1/events', events);
    if (sent.status !== 202) throw new Error(`sending events: ${sent.status} ${JSON.stringify(sent.body)}`);
    await page.locator('[data-testid="count-condition-1-b:b1"]', { hasText: '2' }).waitFor();
    await page.locator('[data-testid="count-condition-1-else"]', { hasText: '1' }).waitFor();
    await page.locator('[data-testid="counts-event-1"]', { hasText: '▶ 3' }).waitFor();
    await shot(page, '06-live-counts.png');
    log('live counts shown');

    // The report page: charts over time from the hourly series (a lazily loaded chunk).
    await page.getByRole('button', { name: 'Report' }).click();
    await page.locator('[data-testid="chart-flow"] canvas').waitFor();
    await page.locator('[data-testid="report-summary"]', { hasText: '3' }).waitFor();
    await shot(page, '07-report.png');
    log('report charts shown');

    // The profile trace view of the test profile, with the draft's steps.
    await page.getByRole('link', { name: 'Profile trace' }).click();
    await page.getByLabel('Profile id').fill('test:alice');
    await page.getByRole('button', { name: 'Show trace' }).click();
    await page.locator('[data-testid="trace"]', { hasText: 'onboarding draft' }).waitFor();
    await shot(page, '08-profile-trace.png');

    // The event debugger shows accepted and rejected events with the reason.
    const bad = await call(node, 'POST', '/v1/events', [{ type: 'user.signup', data: { plan: 'pro' } }]);
    if (bad.body?.results?.[0]?.status !== 'rejected') throw new Error(`an event without identity was not rejected: ${bad.status} ${JSON.stringify(bad.body)}`);
    await page.getByRole('link', { name: 'Event debugger' }).click();
    await page.locator('[data-testid="recent-events"] tr', { hasText: 'rejected' }).first().waitFor();
    await page.locator('[data-testid="recent-events"] tr', { hasText: 'accepted' }).first().waitFor();
    await shot(page, '09-event-debugger.png');
    log('event debugger shown');

    // Custom actions: a REST action with a write-only token, and its test call.
    await page.getByRole('link', { name: 'Actions' }).click();
    await page.getByRole('button', { name: 'New action' }).click();
    await page.getByLabel('Action id').fill('crm-hook');
    await page.getByLabel('Action name').fill('CRM hook');
    await page.getByLabel('URL').fill(`${hooks.url}/hooks/{{ event.data.userId }}`);
    await page.getByLabel('Bearer token (write-only)').fill('s3cret-token');
    await page.getByRole('button', { name: 'Create action' }).click();
    await page.getByRole('cell', { name: 'crm-hook', exact: true }).waitFor();
    const stored = await call(node, 'GET', '/v1/actions/crm-hook');
    if (JSON.stringify(stored.body).includes('s3cret-token')) throw new Error('the API returned a write-only action secret');
    await page.getByRole('button', { name: 'Test call crm-hook' }).click();
    await page.locator('[data-testid="action-test-result"]', { hasText: '"ok": true' }).waitFor();
    const hit = hooks.seen.find((h) => h.url === '/hooks/u1');
    if (!hit || hit.auth !== 'Bearer s3cret-token') throw new Error(`the test call did not reach the receiver with the token: ${JSON.stringify(hooks.seen)}`);
    log('action created and test-called');

    // Edit it: the token shows as set and is kept when left empty; the new URL is used.
    await page.getByRole('button', { name: 'Edit crm-hook' }).click();
    const editForm = page.getByRole('form', { name: 'Edit action crm-hook' });
    await editForm.getByText('set', { exact: true }).waitFor();
    if ((await editForm.getByLabel('Bearer token (write-only)').inputValue()) !== '') throw new Error('the edit form shows a stored secret');
    await editForm.getByLabel('URL').fill(`${hooks.url}/v2/hooks/{{ event.data.userId }}`);
    await editForm.getByRole('button', { name: 'Save action' }).click();
    await page.getByRole('cell', { name: /\/v2\/hooks\// }).waitFor();
    const edited = await call(node, 'GET', '/v1/actions/crm-hook');
    if (edited.body.version !== 2) throw new Error(`the edit did not save one new revision: ${JSON.stringify(edited.body)}`);
    await page.getByRole('button', { name: 'Test call crm-hook' }).click();
    await waitFor('the edited action to call its new URL with the kept token', () => hooks.seen.find((h) => h.url === '/v2/hooks/u1'));
    const hit2 = hooks.seen.find((h) => h.url === '/v2/hooks/u1');
    if (hit2.auth !== 'Bearer s3cret-token') throw new Error(`the edit lost the write-only token: ${JSON.stringify(hit2)}`);
    log('action edited, secret kept');

    // An email action's send test: one real message through its SMTP provider.
    await page.getByRole('button', { name: 'New action' }).click();
    await page.getByLabel('Kind').selectOption('email');
    await page.getByLabel('Action id').fill('welcome-mail');
    await page.getByLabel('Action name').fill('Welcome mail');
    await page.getByLabel('Subject', { exact: true }).fill('Welcome {{ profile.attributes.firstName ?? "friend" }}');
    await page.getByLabel('Text', { exact: true }).fill('Hi there');
    await page.getByLabel(/^Provider settings/).fill(JSON.stringify({ host: '127.0.0.1', port: mail.port, tls: 'none', from: 'Shop <news@example.com>' }));
    await page.getByRole('button', { name: 'Create action' }).click();
    await page.getByRole('cell', { name: 'welcome-mail', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Send test welcome-mail' }).click();
    await page.getByLabel('Recipient address').fill('qa@example.com');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.locator('[data-testid="action-test-result"]', { hasText: '"status": 250' }).waitFor();
    await waitFor('the SMTP sink to receive the test email', () => mail.messages.find((m) => /^To: .*qa@example\.com/m.test(m) && /^Subject: Welcome friend/m.test(m)));
    await shot(page, '10-actions.png');
    log('email action send-tested through the SMTP sink');

    await page.getByRole('link', { name: 'Data sources' }).click();
    await page.getByRole('button', { name: 'New data source' }).click();
    await shot(page, '11-data-sources.png');

    // API keys: the secret is shown once.
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByLabel('Key name').fill('mobile app');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.locator('[data-testid="new-key"]').waitFor();
    await page.getByRole('cell', { name: 'mobile app', exact: true }).waitFor();
    await shot(page, '12-api-keys.png');
    log('API key created');

    // Plugins: upload a module built by `make plugins` with its manifest, run it on a sample.
    const wasmPath = join(pluginsDir, 'loyalty-tier.wasm');
    if (!existsSync(wasmPath)) {
      log(`SKIP plugins upload: ${wasmPath} is missing (run \`make plugins\` first)`);
    } else {
      await page.getByRole('link', { name: 'Plugins' }).click();
      await page.getByLabel('Manifest (JSON)').setInputFiles(pluginManifest);
      await page.getByLabel('Module (.wasm)').setInputFiles(wasmPath);
      await page.getByRole('button', { name: 'Upload' }).click();
      await page.getByRole('cell', { name: 'loyalty-tier', exact: true }).waitFor();
      await page.getByRole('button', { name: 'Test run' }).click();
      await page.getByLabel('Input (JSON)').fill(JSON.stringify({ profile: { attributes: { points: 700 } }, event: {} }));
      await page.getByLabel('Config (JSON)').fill(JSON.stringify({ tier: 'silver' }));
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      await page.locator('form[aria-label="Test run"] pre').waitFor();
      const outText = await page.locator('form[aria-label="Test run"] pre').textContent();
      if (!outText.trim().startsWith('{') || outText.includes('"error"')) throw new Error(`running the plugin: ${outText}`);
      await shot(page, '13-plugins.png');
      log(`plugin uploaded and run: ${outText.replace(/\s+/g, ' ').slice(0, 120)}`);
    }

    await page.getByRole('link', { name: 'Journeys' }).click();
    await page.getByRole('link', { name: 'Onboarding' }).waitFor();
    await shot(page, '14-journey-list.png');

    // --- a viewer sees no edit controls, and the API refuses a change anyway -------------------------
    const made = await call(node, 'POST', '/v1/users', { username: 'vera', role: 'viewer', password: viewerPassword });
    if (made.status !== 201) throw new Error(`creating the viewer: ${made.status} ${JSON.stringify(made.body)}`);
    const vctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const vpage = await vctx.newPage();
    watch(vpage, 'viewer');
    vpage.setDefaultTimeout(15000);
    await signIn(vpage, node, 'vera', viewerPassword);
    if (await vpage.getByRole('button', { name: 'New journey' }).count()) throw new Error('a viewer sees "New journey"');
    await vpage.getByRole('link', { name: 'Onboarding' }).click();
    await vpage.locator('[data-testid="node-condition-1"]').click();
    for (const name of ['Publish…', 'Validate', 'Undo', 'New version', 'Stop…', 'Delete node']) {
      if (await vpage.getByRole('button', { name }).count()) throw new Error(`a viewer sees the "${name}" button`);
    }
    if (await vpage.locator('[data-testid^="palette-"]').count()) throw new Error('a viewer sees the palette');
    if (!(await vpage.getByLabel('Branch 1 condition', { exact: true }).getAttribute('readonly') !== null)) throw new Error('a viewer can type in a condition');
    await shot(vpage, '15-viewer.png');
    const signin = await fetch(node.url + '/v1/sessions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'vera', password: viewerPassword }) });
    const cookie = signin.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const { csrfToken } = await signin.json();
    const refused = await fetch(node.url + '/v1/journeys/onboarding/draft', { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': csrfToken } });
    if (refused.status !== 403) throw new Error(`a viewer's POST /v1/journeys/onboarding/draft: ${refused.status}; want 403`);
    log('viewer cannot edit');

    if (consoleErrors.length) throw new Error(`console errors in the page:\n  ${consoleErrors.join('\n  ')}`);
    log(`PASS in ${((Date.now() - started) / 1000).toFixed(1)}s; screenshots in ${out}`);
  } catch (e) {
    const pages = browser.contexts().flatMap((c) => c.pages());
    for (const [i, p] of pages.entries()) await p.screenshot({ path: join(out, `failure-${i}.png`) }).catch(() => {});
    console.error(`[e2e] FAIL: ${e.stack ?? e}`);
    if (consoleErrors.length) console.error(`console errors:\n  ${consoleErrors.join('\n  ')}`);
    console.error(`node log (tail):\n${node.logs().slice(-3000)}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
    node.stop();
  }
}

main();
