// Roles and what they may do. Pure. The server decides in the end (it answers
// 403); the page only disables what a role may not do and says why.

import type { Role, Session } from './types';

/** Roles in order of rights: each may do what the ones before it may. */
export const ROLES: readonly Role[] = ['viewer', 'operator', 'engineer', 'admin'];

/** Position in ROLES; -1 for something that is not a role. */
export function roleRank(role: string | null | undefined): number {
  return ROLES.indexOf(role as Role);
}

/** True when the logged-in user has at least `needed`. */
export function hasRole(session: Session | null | undefined, needed: Role): boolean {
  if (!session) return false;
  const have = roleRank(session.role);
  return have >= 0 && have >= roleRank(needed);
}

/** The role a write to the tag needs: its write_role, operator when absent. */
export function writeRoleOf(writeRole: string | null | undefined): string {
  return writeRole ? writeRole : 'operator';
}

export interface WritableTag {
  name: string;
  writable: boolean;
  /** As the server sent it (write_role); operator when absent. */
  writeRole?: string;
}

/**
 * Why the user may not write the tag, as a sentence for a tooltip, or null
 * when the write is allowed. A write_role the page does not know is treated as
 * above every role (the server has the last word).
 */
export function writeBlock(session: Session | null | undefined, tag: WritableTag | undefined, name = tag?.name ?? ''): string | null {
  if (!tag) return `${name} is not known to the server`;
  if (!tag.writable) return `${tag.name} is read-only`;
  const needed = writeRoleOf(tag.writeRole);
  if (!session) return needed === 'operator' ? 'Log in to write' : `Log in as ${needed} or above to write`;
  const need = roleRank(needed);
  const have = roleRank(session.role);
  if (need < 0 || have < need) return `Needs role ${needed} or above (you are ${session.role})`;
  return null;
}
