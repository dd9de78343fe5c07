import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { TestPanel } from './TestPanel';
import { litNodes, type TraceStep } from '../testmode';
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  applyNodeChanges,
  useReactFlow,
  type Connection,
  type EdgeChange,
  type NodeChange,
  type Node,
  type Edge,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { ApiError, errorText, get, post, put } from '../api';
import { connect, fromFlow, newNodeId, pruneEdges, toFlow, type FlowEdge, type FlowNode } from '../graph';
import { mapErrors, fieldLabel, type PinnedError } from '../errors';
import { History } from '../history';
import { allows, type Action, type ApiErrorDetail, type Definition, type EventDefinition, type JNode, type Journey, type JourneyVersion, type Me, type Plugin, type Report, type SchemaField } from '../model';
import { nodeTypes } from '../nodes';
import { NodePanel } from './NodePanel';
import { go } from '../route';

interface Snapshot {
  nodes: FlowNode[];
  edges: FlowEdge[];
}

type SaveState = 'saved' | 'dirty' | 'saving' | 'error';

const emptyRules: Definition['rules'] = { reentrance: { mode: 'never' } };

export function JourneyEditor(props: { id: string; me: Me }) {
  return (
    <ReactFlowProvider>
      <Editor {...props} />
    </ReactFlowProvider>
  );
}

