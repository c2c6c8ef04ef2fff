import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ROOT,
  beginLoad,
  browsePath,
  certActionPath,
  certExpiry,
  checkedTags,
  childPath,
  classLabel,
  clearChecked,
  collapse,
  collapseAll,
  dataTypeText,
  emptyTree,
  expand,
  failLoad,
  finishLoad,
  groupedThumbprint,
  opcuaApi,
  parentPath,
  parseBrowse,
  parseCertificates,
  parseOpcuaDevices,
  pathNode,
  securityLabel,
  setChecked,
  shortThumbprint,
  sortCerts,
  tagWarnings,
  tagsYaml,
  toggleChecked,
  toggleExpanded,
  treeKey,
  uncheckableReason,
  visibleRows,
  yamlScalar,
  type BrowseNode,
  type NodeRow,
  type ServerCert,
  type TagSuggestion,
  type TreeState,
} from './opcua';
import { ApiError, api } from './transport';

// ------------------------------------------------------------ fixtures

function tag(name: string, over: Partial<TagSuggestion> = {}): TagSuggestion {
  return { name, device: 'plc2', address: `ns=2;s=${name}`, type: 'double', writable: false, ...over };
}

function obj(id: string, over: Partial<BrowseNode> = {}): BrowseNode {
  return { node_id: id, browse_name: `2:${id}`, display_name: id, class: 'object', data_type: '', access: '', array: false, has_children: true, ...over };
}

function variable(id: string, over: Partial<BrowseNode> = {}): BrowseNode {
  return {
    node_id: `ns=2;s=${id}`,
    browse_name: `2:${id}`,
    display_name: id,
    class: 'variable',
    data_type: 'Double',
    access: 'r',
    array: false,
    has_children: false,
    tag: tag(id),
    ...over,
  };
}

const FOLDER = obj('ns=2;s=TIC101', { display_name: 'TIC101' });
const SERVER = obj('i=2253', { display_name: 'Server', browse_name: 'Server' });
const PV = variable('TIC101.PV');
const SP = variable('TIC101.SP', { access: 'rw', tag: tag('TIC101.SP', { writable: true }) });
const STRUCT = variable('TIC101.Cfg', { data_type: 'TuningStruct', tag: undefined });

/** Objects → [TIC101, Server]; TIC101 → [PV, SP, Cfg] (all loaded). */
function loadedTree(): TreeState {
  let s = finishLoad(beginLoad(emptyTree(), ROOT), ROOT, [FOLDER, SERVER]);
  s = finishLoad(s, FOLDER.node_id, [PV, SP, STRUCT]);
  return s;
}

const nodeRows = (s: TreeState) => visibleRows(s).filter((r): r is NodeRow => r.kind === 'node');

// ------------------------------------------------------------ validation

