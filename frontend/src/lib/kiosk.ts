// Leaving a kiosk panel: only an engineer (or admin) may, checked by the
// server (the desktop shell asks it who the session is before it quits).

import { hasRole } from './roles';
import type { Session } from './types';
import { desktop } from './transport';

export interface KioskShell {
  verify(user: string, password: string): Promise<{ role: string; token: string }>;
  quit(token?: string): Promise<void>;
}

/**
 * Exits kiosk mode: with the page's own session when it is an engineer's,
 * else with the name and password given (checked by the server, not made
 * this page's session). Resolves when the window closes; rejects with a
 * sentence otherwise.
 */
export async function exitKiosk(session: Session | null, user: string, password: string, shell: KioskShell = desktop): Promise<void> {
  if (hasRole(session, 'engineer') && !user) return shell.quit();
  if (!user || !password) throw new Error('An engineer must log in to leave kiosk mode.');
  const v = await shell.verify(user, password);
  if (!hasRole({ user, role: v.role } as Session, 'engineer')) throw new Error(`${user} is ${v.role || 'not an engineer'}: it takes an engineer or admin.`);
  return shell.quit(v.token);
}
