// Validation errors from the server name the field they concern as a path into the definition
// ("nodes[2].branches[0].expression") and start their message with "node <id>: ". mapErrors pins
// each on its node; errors about the whole journey (rules, an empty journey) stay global.
import type { ApiErrorDetail, JNode } from './model';

export interface PinnedError {
  code: string;
  message: string;
  /** the path inside the node ("branches[0].expression"), "" for the node itself */
  field: string;
  nodeId?: string;
}

const nodePath = /^nodes\[(\d+)\](?:\.(.*))?$/;
const nodePrefix = /^node ([A-Za-z0-9_-]{1,64}): /;

export function mapErrors(errors: ApiErrorDetail[], nodes: Pick<JNode, 'id'>[]): { byNode: Map<string, PinnedError[]>; global: PinnedError[] } {
  const byNode = new Map<string, PinnedError[]>();
  const global: PinnedError[] = [];
  for (const e of errors) {
    let nodeId: string | undefined;
    let field = e.field ?? '';
    const m = nodePath.exec(field);
    if (m && nodes[Number(m[1])]) {
      nodeId = nodes[Number(m[1])].id;
      field = m[2] ?? '';
    }
    const p = nodePrefix.exec(e.message);
    if (!nodeId && p && nodes.some((n) => n.id === p[1])) nodeId = p[1];
    const message = p && nodeId === p[1] ? e.message.slice(p[0].length) : e.message;
    const pinned: PinnedError = { code: e.code, message, field, nodeId };
    if (nodeId) {
      if (!byNode.has(nodeId)) byNode.set(nodeId, []);
      byNode.get(nodeId)!.push(pinned);
    } else {
      global.push(pinned);
    }
  }
  return { byNode, global };
}

/** fieldLabel says in words which part of a node an error concerns. */
export function fieldLabel(field: string, node?: JNode): string {
  if (!field) return '';
  const b = /^branches\[(\d+)\](?:\.(.*))?$/.exec(field);
  if (b) {
    const br = node?.branches?.[Number(b[1])];
    const name = br ? br.name || br.id : `branch ${Number(b[1]) + 1}`;
    return b[2] ? `${name} › ${b[2] === 'next' ? 'connection' : b[2]}` : name;
  }
  const s = /^split\[(\d+)\](?:\.(.*))?$/.exec(field);
  if (s) return `arm ${node?.split?.[Number(s[1])]?.id ?? Number(s[1]) + 1}${s[2] ? ` › ${s[2]}` : ''}`;
  return field;
}