describe('answers', () => {
  it('reads the device list, dropping entries without a name', () => {
    expect(
      parseOpcuaDevices([
        { name: 'plc2', endpoint: 'opc.tcp://127.0.0.1:4840', security: 'none', connected: true },
        { endpoint: 'x' },
        null,
        { name: 'plc3' },
      ]),
    ).toEqual([
      { name: 'plc2', endpoint: 'opc.tcp://127.0.0.1:4840', security: 'none', connected: true },
      { name: 'plc3', endpoint: '', security: '', connected: false },
    ]);
    expect(() => parseOpcuaDevices({ error: 'x' })).toThrow(/no device list/);
  });

  it('reads a browse answer: the contract example, duplicates and broken entries dropped, tags only on variables', () => {
    const r = parseBrowse({
      device: 'plc2',
      node: 'i=85',
      children: [
        {
          node_id: 'ns=2;s=TIC101.PV',
          browse_name: '2:PV',
          display_name: 'PV',
          class: 'variable',
          data_type: 'Double',
          access: 'rw',
          array: false,
          has_children: false,
          tag: { name: 'TIC101.PV', device: 'plc2', address: 'ns=2;s=TIC101.PV', type: 'double', writable: true },
        },
        { node_id: 'ns=2;s=TIC101.PV', display_name: 'again', class: 'variable' },
        { display_name: 'no id' },
        'junk',
        { node_id: 'i=2253', browse_name: 'Server', class: 'object', has_children: true, tag: { name: 'x', device: 'd', address: 'a', type: 't' } },
        { node_id: 'ns=2;i=7', class: 'variable', tag: { name: 'half' } },
      ],
    });
    expect(r.device).toBe('plc2');
    expect(r.node).toBe('i=85');
    expect(r.children.map((c) => c.node_id)).toEqual(['ns=2;s=TIC101.PV', 'i=2253', 'ns=2;i=7']);
    expect(r.children[0]).toEqual({
      node_id: 'ns=2;s=TIC101.PV',
      browse_name: '2:PV',
      display_name: 'PV',
      class: 'variable',
      data_type: 'Double',
      access: 'rw',
      array: false,
      has_children: false,
      tag: { name: 'TIC101.PV', device: 'plc2', address: 'ns=2;s=TIC101.PV', type: 'double', writable: true },
    });
    expect(r.children[1].display_name).toBe('Server'); // falls back to the browse name
    expect(r.children[1].tag).toBeUndefined(); // not a variable
    expect(r.children[2].tag).toBeUndefined(); // incomplete suggestion
    expect(r.children[2].display_name).toBe('ns=2;i=7');
    expect(() => parseBrowse({ device: 'plc2' })).toThrow(/no children/);
  });

  it('reads certificates', () => {
    const list = parseCertificates([
      { thumbprint: 'ab12', subject: 'CN=sim', device: 'plc2', endpoint: 'opc.tcp://h:4840', not_after: 1795000000000, status: 'rejected' },
      { subject: 'no thumbprint' },
      { thumbprint: 'cd34', not_after: 'soon' },
    ]);
    expect(list).toEqual([
      { thumbprint: 'ab12', subject: 'CN=sim', device: 'plc2', endpoint: 'opc.tcp://h:4840', not_after: 1795000000000, status: 'rejected' },
      { thumbprint: 'cd34', subject: '', device: '', endpoint: '', not_after: 0, status: '' },
    ]);
    expect(() => parseCertificates(null)).toThrow(/no certificate list/);
  });
});

// ------------------------------------------------------------ client

