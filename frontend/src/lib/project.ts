// Project files: loading a new one into the running server, its kept
// versions, and what the page does when a project changes under it.

import { postText, request } from './transport';
import type { TagInfo } from './types';

export interface ProjectVersion {
  id: string;
  name: string;
  hash: string;
  file: string;
  loaded: number;
  size: number;
  current?: boolean;
}

export interface ReloadResult extends ProjectVersion {
  kept: string[] | null;
  started: string[] | null;
  stopped: string[] | null;
  tags: number;
  reload_ms: number;
}

/** Largest project file the server takes. */
export const MAX_PROJECT_BYTES = 32 << 20;

export const projectApi = {
  current(): Promise<ProjectVersion & { yaml: string }> {
    return request('GET', '/api/v1/project');
  },
  versions(): Promise<ProjectVersion[]> {
    return request<ProjectVersion[]>('GET', '/api/v1/project/versions').then((v) => (Array.isArray(v) ? v : []));
  },
  /** Loads a project file; a bad one throws ApiError with its problems in details. */
  load(file: string, text: string): Promise<ReloadResult> {
    return postText<ReloadResult>(`/api/v1/project?file=${encodeURIComponent(file)}`, text, 'application/yaml');
  },
  restore(id: string): Promise<ReloadResult> {
    return request<ReloadResult>('POST', `/api/v1/project/versions/${encodeURIComponent(id)}/restore`, undefined, 60000);
  },
};

/** The tags the page knows that the new tag list no longer has. */
export function removedTags(known: Iterable<string>, list: readonly TagInfo[]): string[] {
  const now = new Set(list.map((t) => t?.name));
  const out: string[] = [];
  for (const n of known) if (!now.has(n)) out.push(n);
  return out;
}

/** Why a file cannot be sent (a sentence), or null. */
export function fileProblem(file: { name: string; size: number } | null | undefined): string | null {
  if (!file) return 'Choose a project file.';
  if (file.size === 0) return `${file.name} is empty.`;
  if (file.size > MAX_PROJECT_BYTES) return `${file.name} is larger than 32 MiB.`;
  if (!/\.ya?ml$/i.test(file.name)) return `${file.name} is not a YAML file (.yaml or .yml).`;
  return null;
}

/** One line saying what a load did, for the engineer. */
export function reloadSummary(r: ReloadResult): string {
  const n = (l: string[] | null) => (l ?? []).length;
  const parts = [`${r.tags} tags`, `${n(r.kept)} ${n(r.kept) === 1 ? 'device' : 'devices'} kept running`];
  const restarted = (r.started ?? []).filter((d) => (r.stopped ?? []).includes(d));
  const added = (r.started ?? []).filter((d) => !restarted.includes(d));
  const removed = (r.stopped ?? []).filter((d) => !restarted.includes(d));
  if (restarted.length) parts.push(`restarted ${restarted.join(', ')}`);
  if (added.length) parts.push(`started ${added.join(', ')}`);
  if (removed.length) parts.push(`stopped ${removed.join(', ')}`);
  return `Loaded "${r.name}": ${parts.join('; ')} (${Math.round(r.reload_ms)} ms).`;
}

/** A problem line FILE:LINE:COL: message split for display. */
export function splitProblem(line: string): { where: string; message: string } {
  const m = /^(.*?:\d+:\d+): (.*)$/s.exec(line);
  return m ? { where: m[1], message: m[2] } : { where: '', message: line };
}