function Editor({ id, me }: { id: string; me: Me }) {
  const [journey, setJourney] = useState<Journey | null>(null);
  const [live, setLive] = useState<JourneyVersion | null>(null);
  const [view, setView] = useState<'draft' | 'live'>('draft');
  const [loadError, setLoadError] = useState('');
  const [nodes, setNodes] = useState<FlowNode[]>([]);
  const [edges, setEdges] = useState<FlowEdge[]>([]);
  const [rules, setRules] = useState<Definition['rules']>(emptyRules);
  const [selected, setSelected] = useState<string | null>(null);
  const [save, setSave] = useState<SaveState>('saved');
  const [saveError, setSaveError] = useState('');
  const [errors, setErrors] = useState<{ byNode: Map<string, PinnedError[]>; global: PinnedError[] } | null>(null);
  const [validMsg, setValidMsg] = useState('');
  const [confirm, setConfirm] = useState<'publish' | 'stop' | null>(null);
  const [report, setReport] = useState<Report | null>(null);
  const [eventDefs, setEventDefs] = useState<EventDefinition[]>([]);
  const [fieldsByEvent, setFieldsByEvent] = useState<Record<string, SchemaField[]>>({});
  const [actions, setActions] = useState<Action[]>([]);
  const [plugins, setPlugins] = useState<Plugin[]>([]);
  const [testing, setTesting] = useState(false);
  const [testPath, setTestPath] = useState<TraceStep[]>([]);
  const history = useRef<History<Snapshot> | null>(null);
  const [, bump] = useState(0); // re-render when history changes (undo/redo buttons)
  const revision = useRef(0);
  const saveTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const saving = useRef<Promise<void> | null>(null);
  const pending = useRef<Snapshot | null>(null);
  const flow = useReactFlow();
  const wrapper = useRef<HTMLDivElement>(null);
  const fitInitially = useRef<boolean | null>(null);

  const canEdit = allows(me.role, 'editor');
  const readOnly = !canEdit || view === 'live' || !journey?.draft;

  // --- loading -------------------------------------------------------------------------------

  const show = useCallback((def: Definition) => {
    const f = toFlow(def);
    setNodes(f.nodes);
    setEdges(f.edges);
    setRules(def.rules ?? emptyRules);
    history.current = new History<Snapshot>({ nodes: f.nodes, edges: f.edges });
    bump((n) => n + 1);
  }, []);

  const load = useCallback(
    async (prefer?: 'draft' | 'live') => {
      try {
        const j = await get<Journey>(`/v1/journeys/${encodeURIComponent(id)}`);
        revision.current = j.revision;
        let lv: JourneyVersion | null = null;
        if (j.liveVersion) lv = await get<JourneyVersion>(`/v1/journeys/${encodeURIComponent(id)}/versions/${j.liveVersion}`);
        // The journey is set with its nodes, in one render: the first render with a journey
        // decides whether the canvas fits the view to the nodes.
        setJourney(j);
        setLive(lv);
        const v = prefer ?? (j.draft ? 'draft' : 'live');
        const chosen = v === 'draft' && j.draft ? 'draft' : 'live';
        setView(chosen);
        show(chosen === 'draft' ? j.draft! : (lv?.definition ?? { nodes: [], rules: emptyRules }));
        setErrors(null);
        setSave('saved');
      } catch (e) {
        setLoadError(errorText(e));
      }
    },
    [id, show],
  );

  useEffect(() => {
    load();
    get<{ items: EventDefinition[] }>('/v1/event-definitions?limit=1000').then((r) => setEventDefs(r.items)).catch(() => {});
    get<{ items: Action[] }>('/v1/actions?limit=1000').then((r) => setActions(r.items)).catch(() => {});
    get<{ items: Plugin[] }>('/v1/plugins?limit=1000').then((r) => setPlugins(r.items)).catch(() => {});
  }, [load]);

  // Fields of the journey's event types, for the field pickers.
  const events = useMemo(() => [...new Set(nodes.filter((n) => n.data.j.kind === 'event' && n.data.j.event).map((n) => n.data.j.event!))], [nodes]);
  useEffect(() => {
    for (const name of events) {
      if (fieldsByEvent[name]) continue;
      get<EventDefinition>(`/v1/event-definitions/${encodeURIComponent(name)}`)
        .then((d) => setFieldsByEvent((m) => ({ ...m, [name]: d.fields ?? [] })))
        .catch(() => {});
    }
  }, [events, fieldsByEvent]);
  const fields = useMemo(() => {
    const seen = new Map<string, SchemaField>();
    for (const e of events) for (const f of fieldsByEvent[e] ?? []) if (!seen.has(f.path)) seen.set(f.path, f);
    return [...seen.values()];
  }, [events, fieldsByEvent]);

  // --- live counts ---------------------------------------------------------------------------

  useEffect(() => {
    if (view !== 'live' || !journey?.liveVersion) {
      setReport(null);
      return;
    }
    let stop = false;
    const tick = () =>
      get<Report>(`/v1/journeys/${encodeURIComponent(id)}/report`)
        .then((r) => !stop && setReport(r))
        .catch(() => {});
    tick();
    const t = setInterval(tick, 2000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [view, journey?.liveVersion, id]);

  // --- saving --------------------------------------------------------------------------------

  const definitionOf = useCallback((s: Snapshot): Definition => ({ nodes: fromFlow(s.nodes, s.edges), rules }), [rules]);

  const saveNow = useCallback(async (): Promise<void> => {
    if (saveTimer.current) {
      clearTimeout(saveTimer.current);
      saveTimer.current = null;
    }
    while (saving.current) await saving.current;
    const snap = pending.current;
    if (!snap || !journey) return;
    pending.current = null;
    setSave('saving');
    const run = (async () => {
      try {
        const j = await put<Journey>(`/v1/journeys/${encodeURIComponent(id)}`, { name: journey.name, description: journey.description ?? '', draft: definitionOf(snap), revision: revision.current });
        revision.current = j.revision;
        setSave(pending.current ? 'dirty' : 'saved');
        setSaveError('');
      } catch (e) {
        setSave('error');
        setSaveError(e instanceof ApiError && e.code === 'version_conflict' ? 'Someone else changed this journey. Reload to see their version (your last change is not saved).' : errorText(e));
        throw e;
      }
    })();
    saving.current = run.finally(() => (saving.current = null)).catch(() => {});
    return run;
  }, [journey, id, definitionOf]);

  const scheduleSave = useCallback(
    (s: Snapshot) => {
      pending.current = s;
      setSave('dirty');
      if (saveTimer.current) clearTimeout(saveTimer.current);
      saveTimer.current = setTimeout(() => saveNow().catch(() => {}), 600);
    },
    [saveNow],
  );

  /** commit makes an edit: an undo step and an auto-save. */
  const commit = useCallback(
    (ns: FlowNode[], es: FlowEdge[]) => {
      const pruned = pruneEdges(ns, es);
      setNodes(ns);
      setEdges(pruned);
      history.current?.push({ nodes: ns, edges: pruned });
      bump((n) => n + 1);
      scheduleSave({ nodes: ns, edges: pruned });
    },
    [scheduleSave],
  );

  const restore = useCallback(
    (s: Snapshot | undefined) => {
      if (!s) return;
      setNodes(s.nodes);
      setEdges(s.edges);
      bump((n) => n + 1);
      scheduleSave(s);
    },
    [scheduleSave],
  );
  const undo = useCallback(() => !readOnly && restore(history.current?.undo()), [restore, readOnly]);
  const redo = useCallback(() => !readOnly && restore(history.current?.redo()), [restore, readOnly]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) return;
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'z') {
        e.preventDefault();
        if (e.shiftKey) redo();
        else undo();
      } else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'y') {
        e.preventDefault();
        redo();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [undo, redo]);

  // --- canvas events -------------------------------------------------------------------------

  const onNodesChange = useCallback(
    (changes: NodeChange<Node>[]) => {
      const next = applyNodeChanges(changes, nodes as Node[]) as FlowNode[];
      const removed = changes.some((c) => c.type === 'remove');
      const dragEnd = changes.some((c) => c.type === 'position' && c.dragging === false);
      if ((removed || dragEnd) && !readOnly) {
        if (removed && selected && !next.some((n) => n.id === selected)) setSelected(null);
        commit(next, edges);
      } else {
        setNodes(next);
      }
      for (const c of changes) if (c.type === 'select' && c.selected) setSelected(c.id);
    },
    [nodes, edges, commit, readOnly, selected],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange<Edge>[]) => {
      const removed = new Set(changes.filter((c) => c.type === 'remove').map((c) => c.id));
      if (removed.size > 0 && !readOnly) commit(nodes, edges.filter((e) => !removed.has(e.id)));
    },
    [nodes, edges, commit, readOnly],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      if (readOnly || !c.source || !c.target) return;
      commit(nodes, connect(edges, c.source, c.sourceHandle ?? 'next', c.target));
    },
    [nodes, edges, commit, readOnly],
  );

  const addNode = useCallback(
    (item: PaletteItem, position?: { x: number; y: number }) => {
      if (readOnly) return;
      const nid = newNodeId(item.id, nodes.map((n) => n.id));
      let pos = position;
      if (!pos) {
        const r = wrapper.current?.getBoundingClientRect();
        pos = flow.screenToFlowPosition({ x: (r?.left ?? 0) + (r?.width ?? 800) / 2 - 100, y: (r?.top ?? 0) + (r?.height ?? 600) / 2 - 40 + nodes.length * 8 });
      }
      const j: JNode = { ...structuredClone(item.make()), id: nid };
      const n: FlowNode = { id: nid, type: j.kind, position: pos, data: { j }, selected: true };
      commit([...nodes.map((x) => ({ ...x, selected: false })), n], edges);
      setSelected(nid);
    },
    [nodes, edges, commit, readOnly, flow],
  );

  const onDrop = useCallback(
    (e: React.DragEvent) => {
      e.preventDefault();
      const key = e.dataTransfer.getData('application/x-wayline-node');
      const item = paletteIndex.current.get(key);
      if (!item) return;
      addNode(item, flow.screenToFlowPosition({ x: e.clientX - 90, y: e.clientY - 30 }));
    },
    [addNode, flow],
  );

  const updateNode = useCallback(
    (j: JNode) => {
      commit(
        nodes.map((n) => (n.id === j.id ? { ...n, type: j.kind, data: { ...n.data, j } } : n)),
        edges,
      );
    },
    [nodes, edges, commit],
  );

  const deleteNode = useCallback(
    (nid: string) => {
      setSelected(null);
      commit(
        nodes.filter((n) => n.id !== nid),
        edges,
      );
    },
    [nodes, edges, commit],
  );

  // --- lifecycle -----------------------------------------------------------------------------

  const validate = useCallback(async () => {
    setValidMsg('');
    try {
      await saveNow();
      const r = await post<{ valid: boolean; errors: ApiErrorDetail[] }>(`/v1/journeys/${encodeURIComponent(id)}/validate`);
      const saved = fromFlow(nodes, edges);
      setErrors(mapErrors(r.errors, saved));
      setValidMsg(r.valid ? 'No problems found: ready to publish.' : `${r.errors.length} problem${r.errors.length === 1 ? '' : 's'} to fix.`);
      return r.valid;
    } catch (e) {
      setValidMsg(errorText(e));
      return false;
    }
  }, [id, nodes, edges, saveNow]);

  const publish = useCallback(async () => {
    setConfirm(null);
    try {
      await saveNow();
      await post(`/v1/journeys/${encodeURIComponent(id)}/publish`, undefined, { 'If-Match': String(revision.current) });
      setValidMsg('Published.');
      await load('live');
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) {
        setErrors(mapErrors(e.details, fromFlow(nodes, edges)));
        setValidMsg(`Not published: ${e.details.length} problem${e.details.length === 1 ? '' : 's'} to fix.`);
      } else setValidMsg(errorText(e));
    }
  }, [id, load, saveNow, nodes, edges]);

  const newVersion = useCallback(async () => {
    try {
      await post(`/v1/journeys/${encodeURIComponent(id)}/draft`);
      await load('draft');
    } catch (e) {
      setValidMsg(errorText(e));
    }
  }, [id, load]);

  const stopJourney = useCallback(async () => {
    setConfirm(null);
    try {
      await post(`/v1/journeys/${encodeURIComponent(id)}/stop`);
      await load('live');
    } catch (e) {
      setValidMsg(errorText(e));
    }
  }, [id, load]);

  // --- palette -------------------------------------------------------------------------------

  const palette = useMemo(() => buildPalette(eventDefs, actions), [eventDefs, actions]);
  const paletteIndex = useRef(new Map<string, PaletteItem>());
  paletteIndex.current = new Map(palette.flatMap((g) => g.items).map((i) => [i.key, i]));

  // --- what the canvas shows -----------------------------------------------------------------

  const liveCounts = useMemo(() => {
    if (!report || view !== 'live') return null;
    return report.versions.find((v) => v.version === live?.version)?.nodes ?? {};
  }, [report, view, live]);

  const lit = useMemo(() => (testing ? litNodes(testPath) : null), [testing, testPath]);
  const shownNodes = useMemo(
    () =>
      nodes.map((n) => {
        const errs = errors?.byNode.get(n.id)?.map((e) => (e.field ? `${fieldLabel(e.field, n.data.j)}: ${e.message}` : e.message));
        return {
          ...n,
          selected: n.id === selected,
          draggable: !readOnly,
          deletable: !readOnly,
          data: { ...n.data, errors: errs, counts: liveCounts ? (liveCounts[n.id] ?? {}) : undefined, readOnly, lit: lit?.get(n.id) },
        };
      }) as Node[],
    [nodes, errors, liveCounts, readOnly, selected, lit],
  );
  const shownEdges = useMemo(
    () =>
      edges.map((e) => {
        const c = liveCounts?.[e.source]?.[e.sourceHandle === 'else' ? 'branch:else' : e.sourceHandle.startsWith('b:') || e.sourceHandle.startsWith('s:') ? 'branch:' + e.sourceHandle.slice(2) : ''];
        return { ...e, deletable: !readOnly, label: c !== undefined ? String(c) : undefined, animated: !!liveCounts } as Edge;
      }),
    [edges, readOnly, liveCounts],
  );

  const selectedNode = nodes.find((n) => n.id === selected);
  // Fit the view to what is loaded, once; an empty journey keeps the default viewport, so that
  // the first drop does not re-centre the canvas under the pointer.
  if (fitInitially.current === null && journey) fitInitially.current = nodes.length > 0;

  if (loadError)
    return (
      <p role="alert" className="error page">
        {loadError}
      </p>
    );
  if (!journey) return <p className="page">Loading…</p>;

  const saveLabel = { saved: 'All changes saved', dirty: 'Unsaved changes…', saving: 'Saving…', error: 'Not saved' }[save];
  return (
    <div className="editor">
      <div className="toolbar" role="toolbar" aria-label="Journey">
        <button type="button" onClick={() => go('journeys')}>
          ← Journeys
        </button>
        <h1>{journey.name}</h1>
        <span className={`badge ${journey.status}`} data-testid="journey-status">
          {journey.status}
          {journey.liveVersion ? ` v${journey.liveVersion}` : ''}
        </span>
        {journey.draft && live && (
          <span className="seg" role="group" aria-label="Version shown">
            <button type="button" aria-pressed={view === 'draft'} onClick={() => load('draft')}>
              Draft
            </button>
            <button type="button" aria-pressed={view === 'live'} onClick={() => load('live')}>
              Live v{live.version}
            </button>
          </span>
        )}
        {view === 'live' && <span className="muted">{readOnly ? `Live version v${live?.version} — read-only` : ''}</span>}
        {view === 'draft' && !readOnly && (
          <span className={`save ${save}`} role="status" data-testid="save-state">
            {saveLabel}
          </span>
        )}
        <span className="spacer" />
        {!readOnly && (
          <>
            <button type="button" onClick={undo} disabled={!history.current?.canUndo} title="Undo (Ctrl+Z)">
              Undo
            </button>
            <button type="button" onClick={redo} disabled={!history.current?.canRedo} title="Redo (Ctrl+Shift+Z)">
              Redo
            </button>
            <button type="button" onClick={validate}>
              Validate
            </button>
            <button type="button" aria-pressed={testing} onClick={() => setTesting(!testing)}>
              Test
            </button>
            <button type="button" className="primary" onClick={() => setConfirm('publish')}>
              Publish…
            </button>
          </>
        )}
        {canEdit && !journey.draft && journey.versions > 0 && (
          <button type="button" onClick={newVersion}>
            New version
          </button>
        )}
        {journey.versions > 0 && (
          <button type="button" onClick={() => go('journeys', id, 'report')}>
            Report
          </button>
        )}
        {canEdit && journey.status === 'live' && (
          <button type="button" className="danger" onClick={() => setConfirm('stop')}>
            Stop…
          </button>
        )}
      </div>
      {saveError && (
        <p role="alert" className="error banner">
          {saveError}
        </p>
      )}
      <div className="editor-body">
        {!readOnly && (
          <nav className="palette" aria-label="Palette">
            {palette.map((g) => (
              <div key={g.title} className="palette-group">
                <h2>{g.title}</h2>
                {g.items.map((it) => (
                  <button
                    key={it.key}
                    type="button"
                    className={`palette-item kind-${it.id}`}
                    draggable={!it.disabled}
                    disabled={it.disabled}
                    title={it.hint}
                    data-testid={`palette-${it.key}`}
                    onDragStart={(e) => {
                      e.dataTransfer.setData('application/x-wayline-node', it.key);
                      e.dataTransfer.effectAllowed = 'move';
                    }}
                    onClick={() => addNode(it)}
                  >
                    {it.label}
                  </button>
                ))}
              </div>
            ))}
            <p className="hint">Drag onto the canvas, or press Enter to add at the centre.</p>
          </nav>
        )}
        <div className="canvas" ref={wrapper} onDrop={onDrop} onDragOver={(e) => e.preventDefault()} data-testid="canvas">
          <ReactFlow
            nodes={shownNodes}
            edges={shownEdges}
            nodeTypes={nodeTypes}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onConnect={onConnect}
            onPaneClick={() => setSelected(null)}
            nodesConnectable={!readOnly}
            nodesDraggable={!readOnly}
            deleteKeyCode={readOnly ? null : ['Backspace', 'Delete']}
            fitView={!!fitInitially.current}
            fitViewOptions={{ maxZoom: 1, padding: 0.2 }}
            minZoom={0.2}
            proOptions={{ hideAttribution: true }}
          >
            <Background />
            <Controls showInteractive={false} />
            <MiniMap pannable zoomable ariaLabel="Mini map" nodeColor={(n) => kindColor[(n.data as { j?: JNode }).j?.kind ?? 'end'] ?? '#98a2b3'} />
          </ReactFlow>
        </div>
        <div className="side">
          {testing && !readOnly ? (
            <TestPanel
              journeyId={id}
              entryEvent={eventDefs.find((d) => d.name === nodes.find((n) => n.data.j.kind === 'event')?.data.j.event)}
              fields={fieldsByEvent[nodes.find((n) => n.data.j.kind === 'event')?.data.j.event ?? ''] ?? []}
              onPath={setTestPath}
              onClose={() => {
                setTesting(false);
                setTestPath([]);
              }}
            />
          ) : selectedNode ? (
            <NodePanel
              key={selectedNode.id}
              j={selectedNode.data.j}
              errors={errors?.byNode.get(selectedNode.id) ?? []}
              ctx={{
                eventDefs,
                actions,
                plugins,
                events,
                fields,
                readOnly,
                nodeIds: nodes.map((n) => ({ id: n.id, label: n.data.j.name ? `${n.data.j.name} (${n.id})` : n.id })),
                targets: Object.fromEntries(edges.filter((e) => e.source === selectedNode.id).map((e) => [e.sourceHandle, e.target])),
              }}
              onChange={updateNode}
              onConnect={(handle, target) => commit(nodes, target ? connect(edges, selectedNode.id, handle, target) : edges.filter((e) => !(e.source === selectedNode.id && e.sourceHandle === handle)))}
              onDelete={() => deleteNode(selectedNode.id)}
            />
          ) : (
            <aside className="panel muted">
              <p>Select a node to configure it.</p>
              {view === 'live' && report && (
                <dl className="totals" data-testid="report-totals">
                  <dt>Entered</dt>
                  <dd>{report.totals.entered ?? 0}</dd>
                  <dt>Active</dt>
                  <dd>{report.active}</dd>
                  <dt>Errors</dt>
                  <dd>{report.totals.errored ?? 0}</dd>
                </dl>
              )}
            </aside>
          )}
          <section className="problems" aria-label="Validation">
            {validMsg && (
              <p role="status" className={errors && (errors.global.length || errors.byNode.size) ? 'error' : 'ok'} data-testid="validation-status">
                {validMsg}
              </p>
            )}
            {errors && (errors.global.length > 0 || errors.byNode.size > 0) && (
              <ul className="errors" data-testid="problems">
                {errors.global.map((e, i) => (
                  <li key={'g' + i}>
                    {e.field && <b>{e.field}: </b>}
                    {e.message}
                  </li>
                ))}
                {[...errors.byNode.entries()].flatMap(([nid, list]) =>
                  list.map((e, i) => (
                    <li key={nid + i}>
                      <button type="button" className="link" onClick={() => setSelected(nid)}>
                        {nid}
                      </button>
                      {e.field ? ` ${fieldLabel(e.field, nodes.find((n) => n.id === nid)?.data.j)}` : ''}: {e.message}
                    </li>
                  )),
                )}
              </ul>
            )}
          </section>
        </div>
      </div>
      {confirm && (
        <div className="modal-backdrop">
          <div className="modal" role="dialog" aria-modal="true" aria-labelledby="confirm-title">
            {confirm === 'publish' ? (
              <>
                <h2 id="confirm-title">Publish {journey.name}?</h2>
                <p>
                  The draft becomes version {journey.versions + 1}, live at once: new matching events enter it. Profiles already in
                  {journey.liveVersion ? ` version ${journey.liveVersion}` : ' an older version'} finish there. A published version cannot be changed; make a new version to change it.
                </p>
                <div className="actions">
                  <button type="button" onClick={() => setConfirm(null)}>
                    Cancel
                  </button>
                  <button type="button" className="primary" onClick={publish} autoFocus>
                    Publish
                  </button>
                </div>
              </>
            ) : (
              <>
                <h2 id="confirm-title">Stop {journey.name}?</h2>
                <p>No new profiles enter. Profiles already in the journey finish their walk; reports stay.</p>
                <div className="actions">
                  <button type="button" onClick={() => setConfirm(null)}>
                    Cancel
                  </button>
                  <button type="button" className="danger" onClick={stopJourney} autoFocus>
                    Stop journey
                  </button>
                </div>
              </>
            )}
          </div>
        </div>
      )}
    </div>
  );
}