describe('opcuaApi', () => {
  let calls: { url: string; init: RequestInit }[];
  let answers: Response[];
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

  beforeEach(() => {
    calls = [];
    answers = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      const r = answers.shift();
      if (!r) throw new TypeError('network down');
      return r;
    });
  });

  afterEach(async () => {
    answers.push(new Response('{}', { status: 200 }));
    await api.logout().catch(() => {});
    vi.unstubAllGlobals();
  });

  it('builds the paths of the contract, escaped', () => {
    expect(browsePath('plc2')).toBe('/api/v1/opcua/browse?device=plc2');
    expect(browsePath('plc2', 'ns=2;s=A B&C#1')).toBe('/api/v1/opcua/browse?device=plc2&node=ns%3D2%3Bs%3DA+B%26C%231');
    expect(new URLSearchParams(browsePath('my plc', 'ns=2;s=A B&C#1').split('?')[1]).get('node')).toBe('ns=2;s=A B&C#1');
    expect(certActionPath('ab12cd', 'trust')).toBe('/api/v1/opcua/certificates/ab12cd/trust');
    expect(certActionPath('ab/12', 'reject')).toBe('/api/v1/opcua/certificates/ab%2F12/reject');
  });

  it('browses with the session and validates the answer', async () => {
    answers.push(json(200, { user: 'engineer', role: 'engineer', token: 'T' }));
    await api.login('engineer', 'engineer');
    answers.push(json(200, { device: 'plc2', node: 'i=85', children: [{ node_id: 'ns=2;s=TIC101', class: 'object', has_children: true }] }));
    const r = await opcuaApi.browse('plc2');
    expect(r.children[0].node_id).toBe('ns=2;s=TIC101');
    const c = calls.at(-1)!;
    expect(c.url).toBe('/api/v1/opcua/browse?device=plc2');
    expect(c.init.method).toBe('GET');
    expect(c.init.credentials).toBe('same-origin');
    expect((c.init.headers as Record<string, string>).Authorization).toBe('Bearer T');
  });

  it('posts trust and reject with an empty JSON body and reads the updated certificate', async () => {
    const cert = { thumbprint: 'ab'.repeat(20), subject: 'CN=x', device: 'plc2', endpoint: 'e', not_after: 1, status: 'trusted' };
    answers.push(json(200, cert));
    expect(await opcuaApi.setTrust(cert.thumbprint, 'trust')).toEqual(cert);
    const c = calls.at(-1)!;
    expect(c.url).toBe(`/api/v1/opcua/certificates/${cert.thumbprint}/trust`);
    expect(c.init.method).toBe('POST');
    expect(c.init.body).toBe('{}');
    expect((c.init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
    answers.push(json(200, { ...cert, status: 'rejected' }));
    expect((await opcuaApi.setTrust(cert.thumbprint, 'reject')).status).toBe('rejected');
    expect(calls.at(-1)!.url).toMatch(/\/reject$/);
  });

  it("passes on the server's sentence", async () => {
    answers.push(json(403, { error: 'needs role engineer or above' }));
    const e = await opcuaApi.certificates().catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ status: 403, message: 'needs role engineer or above' });
    answers.push(json(502, { error: 'plc2: BadTimeout' }));
    await expect(opcuaApi.browse('plc2', 'i=85')).rejects.toMatchObject({ status: 502, message: 'plc2: BadTimeout' });
    answers.push(json(200, [{ name: 'plc2', endpoint: 'opc.tcp://x', security: 'sign', connected: false }]));
    expect(await opcuaApi.devices()).toHaveLength(1);
    expect(calls.at(-1)!.url).toBe('/api/v1/opcua/devices');
  });
});

// ------------------------------------------------------------ YAML

describe('yamlScalar', () => {
  it('leaves plain what reads back as the same string', () => {
    for (const s of ['TIC101.PV', 'ns=2;s=TIC101.PV', 'i=2253', 'ns=2;g=09087e75-8e5e-499b-954f-f2a9603db28a', 'ns=3;b=M/RbKBsRVkePCePcx24oRA==', 'double', 'plc2', '_x', 'Temperatur_Kessel', 'Größe']) {
      expect(yamlScalar(s), s).toBe(s);
    }
  });

  it('quotes what YAML would read as something else, or not at all', () => {
    expect(yamlScalar('')).toBe('""');
    expect(yamlScalar('true')).toBe('"true"');
    expect(yamlScalar('No')).toBe('"No"');
    expect(yamlScalar('off')).toBe('"off"');
    expect(yamlScalar('null')).toBe('"null"');
    expect(yamlScalar('~')).toBe('"~"');
    expect(yamlScalar('101')).toBe('"101"');
    expect(yamlScalar('1e3')).toBe('"1e3"');
    expect(yamlScalar('12:30')).toBe('"12:30"');
    expect(yamlScalar('2024-01-02')).toBe('"2024-01-02"');
    expect(yamlScalar('.inf')).toBe('".inf"');
    expect(yamlScalar('-1')).toBe('"-1"');
    expect(yamlScalar('=')).toBe('"="');
  });

  it("quotes ':' '#' quotes, spaces, indicators and escapes '\"' and '\\'", () => {
    expect(yamlScalar('nsu=urn:sim:plant;s=TIC101.PV')).toBe('"nsu=urn:sim:plant;s=TIC101.PV"');
    expect(yamlScalar('ns=2;s=A: B')).toBe('"ns=2;s=A: B"');
    expect(yamlScalar('ns=2;s=Tank #1')).toBe('"ns=2;s=Tank #1"');
    expect(yamlScalar('Tank#1')).toBe('"Tank#1"');
    expect(yamlScalar('#1')).toBe('"#1"');
    expect(yamlScalar('ns=2;s=say "hi"')).toBe('"ns=2;s=say \\"hi\\""');
    expect(yamlScalar("it's")).toBe('"it\'s"');
    expect(yamlScalar('C:\\path')).toBe('"C:\\\\path"');
    expect(yamlScalar('ns=2;s=Arr[0]')).toBe('"ns=2;s=Arr[0]"');
    expect(yamlScalar('a,b')).toBe('"a,b"');
    expect(yamlScalar('{x}')).toBe('"{x}"');
    expect(yamlScalar('&anchor')).toBe('"&anchor"');
    expect(yamlScalar('*alias')).toBe('"*alias"');
    expect(yamlScalar('!tag')).toBe('"!tag"');
    expect(yamlScalar('|')).toBe('"|"');
    expect(yamlScalar('>x')).toBe('">x"');
    expect(yamlScalar('%x')).toBe('"%x"');
    expect(yamlScalar('@x')).toBe('"@x"');
    expect(yamlScalar('`x`')).toBe('"`x`"');
    expect(yamlScalar('- x')).toBe('"- x"');
    expect(yamlScalar('?x')).toBe('"?x"');
    expect(yamlScalar(' lead')).toBe('" lead"');
    expect(yamlScalar('trail ')).toBe('"trail "');
  });

  it('escapes control characters and line separators', () => {
    expect(yamlScalar('a\nb\tc')).toBe('"a\\nb\\tc"');
    expect(yamlScalar('a\u0000b')).toBe('"a\\u0000b"');
    expect(yamlScalar('a\u007fb\u0085c')).toBe('"a\\u007fb\\u0085c"');
    expect(yamlScalar('a\u2028b\u2029c\ufeff')).toBe('"a\\u2028b\\u2029c\\ufeff"');
  });
});

