import { describe, expect, it } from 'vitest';
import {
  AUDIT_LIMIT,
  DEFAULT_FILTER,
  auditQuery,
  dispositionFilename,
  fallbackFilename,
  formatStamp,
  isFailed,
  parseAuditEvents,
} from './audit';

const NOW = 1_700_000_000_000;
const params = (q: string) => Object.fromEntries(new URLSearchParams(q));

describe('auditQuery', () => {
  it('asks for audit entries of the last 24 h by default, up to the limit', () => {
    expect(params(auditQuery(DEFAULT_FILTER, NOW))).toEqual({
      kind: 'audit',
      from: String(NOW - 24 * 3600_000),
      limit: String(AUDIT_LIMIT),
    });
  });

  it('maps each range preset to from (no to: the newest entries always come)', () => {
    const from = (range: typeof DEFAULT_FILTER.range) => params(auditQuery({ ...DEFAULT_FILTER, range }, NOW)).from;
    expect(from('1h')).toBe(String(NOW - 3600_000));
    expect(from('8h')).toBe(String(NOW - 8 * 3600_000));
    expect(from('7d')).toBe(String(NOW - 7 * 86400_000));
    expect(from('all')).toBeUndefined();
    expect(auditQuery(DEFAULT_FILTER, NOW)).not.toMatch(/(^|&)to=/);
  });

  it('adds trimmed exact-match fields, encoded, and leaves blank ones out', () => {
    const q = auditQuery({ range: 'all', user: ' operator ', source: 'TIC101.SP', action: 'project.load' }, NOW);
    expect(params(q)).toEqual({ kind: 'audit', user: 'operator', source: 'TIC101.SP', action: 'project.load', limit: '10000' });
    const odd = auditQuery({ range: 'all', user: 'a&b=c', source: 'plant 1/line#2', action: '' }, NOW);
    expect(odd).toContain('user=a%26b%3Dc');
    expect(params(odd)).toMatchObject({ user: 'a&b=c', source: 'plant 1/line#2' });
    expect(params(odd).action).toBeUndefined();
  });

  it('builds the same query with format=csv for the export', () => {
    const f = { range: '8h' as const, user: 'operator', source: '', action: 'write' };
    const csv = params(auditQuery(f, NOW, { format: 'csv' }));
    const { format, ...rest } = csv;
    expect(format).toBe('csv');
    expect(rest).toEqual(params(auditQuery(f, NOW)));
  });

  it('keeps the limit between 1 and the server maximum', () => {
    expect(params(auditQuery(DEFAULT_FILTER, NOW, { limit: 50 })).limit).toBe('50');
    expect(params(auditQuery(DEFAULT_FILTER, NOW, { limit: 99999 })).limit).toBe('10000');
    expect(params(auditQuery(DEFAULT_FILTER, NOW, { limit: 0 })).limit).toBe('1');
  });
});

describe('audit rows', () => {
  it('marks every result but "ok" (and none) as failed', () => {
    expect(isFailed({ result: 'ok' })).toBe(false);
    expect(isFailed({})).toBe(false);
    expect(isFailed({ result: 'wrong user name or password' })).toBe(true);
    expect(isFailed({ result: 'too many failed logins: try again in 45 s' })).toBe(true);
  });

  it('shows times with their date', () => {
    const ts = new Date(2025, 10, 5, 7, 8, 9).getTime();
    expect(formatStamp(ts)).toBe('2025-11-05 07:08:09');
    expect(formatStamp(0)).toBe('—');
  });

  it('keeps only well-formed entries', () => {
    expect(parseAuditEvents(null)).toEqual([]);
    expect(parseAuditEvents({ error: 'x' })).toEqual([]);
    expect(parseAuditEvents([{ id: 1, ts: 5, kind: 'audit' }, null, 'x', { id: 2 }])).toEqual([{ id: 1, ts: 5, kind: 'audit' }]);
  });
});

describe('export file name', () => {
  it('reads Content-Disposition', () => {
    expect(dispositionFilename('attachment; filename="edgehmi-audit-20251125.csv"')).toBe('edgehmi-audit-20251125.csv');
    expect(dispositionFilename('attachment; filename=audit.csv')).toBe('audit.csv');
    expect(dispositionFilename("attachment; filename*=UTF-8''audit%20n%C2%B01.csv")).toBe('audit n°1.csv');
    expect(dispositionFilename('attachment; filename="../../etc/passwd"')).toBe('passwd');
    expect(dispositionFilename('attachment')).toBeNull();
    expect(dispositionFilename(null)).toBeNull();
  });

  it('makes one up when the server gives none', () => {
    expect(fallbackFilename(new Date(2025, 0, 2, 3, 4, 5).getTime())).toBe('edgehmi-audit-20250102-030405.csv');
  });
});