const kindColor: Record<string, string> = {
  event: '#2454d6',
  condition: '#7a5af8',
  wait: '#b54708',
  action: '#067647',
  update_profile: '#0e9384',
  end: '#475467',
};

// --- the palette -------------------------------------------------------------------------------

interface PaletteItem {
  key: string;
  id: JNode['kind'] | 'split';
  label: string;
  hint?: string;
  disabled?: boolean;
  make: () => Omit<JNode, 'id'>;
}

function buildPalette(eventDefs: EventDefinition[], actions: Action[]): { title: string; items: PaletteItem[] }[] {
  return [
    {
      title: 'Events',
      items: [
        { key: 'event', id: 'event', label: 'Event', hint: 'the entry, or wait for an event', make: () => ({ kind: 'event', event: eventDefs[0]?.name ?? '' }) },
        ...eventDefs.map((d) => ({ key: `event:${d.name}`, id: 'event' as const, label: d.name, hint: `on ${d.name}`, make: () => ({ kind: 'event' as const, event: d.name }) })),
      ],
    },
    {
      title: 'Orchestration',
      items: [
        { key: 'condition', id: 'condition', label: 'Condition', make: () => ({ kind: 'condition', branches: [{ id: 'b1', name: 'Branch 1', expression: '', next: '' }] }) },
        { key: 'split', id: 'split', label: 'Percentage split', make: () => ({ kind: 'condition', split: [{ id: 'a', percent: 50, next: '' }, { id: 'b', percent: 50, next: '' }] }) },
        { key: 'wait', id: 'wait', label: 'Wait', make: () => ({ kind: 'wait', duration: '1h' }) },
        { key: 'update_profile', id: 'update_profile', label: 'Update profile', make: () => ({ kind: 'update_profile', set: {} }) },
        { key: 'end', id: 'end', label: 'End', make: () => ({ kind: 'end' }) },
      ],
    },
    {
      title: 'Actions',
      items: [
        ...actions.map((a) => ({
          key: `action:${a.id}`,
          id: 'action' as const,
          label: a.name,
          hint: a.kind === 'plugin' ? `plugin action (${a.plugin?.name})` : `REST ${a.method ?? ''} ${a.url ?? ''}`,
          make: () => ({ kind: 'action' as const, action: a.id }),
        })),
        { key: 'action', id: 'action', label: 'Action…', hint: 'choose the action in the panel', make: () => ({ kind: 'action', action: '' }) },
        ...['Email', 'SMS', 'Push'].map((c) => ({ key: `channel:${c}`, id: 'action' as const, label: c, disabled: true, hint: `${c} channels are not available on this node yet; use a REST or plugin action`, make: () => ({ kind: 'action' as const }) })),
      ],
    },
  ];
}