describe('tagsYaml', () => {
  it('writes list items to paste under tags:, as the demo project does', () => {
    expect(tagsYaml([tag('TIC101.PV'), tag('TIC101.SP', { writable: true })])).toBe(
      [
        '  - name: TIC101.PV',
        '    device: plc2',
        '    address: ns=2;s=TIC101.PV',
        '    type: double',
        '  - name: TIC101.SP',
        '    device: plc2',
        '    address: ns=2;s=TIC101.SP',
        '    type: double',
        '    writable: true',
        '',
      ].join('\n'),
    );
    expect(tagsYaml([])).toBe('');
  });

  it('quotes the tricky names and addresses', () => {
    const t = { name: 'Tank #1: "level"', device: 'plc 2', address: 'nsu=urn:x:y;s=Tank #1:Level', type: 'float', writable: false };
    expect(tagsYaml([t])).toBe(
      [
        '  - name: "Tank #1: \\"level\\""',
        '    device: "plc 2"',
        '    address: "nsu=urn:x:y;s=Tank #1:Level"',
        '    type: float',
        '',
      ].join('\n'),
    );
    expect(tagsYaml([tag('yes', { address: 'ns=2;s=On' })])).toContain('  - name: "yes"\n');
  });

  it('round-trips through a JSON-compatible reading of the double-quoted form', () => {
    // A double-quoted YAML scalar made by yamlScalar is also a JSON string.
    for (const s of ['a"b', 'x\\y', 'tab\there', 'ns=2;s=Tank #1', 'u\u2028v', ': ', '#']) {
      const q = yamlScalar(s);
      expect(q.startsWith('"')).toBe(true);
      expect(JSON.parse(q)).toBe(s);
    }
  });
});

describe('tagWarnings', () => {
  it('names duplicates and tags the project already has', () => {
    expect(tagWarnings([tag('A'), tag('B')], ['C'])).toEqual([]);
    expect(tagWarnings([tag('A'), tag('A', { address: 'ns=3;s=A' }), tag('TIC101.PV')], ['TIC101.PV'])).toEqual([
      '2 checked variables get the name A: rename all but one.',
      'The project already has a tag TIC101.PV: rename this one or leave it out.',
    ]);
  });
});

// ------------------------------------------------------------ tree

