// View state that is not server data: which screen, which dialog.

export type View = 'overview' | 'tags' | 'audit' | 'diagnostics' | 'engineering';

const HASH: Record<View, string> = {
  overview: '#/',
  tags: '#/tags',
  audit: '#/audit',
  diagnostics: '#/diagnostics',
  engineering: '#/engineering',
};

function viewFromHash(): View {
  switch (location.hash) {
    case '#/tags':
      return 'tags';
    case '#/audit':
      return 'audit';
    case '#/diagnostics':
      return 'diagnostics';
    case '#/engineering':
      return 'engineering';
    default:
      return 'overview';
  }
}

class Ui {
  view = $state<View>(viewFromHash());
  /** Tag whose write dialog is open, or null. */
  dialogTag = $state<string | null>(null);
  /** The user panel (log in / log out) under the badge is open. */
  userPanelOpen = $state(false);

  constructor() {
    addEventListener('hashchange', () => (this.view = viewFromHash()));
  }

  go(view: View): void {
    location.hash = HASH[view];
    this.view = view;
  }

  openWrite(tag: string): void {
    this.dialogTag = tag;
  }

  closeWrite(): void {
    this.dialogTag = null;
  }
}

export const ui = new Ui();
