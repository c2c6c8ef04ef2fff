import { describe, expect, it } from 'vitest';
import { hasRole, roleRank, writeBlock, writeRoleOf } from './roles';
import type { Role } from './types';

const as = (role: Role) => ({ user: role, role });

describe('roles', () => {
  it('orders viewer < operator < engineer < admin', () => {
    expect(['viewer', 'operator', 'engineer', 'admin'].map(roleRank)).toEqual([0, 1, 2, 3]);
    expect(roleRank('root')).toBe(-1);
    expect(hasRole(as('engineer'), 'operator')).toBe(true);
    expect(hasRole(as('operator'), 'engineer')).toBe(false);
    expect(hasRole(null, 'viewer')).toBe(false);
    expect(writeRoleOf(undefined)).toBe('operator');
    expect(writeRoleOf('engineer')).toBe('engineer');
  });

  it('allows writes from operator up when the tag names no role', () => {
    const sp = { name: 'TIC101.SP', writable: true };
    expect(writeBlock(as('operator'), sp)).toBeNull();
    expect(writeBlock(as('admin'), sp)).toBeNull();
    expect(writeBlock(as('viewer'), sp)).toBe('Needs role operator or above (you are viewer)');
    expect(writeBlock(null, sp)).toBe('Log in to write');
  });

  it('honours write_role', () => {
    const t = { name: 'TIC101.Kp', writable: true, writeRole: 'engineer' };
    expect(writeBlock(as('operator'), t)).toBe('Needs role engineer or above (you are operator)');
    expect(writeBlock(as('viewer'), t)).toMatch(/engineer/);
    expect(writeBlock(as('engineer'), t)).toBeNull();
    expect(writeBlock(as('admin'), t)).toBeNull();
    expect(writeBlock(null, t)).toBe('Log in as engineer or above to write');
    expect(writeBlock(as('admin'), { ...t, writeRole: 'admin' })).toBeNull();
    expect(writeBlock(as('engineer'), { ...t, writeRole: 'admin' })).toMatch(/Needs role admin/);
  });

  it('treats an unknown write_role as above every role, and read-only tags as read-only', () => {
    expect(writeBlock(as('admin'), { name: 'X', writable: true, writeRole: 'superuser' })).toMatch(/superuser/);
    expect(writeBlock(as('admin'), { name: 'T101.Level', writable: false })).toBe('T101.Level is read-only');
    expect(writeBlock(as('admin'), undefined, 'Nope')).toBe('Nope is not known to the server');
  });
});