describe('tree', () => {
  it('paths: a node id per level, ids with / and ; kept whole', () => {
    const p = childPath(childPath(ROOT, 'ns=2;s=A/B'), 'ns=2;s=C');
    expect(pathNode(p)).toBe('ns=2;s=C');
    expect(parentPath(p)).toBe('ns=2;s=A/B');
    expect(parentPath('ns=2;s=A/B')).toBe(ROOT);
    expect(childPath(ROOT, 'i=85')).toBe('i=85');
  });

  it('shows the Objects folder children, then fetches children on the first expand only', () => {
    let s = emptyTree();
    expect(visibleRows(s)).toEqual([]);
    s = finishLoad(beginLoad(s, ROOT), ROOT, [FOLDER, SERVER, PV]);
    let rows = nodeRows(s);
    expect(rows.map((r) => [r.node.display_name, r.depth, r.expandable, r.checkable, r.posinset, r.setsize])).toEqual([
      ['TIC101', 1, true, false, 1, 3],
      ['Server', 1, true, false, 2, 3],
      ['TIC101.PV', 1, false, true, 3, 3],
    ]);

    const e1 = expand(s, FOLDER.node_id);
    expect(e1.load).toBe(FOLDER.node_id);
    s = e1.state;
    expect(visibleRows(s).map((r) => r.kind + ':' + (r.kind === 'status' ? r.status : r.node.display_name))).toEqual([
      'node:TIC101',
      'status:loading',
      'node:Server',
      'node:TIC101.PV',
    ]);
    expect(nodeRows(s)[0]).toMatchObject({ expanded: true, loading: true });
    // A second expand while loading asks for nothing.
    expect(expand(s, FOLDER.node_id).load).toBeNull();

    s = finishLoad(s, FOLDER.node_id, [PV, SP]);
    rows = nodeRows(s);
    expect(rows.map((r) => [r.path, r.depth])).toEqual([
      ['ns=2;s=TIC101', 1],
      [childPath('ns=2;s=TIC101', PV.node_id), 2],
      [childPath('ns=2;s=TIC101', SP.node_id), 2],
      ['i=2253', 1],
      [PV.node_id, 1],
    ]);

    // Collapse and expand again: children come from the cache.
    s = toggleExpanded(s, FOLDER.node_id).state;
    expect(nodeRows(s)).toHaveLength(3);
    const again = toggleExpanded(s, FOLDER.node_id);
    expect(again.load).toBeNull();
    expect(nodeRows(again.state)).toHaveLength(5);
  });

  it('shows an error under the row and fetches again on the next expand', () => {
    let s = finishLoad(beginLoad(emptyTree(), ROOT), ROOT, [SERVER]);
    s = expand(s, SERVER.node_id).state;
    s = failLoad(s, SERVER.node_id, 'plc2: BadTimeout');
    const rows = visibleRows(s);
    expect(rows[1]).toMatchObject({ kind: 'status', status: 'error', text: 'plc2: BadTimeout', depth: 2, nodeId: 'i=2253' });
    s = collapse(s, SERVER.node_id);
    const e = expand(s, SERVER.node_id);
    expect(e.load).toBe('i=2253');
    expect(e.state.errors.has('i=2253')).toBe(false);
    // An empty answer says so.
    s = finishLoad(e.state, SERVER.node_id, []);
    expect(visibleRows(s)[1]).toMatchObject({ kind: 'status', status: 'empty', text: 'No children' });
  });

  it('expands each place of a node on its own, and a node below itself does not loop', () => {
    const a = obj('ns=2;s=A');
    const b = obj('ns=2;s=B');
    let s = finishLoad(beginLoad(emptyTree(), ROOT), ROOT, [a]);
    s = finishLoad(s, a.node_id, [b]);
    s = finishLoad(s, b.node_id, [a]); // B refers back to A
    s = expand(s, a.node_id).state;
    s = expand(s, childPath(a.node_id, b.node_id)).state;
    const rows = nodeRows(s);
    expect(rows.map((r) => [r.node.node_id, r.depth, r.expanded])).toEqual([
      ['ns=2;s=A', 1, true],
      ['ns=2;s=B', 2, true],
      ['ns=2;s=A', 3, false], // same node, another place: not expanded
    ]);
    expect(new Set(rows.map((r) => r.path)).size).toBe(3);
    // Collapsing A forgets the expansion below it.
    s = collapse(s, a.node_id);
    expect(s.expanded.size).toBe(0);
    expect(collapseAll(expand(s, a.node_id).state).expanded.size).toBe(0);
  });

  it('checks variables with a tag suggestion, in the order checked, wherever they appear', () => {
    let s = loadedTree();
    s = expand(s, FOLDER.node_id).state;
    s = toggleChecked(s, SP);
    s = toggleChecked(s, PV);
    s = toggleChecked(s, STRUCT); // no suggestion: stays unchecked
    expect(checkedTags(s).map((t) => t.name)).toEqual(['TIC101.SP', 'TIC101.PV']);
    expect(nodeRows(s).filter((r) => r.checked).map((r) => r.node.display_name)).toEqual(['TIC101.PV', 'TIC101.SP']);
    expect(nodeRows(s).find((r) => r.node === STRUCT)).toMatchObject({ checkable: false, checked: false });
    // Collapsed rows keep their check.
    s = collapse(s, FOLDER.node_id);
    expect(checkedTags(s)).toHaveLength(2);
    s = setChecked(s, SP, false);
    expect(checkedTags(s).map((t) => t.name)).toEqual(['TIC101.PV']);
    expect(setChecked(s, PV, true)).toBe(s); // no change, same state
    expect(clearChecked(s).checked.size).toBe(0);
  });

  it('node texts', () => {
    expect(classLabel('object_type')).toBe('ObjectType');
    expect(classLabel('variable')).toBe('Variable');
    expect(classLabel('weird')).toBe('weird');
    expect(dataTypeText({ data_type: 'Double', array: true })).toBe('Double[]');
    expect(dataTypeText({ data_type: '', array: false })).toBe('');
    expect(uncheckableReason(PV)).toBeNull();
    expect(uncheckableReason(FOLDER)).toBeNull();
    expect(uncheckableReason(STRUCT)).toBe('edgehmi cannot read TuningStruct values');
  });
});

