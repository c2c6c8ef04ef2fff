// View state that is not server data: which screen, which dialog, and the
// alarm summary's filter and sort (kept while the operator looks elsewhere).

import { DEFAULT_SORT, EMPTY_FILTER, type Scope, type SummaryFilter, type SummarySort } from './alarms';

export type View = 'overview' | 'alarms' | 'tags' | 'trends' | 'audit' | 'diagnostics' | 'engineering';

/** The Alarms screen's parts: the live summary, the journal, the KPIs. */
export type AlarmPane = 'summary' | 'history' | 'kpi';

const HASH: Record<View, string> = {
  overview: '#/',
  alarms: '#/alarms',
  tags: '#/tags',
  trends: '#/trends',
  audit: '#/audit',
  diagnostics: '#/diagnostics',
  engineering: '#/engineering',
};

const PANE_HASH: Record<AlarmPane, string> = {
  summary: '#/alarms',
  history: '#/alarms/history',
  kpi: '#/alarms/kpi',
};

function fromHash(): { view: View; pane: AlarmPane | null } {
  // #/trends?tags=A,B: the pens follow the ?
  if (location.hash === '#/trends' || location.hash.startsWith('#/trends?')) return { view: 'trends', pane: null };
  switch (location.hash) {
    case '#/alarms':
      return { view: 'alarms', pane: 'summary' };
    case '#/alarms/history':
      return { view: 'alarms', pane: 'history' };
    case '#/alarms/kpi':
      return { view: 'alarms', pane: 'kpi' };
    case '#/tags':
      return { view: 'tags', pane: null };
    case '#/audit':
      return { view: 'audit', pane: null };
    case '#/diagnostics':
      return { view: 'diagnostics', pane: null };
    case '#/engineering':
      return { view: 'engineering', pane: null };
    default:
      return { view: 'overview', pane: null };
  }
}

class Ui {
  view = $state<View>(fromHash().view);
  alarmPane = $state<AlarmPane>(fromHash().pane ?? 'summary');
  /** Tag whose write dialog is open, or null. */
  dialogTag = $state<string | null>(null);
  /** The user panel (log in / log out) under the badge is open. */
  userPanelOpen = $state(false);

  /** The alarm summary's filter, sort and scope. */
  alarmFilter = $state<SummaryFilter>({ ...EMPTY_FILTER });
  alarmSort = $state<SummarySort>({ ...DEFAULT_SORT });
  alarmScope = $state<Scope>('active');

  constructor() {
    addEventListener('hashchange', () => {
      const h = fromHash();
      this.view = h.view;
      if (h.pane) this.alarmPane = h.pane;
    });
  }

  go(view: View): void {
    location.hash = view === 'alarms' ? PANE_HASH[this.alarmPane] : HASH[view];
    this.view = view;
  }

  goAlarms(pane: AlarmPane): void {
    this.alarmPane = pane;
    location.hash = PANE_HASH[pane];
    this.view = 'alarms';
  }

  /** The summary with only one area's or equipment's alarms (from an overview marker). */
  showAlarmsOf(area: string): void {
    this.alarmFilter = { ...EMPTY_FILTER, area };
    this.alarmScope = 'active';
    this.goAlarms('summary');
  }

  openWrite(tag: string): void {
    this.dialogTag = tag;
  }

  closeWrite(): void {
    this.dialogTag = null;
  }
}

export const ui = new Ui();
