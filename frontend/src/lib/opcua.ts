// The engineer's OPC UA screen: the typed client of /api/v1/opcua/* (devices,
// browse, server certificates) and its pure parts: answer validation, the
// address-space tree (lazy expansion, checked variables, keyboard moves),
// YAML tag definitions for the project file, certificate display helpers.
// Everything here but `opcuaApi` is pure.

import { request } from './transport';

// ------------------------------------------------------------------ shapes

/** One OPC UA device of the project (GET /api/v1/opcua/devices). */
export interface OpcuaDevice {
  name: string;
  endpoint: string;
  /** none, sign or sign_and_encrypt. */
  security: string;
  connected: boolean;
}

/** A tag definition the server suggests for a variable it can read. */
export interface TagSuggestion {
  name: string;
  device: string;
  address: string;
  type: string;
  writable: boolean;
}

export type NodeClass =
  | 'object'
  | 'variable'
  | 'method'
  | 'object_type'
  | 'variable_type'
  | 'reference_type'
  | 'data_type'
  | 'view';

/** One child in GET /api/v1/opcua/browse. */
export interface BrowseNode {
  node_id: string;
  browse_name: string;
  display_name: string;
  /** A NodeClass; kept as sent if the server names another one. */
  class: string;
  /** Variables: the data type's name (Double, Int32…); "" otherwise. */
  data_type: string;
  /** Variables: "r" or "rw"; "" otherwise. */
  access: string;
  array: boolean;
  has_children: boolean;
  /** Present only for variables whose type edgehmi can read. */
  tag?: TagSuggestion;
}

export interface BrowseResult {
  device: string;
  /** The browsed node (i=85, the Objects folder, when none was given). */
  node: string;
  children: BrowseNode[];
}

export type CertStatus = 'trusted' | 'rejected';

/** A server certificate edgehmi has seen (GET /api/v1/opcua/certificates). */
export interface ServerCert {
  /** SHA-1 of the DER certificate, 40 hex digits. */
  thumbprint: string;
  subject: string;
  device: string;
  endpoint: string;
  /** Unix ms; 0 when unknown. */
  not_after: number;
  /** trusted or rejected; kept as sent if the server names another state. */
  status: string;
}

// ------------------------------------------------------------ validation

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export function parseOpcuaDevices(data: unknown): OpcuaDevice[] {
  if (!Array.isArray(data)) throw new Error('the server sent no device list');
  const out: OpcuaDevice[] = [];
  for (const d of data) {
    if (!d || typeof d !== 'object') continue;
    const o = d as Record<string, unknown>;
    if (typeof o.name !== 'string' || o.name === '') continue;
    out.push({ name: o.name, endpoint: str(o.endpoint), security: str(o.security), connected: o.connected === true });
  }
  return out;
}

function parseTag(v: unknown): TagSuggestion | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.name !== 'string' || o.name === '' || typeof o.address !== 'string' || o.address === '') return undefined;
  if (typeof o.device !== 'string' || o.device === '' || typeof o.type !== 'string' || o.type === '') return undefined;
  return { name: o.name, device: o.device, address: o.address, type: o.type, writable: o.writable === true };
}

/**
 * Validates a browse answer. Children without a node id are dropped, and so
 * is a repeated node id (a server may list one target under two references):
 * the first one stays.
 */
export function parseBrowse(data: unknown): BrowseResult {
  if (!data || typeof data !== 'object' || !Array.isArray((data as { children?: unknown }).children)) {
    throw new Error('the server sent no children');
  }
  const o = data as Record<string, unknown>;
  const seen = new Set<string>();
  const children: BrowseNode[] = [];
  for (const c of o.children as unknown[]) {
    if (!c || typeof c !== 'object') continue;
    const n = c as Record<string, unknown>;
    if (typeof n.node_id !== 'string' || n.node_id === '' || seen.has(n.node_id)) continue;
    seen.add(n.node_id);
    const node: BrowseNode = {
      node_id: n.node_id,
      browse_name: str(n.browse_name),
      display_name: str(n.display_name) || str(n.browse_name) || n.node_id,
      class: str(n.class),
      data_type: str(n.data_type),
      access: str(n.access),
      array: n.array === true,
      has_children: n.has_children === true,
    };
    const tag = node.class === 'variable' ? parseTag(n.tag) : undefined;
    if (tag) node.tag = tag;
    children.push(node);
  }
  return { device: str(o.device), node: str(o.node), children };
}