describe('treeKey', () => {
  const s = expand(loadedTree(), FOLDER.node_id).state;
  const rows = visibleRows(s);
  const pv = childPath(FOLDER.node_id, PV.node_id);
  const sp = childPath(FOLDER.node_id, SP.node_id);

  it('moves with the arrows, Home and End', () => {
    expect(treeKey(rows, FOLDER.node_id, 'ArrowDown')).toEqual({ type: 'focus', path: pv });
    expect(treeKey(rows, pv, 'ArrowDown')).toEqual({ type: 'focus', path: sp });
    expect(treeKey(rows, pv, 'ArrowUp')).toEqual({ type: 'focus', path: FOLDER.node_id });
    expect(treeKey(rows, FOLDER.node_id, 'ArrowUp')).toEqual({ type: 'none' });
    expect(treeKey(rows, pv, 'End')).toEqual({ type: 'focus', path: SERVER.node_id });
    expect(treeKey(rows, SERVER.node_id, 'Home')).toEqual({ type: 'focus', path: FOLDER.node_id });
    expect(treeKey(rows, 'gone', 'ArrowDown')).toEqual({ type: 'focus', path: FOLDER.node_id });
  });

  it('Right expands then enters, Left collapses then leaves', () => {
    expect(treeKey(rows, SERVER.node_id, 'ArrowRight')).toEqual({ type: 'expand', path: SERVER.node_id });
    expect(treeKey(rows, FOLDER.node_id, 'ArrowRight')).toEqual({ type: 'focus', path: pv });
    expect(treeKey(rows, pv, 'ArrowRight')).toEqual({ type: 'none' });
    expect(treeKey(rows, FOLDER.node_id, 'ArrowLeft')).toEqual({ type: 'collapse', path: FOLDER.node_id });
    expect(treeKey(rows, sp, 'ArrowLeft')).toEqual({ type: 'focus', path: FOLDER.node_id });
    expect(treeKey(rows, SERVER.node_id, 'ArrowLeft')).toEqual({ type: 'none' });
  });

  it('Enter and Space expand folders and check variables', () => {
    expect(treeKey(rows, SERVER.node_id, 'Enter')).toEqual({ type: 'expand', path: SERVER.node_id });
    expect(treeKey(rows, SERVER.node_id, ' ')).toEqual({ type: 'expand', path: SERVER.node_id });
    expect(treeKey(rows, FOLDER.node_id, 'Enter')).toEqual({ type: 'collapse', path: FOLDER.node_id });
    expect(treeKey(rows, pv, 'Enter')).toEqual({ type: 'check', path: pv });
    expect(treeKey(rows, pv, ' ')).toEqual({ type: 'check', path: pv });
    const str = childPath(FOLDER.node_id, STRUCT.node_id);
    expect(treeKey(rows, str, ' ')).toEqual({ type: 'none' });
    expect(treeKey(rows, pv, 'x')).toEqual({ type: 'none' });
    // A variable with children (properties): Enter expands, Space checks.
    const withProps = variable('TIC101.OUT', { has_children: true });
    const r2 = visibleRows(finishLoad(loadedTree(), ROOT, [withProps]));
    expect(treeKey(r2, withProps.node_id, 'Enter')).toEqual({ type: 'expand', path: withProps.node_id });
    expect(treeKey(r2, withProps.node_id, ' ')).toEqual({ type: 'check', path: withProps.node_id });
  });
});

