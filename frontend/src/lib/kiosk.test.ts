import { describe, expect, it } from 'vitest';
import { exitKiosk, type KioskShell } from './kiosk';
import type { Session } from './types';

function shell(roles: Record<string, string>) {
  const quits: (string | undefined)[] = [];
  const s: KioskShell = {
    async verify(user, password) {
      if (password !== user) throw new Error('wrong name or password');
      return { role: roles[user] ?? '', token: `tok-${user}` };
    },
    async quit(token) {
      quits.push(token);
    },
  };
  return { s, quits };
}

describe('exitKiosk', () => {
  const roles = { eng: 'engineer', adm: 'admin', op: 'operator' };
  it('quits at once for an engineer already logged in', async () => {
    const { s, quits } = shell(roles);
    await exitKiosk({ user: 'eng', role: 'engineer' } as Session, '', '', s);
    expect(quits).toEqual([undefined]);
  });
  it('asks an operator panel for an engineer and quits with that login', async () => {
    const { s, quits } = shell(roles);
    const op = { user: 'op', role: 'operator' } as Session;
    await expect(exitKiosk(op, '', '', s)).rejects.toThrow(/engineer must log in/);
    await expect(exitKiosk(op, 'op', 'op', s)).rejects.toThrow(/op is operator/);
    await expect(exitKiosk(op, 'eng', 'bad', s)).rejects.toThrow(/wrong name/);
    expect(quits).toEqual([]);
    await exitKiosk(op, 'adm', 'adm', s);
    expect(quits).toEqual(['tok-adm']);
  });
});