export function parseCertificate(v: unknown): ServerCert | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  if (typeof o.thumbprint !== 'string' || o.thumbprint === '') return null;
  const na = o.not_after;
  return {
    thumbprint: o.thumbprint,
    subject: str(o.subject),
    device: str(o.device),
    endpoint: str(o.endpoint),
    not_after: typeof na === 'number' && Number.isFinite(na) && na > 0 ? na : 0,
    status: str(o.status),
  };
}

export function parseCertificates(data: unknown): ServerCert[] {
  if (!Array.isArray(data)) throw new Error('the server sent no certificate list');
  return data.map(parseCertificate).filter((c): c is ServerCert => c !== null);
}

// ------------------------------------------------------------------ client

/** GET /api/v1/opcua/browse?device=…&node=…; no node: the Objects folder. */
export function browsePath(device: string, node?: string): string {
  const q = new URLSearchParams({ device });
  if (node) q.set('node', node);
  return `/api/v1/opcua/browse?${q.toString()}`;
}

export function certActionPath(thumbprint: string, action: 'trust' | 'reject'): string {
  return `/api/v1/opcua/certificates/${encodeURIComponent(thumbprint)}/${action}`;
}

/** The /api/v1/opcua/* calls; each needs an engineer session (403 otherwise). */
export const opcuaApi = {
  async devices(): Promise<OpcuaDevice[]> {
    return parseOpcuaDevices(await request<unknown>('GET', '/api/v1/opcua/devices', undefined, 10000));
  },

  /** The children of a node; the server asks the device, so this may take a while. */
  async browse(device: string, node?: string): Promise<BrowseResult> {
    return parseBrowse(await request<unknown>('GET', browsePath(device, node), undefined, 20000));
  },

  async certificates(): Promise<ServerCert[]> {
    return parseCertificates(await request<unknown>('GET', '/api/v1/opcua/certificates', undefined, 10000));
  },

  /** Trusts or rejects a server certificate; answers the updated certificate. */
  async setTrust(thumbprint: string, action: 'trust' | 'reject'): Promise<ServerCert> {
    const c = parseCertificate(await request<unknown>('POST', certActionPath(thumbprint, action), {}));
    if (!c) throw new Error('the server sent no certificate');
    return c;
  },
};

// ------------------------------------------------------------ node display

const CLASS_LABEL: Record<string, string> = {
  object: 'Object',
  variable: 'Variable',
  method: 'Method',
  object_type: 'ObjectType',
  variable_type: 'VariableType',
  reference_type: 'ReferenceType',
  data_type: 'DataType',
  view: 'View',
};

export function classLabel(cls: string): string {
  return CLASS_LABEL[cls] ?? cls;
}

/** The data type column: "Double", "Double[]" for an array, "" for non-variables. */
export function dataTypeText(n: Pick<BrowseNode, 'data_type' | 'array'>): string {
  if (!n.data_type) return '';
  return n.array ? `${n.data_type}[]` : n.data_type;
}

/** Why a node has no checkbox (or a disabled one); null when it can be checked. */
export function uncheckableReason(n: BrowseNode): string | null {
  if (n.class !== 'variable') return null;
  if (n.tag) return null;
  const t = dataTypeText(n);
  return t ? `edgehmi cannot read ${t} values` : 'edgehmi cannot read this variable';
}

// ------------------------------------------------------------ YAML output

/** Words YAML 1.1 or 1.2 read as booleans or null when unquoted. */
const YAML_RESERVED = new Set(['y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null']);
/** Plain (unquoted) only for a letter or _ followed by letters, digits and _ . - / = ; + */
const YAML_PLAIN = /^[\p{L}_][\p{L}\p{N}_.\-/=;+]*$/u;

/**
 * A string as a YAML scalar: plain when that is unambiguous (TIC101.PV,
 * ns=2;s=TIC101.PV), otherwise double-quoted with escapes. Quoted: empty
 * strings, leading digits or signs (numbers, dates), true/no/null and the
 * like, and anything with spaces, ':', '#', quotes, brackets, commas, '&',
 * '*', '!', '|', '>', '%', '@', '`', '\', or control characters.
 */