// ------------------------------------------------------------ certificates

describe('certificates', () => {
  const TP = 'AB12CD34EF567890ab12cd34ef567890AB12CD34';

  it('shortens and groups thumbprints', () => {
    expect(shortThumbprint(TP)).toBe('ab12cd34…');
    expect(shortThumbprint('ab:12')).toBe('ab12');
    expect(groupedThumbprint(TP)).toBe('ab12 cd34 ef56 7890 ab12 cd34 ef56 7890 ab12 cd34');
    expect(groupedThumbprint('AB:12:CD')).toBe('ab12 cd');
  });

  it('dates the expiry and flags expired and soon-expiring certificates', () => {
    const now = Date.UTC(2026, 0, 10, 12, 0);
    expect(certExpiry(0, now)).toEqual({ date: '—', expired: false, soon: false, title: 'Expiry unknown' });
    expect(certExpiry(Date.UTC(2026, 0, 9, 8, 30), now)).toEqual({ date: '2026-01-09', expired: true, soon: false, title: 'Expired 2026-01-09 08:30 UTC' });
    expect(certExpiry(Date.UTC(2026, 0, 20, 12, 0), now)).toMatchObject({ date: '2026-01-20', expired: false, soon: true, title: 'Valid until 2026-01-20 12:00 UTC (10 days left)' });
    expect(certExpiry(Date.UTC(2026, 0, 10, 18, 0), now).title).toMatch(/less than a day left/);
    expect(certExpiry(Date.UTC(2027, 0, 1), now)).toMatchObject({ expired: false, soon: false, title: 'Valid until 2027-01-01 00:00 UTC' });
  });

  it('lists rejected certificates first, then by device and subject', () => {
    const c = (thumbprint: string, status: string, device: string, subject = 'CN=s'): ServerCert => ({ thumbprint, subject, device, endpoint: '', not_after: 0, status });
    const sorted = sortCerts([c('1', 'trusted', 'plc1'), c('2', 'rejected', 'plc10'), c('3', 'rejected', 'plc2'), c('4', 'trusted', 'plc1', 'CN=a')]);
    expect(sorted.map((x) => x.thumbprint)).toEqual(['3', '2', '4', '1']);
  });

  it('labels security modes', () => {
    expect(securityLabel('none')).toBe('No security');
    expect(securityLabel('sign_and_encrypt')).toBe('Sign & encrypt');
    expect(securityLabel('other')).toBe('other');
  });
});