export function yamlScalar(s: string): string {
  if (YAML_PLAIN.test(s) && !YAML_RESERVED.has(s.toLowerCase())) return s;
  // A JSON string is a YAML double-quoted scalar; also escape what JSON
  // leaves raw but YAML does not allow or reads as a line break.
  return JSON.stringify(s).replace(
    /[\u007f-\u009f\u2028\u2029\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Tag definitions as YAML list items, indented to paste under `tags:` of the
 * project file (as in examples/demo.yaml). `writable` only when true.
 */
export function tagsYaml(tags: readonly TagSuggestion[]): string {
  const lines: string[] = [];
  for (const t of tags) {
    lines.push(`  - name: ${yamlScalar(t.name)}`);
    lines.push(`    device: ${yamlScalar(t.device)}`);
    lines.push(`    address: ${yamlScalar(t.address)}`);
    lines.push(`    type: ${yamlScalar(t.type)}`);
    if (t.writable) lines.push('    writable: true');
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Sentences about names the project would refuse: used twice, or already a tag. */
export function tagWarnings(tags: readonly TagSuggestion[], existing: Iterable<string>): string[] {
  const have = new Set(existing);
  const count = new Map<string, number>();
  for (const t of tags) count.set(t.name, (count.get(t.name) ?? 0) + 1);
  const out: string[] = [];
  for (const [name, n] of count) {
    if (n > 1) out.push(`${n} checked variables get the name ${name}: rename all but one.`);
    if (have.has(name)) out.push(`The project already has a tag ${name}: rename this one or leave it out.`);
  }
  return out;
}

// ------------------------------------------------------------------ tree

/** The key of the Objects folder, the root the tree starts from. */
export const ROOT = '';
const SEP = '\u001f';

/**
 * The address space as far as it has been browsed. Children are cached per
 * node id (a node has the same children wherever it appears); expansion is
 * per row path, because the address space is a graph: a node can appear
 * under two parents, or below itself, and each place expands on its own.
 * Checked variables are per node id, in the order they were checked.
 * Immutable: every change returns a new state.
 */
export interface TreeState {
  readonly children: ReadonlyMap<string, readonly BrowseNode[]>;
  readonly expanded: ReadonlySet<string>;
  readonly loading: ReadonlySet<string>;
  readonly errors: ReadonlyMap<string, string>;
  readonly checked: ReadonlyMap<string, TagSuggestion>;
}

export function emptyTree(): TreeState {
  return { children: new Map(), expanded: new Set(), loading: new Set(), errors: new Map(), checked: new Map() };
}

/** The row path of a child: its ancestors' node ids and its own. */
export function childPath(parentPath: string, nodeId: string): string {
  return parentPath === ROOT ? nodeId : parentPath + SEP + nodeId;
}

/** The node id a row path ends in. */
export function pathNode(path: string): string {
  const i = path.lastIndexOf(SEP);
  return i < 0 ? path : path.slice(i + 1);
}

/** The parent row's path; ROOT for a top-level row. */
export function parentPath(path: string): string {
  const i = path.lastIndexOf(SEP);
  return i < 0 ? ROOT : path.slice(0, i);
}

/** Marks a node's children as being fetched (and forgets an earlier error). */
export function beginLoad(s: TreeState, nodeId: string): TreeState {
  const loading = new Set(s.loading).add(nodeId);
  const errors = new Map(s.errors);
  errors.delete(nodeId);
  return { ...s, loading, errors };
}

export function finishLoad(s: TreeState, nodeId: string, children: readonly BrowseNode[]): TreeState {
  const loading = new Set(s.loading);
  loading.delete(nodeId);
  const errors = new Map(s.errors);
  errors.delete(nodeId);
  return { ...s, loading, errors, children: new Map(s.children).set(nodeId, children) };
}

export function failLoad(s: TreeState, nodeId: string, error: string): TreeState {
  const loading = new Set(s.loading);
  loading.delete(nodeId);
  return { ...s, loading, errors: new Map(s.errors).set(nodeId, error) };
}

/**
 * Expands a row. `load` names the node whose children must be fetched now
 * (then pass it to beginLoad), or is null when they are known or on their way.
 */
export function expand(s: TreeState, path: string): { state: TreeState; load: string | null } {
  const node = pathNode(path);
  const expanded = s.expanded.has(path) ? s.expanded : new Set(s.expanded).add(path);
  const next = expanded === s.expanded ? s : { ...s, expanded };
  const need = !s.children.has(node) && !s.loading.has(node);
  return { state: need ? beginLoad(next, node) : next, load: need ? node : null };
}

/** Collapses a row and forgets the expansion of the rows under it. */
export function collapse(s: TreeState, path: string): TreeState {
  if (!s.expanded.has(path)) return s;
  const prefix = path + SEP;
  const expanded = new Set([...s.expanded].filter((p) => p !== path && !p.startsWith(prefix)));
  return { ...s, expanded };
}

export function toggleExpanded(s: TreeState, path: string): { state: TreeState; load: string | null } {
  return s.expanded.has(path) ? { state: collapse(s, path), load: null } : expand(s, path);
}

export function collapseAll(s: TreeState): TreeState {
  return s.expanded.size ? { ...s, expanded: new Set() } : s;
}

/** Checks or unchecks a variable; nodes without a tag suggestion stay unchecked. */
export function setChecked(s: TreeState, node: BrowseNode, on: boolean): TreeState {
  if (on === s.checked.has(node.node_id)) return s;
  if (on && !node.tag) return s;
  const checked = new Map(s.checked);
  if (on) checked.set(node.node_id, node.tag!);
  else checked.delete(node.node_id);
  return { ...s, checked };
}

export function toggleChecked(s: TreeState, node: BrowseNode): TreeState {
  return setChecked(s, node, !s.checked.has(node.node_id));
}

export function clearChecked(s: TreeState): TreeState {
  return s.checked.size ? { ...s, checked: new Map() } : s;
}

/** The checked variables' tag definitions, in the order they were checked. */
export function checkedTags(s: TreeState): TagSuggestion[] {
  return [...s.checked.values()];
}

export interface NodeRow {
  kind: 'node';
  path: string;
  /** 1 for children of the Objects folder. */
  depth: number;
  node: BrowseNode;
  expandable: boolean;
  expanded: boolean;
  /** Expanded and its children are being fetched. */
  loading: boolean;
  checkable: boolean;
  checked: boolean;
  /** Position among its siblings (1-based) and their number, for aria. */
  posinset: number;
  setsize: number;
}

/** A line under an expanded row whose children are not shown: loading, failed or none. */
export interface StatusRow {
  kind: 'status';
  path: string;
  depth: number;
  /** The node whose children this is about. */
  nodeId: string;
  status: 'loading' | 'error' | 'empty';
  text: string;
}

export type TreeRow = NodeRow | StatusRow;

/** The rows to show, top to bottom: every child of an expanded row, depth first. */
export function visibleRows(s: TreeState): TreeRow[] {
  const rows: TreeRow[] = [];
  const walk = (parent: string, nodeId: string, depth: number): void => {
    const kids = s.children.get(nodeId);
    if (!kids) return;
    kids.forEach((node, i) => {
      const path = childPath(parent, node.node_id);
      const expanded = node.has_children && s.expanded.has(path);
      const loading = expanded && s.loading.has(node.node_id);
      rows.push({
        kind: 'node',
        path,
        depth,
        node,
        expandable: node.has_children,
        expanded,
        loading,
        checkable: node.tag !== undefined,
        checked: s.checked.has(node.node_id),
        posinset: i + 1,
        setsize: kids.length,
      });
      if (!expanded) return;
      const status = (st: StatusRow['status'], text: string) =>
        rows.push({ kind: 'status', path: `${path}${SEP}#${st}`, depth: depth + 1, nodeId: node.node_id, status: st, text });
      const err = s.errors.get(node.node_id);
      if (loading) status('loading', 'Loading…');
      else if (err !== undefined) status('error', err);
      else if (s.children.get(node.node_id)?.length === 0) status('empty', 'No children');
      else walk(path, node.node_id, depth + 1);
    });
  };
  walk(ROOT, ROOT, 1);
  return rows;
}

export type TreeAction =
  | { type: 'none' }
  | { type: 'focus'; path: string }
  | { type: 'expand'; path: string }
  | { type: 'collapse'; path: string }
  | { type: 'check'; path: string };

/**
 * What a key does on the focused row (the WAI-ARIA tree pattern): Up/Down,
 * Home/End move; Right expands, then goes to the first child; Left collapses,
 * then goes to the parent; Enter expands or collapses (checks a variable
 * without children); Space checks a variable (expands or collapses other rows).
 */
export function treeKey(rows: readonly TreeRow[], path: string, key: string): TreeAction {
  const nodes = rows.filter((r): r is NodeRow => r.kind === 'node');
  const i = nodes.findIndex((r) => r.path === path);
  if (i < 0) return nodes.length && ['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(key) ? { type: 'focus', path: nodes[0].path } : { type: 'none' };
  const r = nodes[i];
  const toggle = (): TreeAction => (r.expanded ? { type: 'collapse', path } : { type: 'expand', path });
  switch (key) {
    case 'ArrowDown':
      return i + 1 < nodes.length ? { type: 'focus', path: nodes[i + 1].path } : { type: 'none' };
    case 'ArrowUp':
      return i > 0 ? { type: 'focus', path: nodes[i - 1].path } : { type: 'none' };
    case 'Home':
      return { type: 'focus', path: nodes[0].path };
    case 'End':
      return { type: 'focus', path: nodes[nodes.length - 1].path };
    case 'ArrowRight':
      if (!r.expandable) return { type: 'none' };
      if (!r.expanded) return { type: 'expand', path };
      return nodes[i + 1] && parentPath(nodes[i + 1].path) === path ? { type: 'focus', path: nodes[i + 1].path } : { type: 'none' };
    case 'ArrowLeft':
      if (r.expanded) return { type: 'collapse', path };
      return r.depth > 1 ? { type: 'focus', path: parentPath(path) } : { type: 'none' };
    case 'Enter':
      if (r.expandable) return toggle();
      return r.checkable ? { type: 'check', path } : { type: 'none' };
    case ' ':
    case 'Spacebar':
      if (r.checkable) return { type: 'check', path };
      return r.expandable ? toggle() : { type: 'none' };
    default:
      return { type: 'none' };
  }
}

// ------------------------------------------------------------ certificates

/** Hex digits only, as the thumbprint is compared (any case, ':' or spaces). */
export function normThumbprint(t: string): string {
  return t.replace(/[^0-9a-fA-F]/g, '').toLowerCase();
}

/** The first 8 hex digits and an ellipsis (the CLI accepts 8 digits as a prefix). */
export function shortThumbprint(t: string): string {
  const h = normThumbprint(t);
  return h.length > 8 ? `${h.slice(0, 8)}…` : h;
}

/** The whole thumbprint in groups of four, to compare with the server's own. */
export function groupedThumbprint(t: string): string {
  return (normThumbprint(t).match(/.{1,4}/g) ?? []).join(' ');
}

const DAY = 86_400_000;

export interface CertExpiry {
  /** YYYY-MM-DD (UTC), or "—" when unknown. */
  date: string;
  expired: boolean;
  /** Expires within `soonDays` (and has not yet). */
  soon: boolean;
  /** A sentence for the tooltip. */
  title: string;
}

export function certExpiry(notAfter: number, now: number, soonDays = 30): CertExpiry {
  if (!notAfter) return { date: '—', expired: false, soon: false, title: 'Expiry unknown' };
  const iso = new Date(notAfter).toISOString();
  const date = iso.slice(0, 10);
  const when = `${date} ${iso.slice(11, 16)} UTC`;
  if (notAfter <= now) return { date, expired: true, soon: false, title: `Expired ${when}` };
  const days = Math.floor((notAfter - now) / DAY);
  const soon = days < soonDays;
  return { date, expired: false, soon, title: `Valid until ${when}${soon ? ` (${days === 0 ? 'less than a day' : days === 1 ? '1 day' : `${days} days`} left)` : ''}` };
}

const byText = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Rejected first (they are waiting for a decision), then by device and subject. */
export function sortCerts(certs: readonly ServerCert[]): ServerCert[] {
  const rank = (c: ServerCert) => (c.status === 'rejected' ? 0 : c.status === 'trusted' ? 2 : 1);
  return [...certs].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      byText.compare(a.device, b.device) ||
      byText.compare(a.subject, b.subject) ||
      (a.thumbprint < b.thumbprint ? -1 : a.thumbprint > b.thumbprint ? 1 : 0),
  );
}

const SECURITY_LABEL: Record<string, string> = {
  none: 'No security',
  sign: 'Sign',
  sign_and_encrypt: 'Sign & encrypt',
};

export function securityLabel(s: string): string {
  return SECURITY_LABEL[s] ?? s;
}
