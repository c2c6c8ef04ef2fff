// View state that is not server data: which screen, which dialog.

export type View = 'overview' | 'tags';

function viewFromHash(): View {
  return location.hash === '#/tags' ? 'tags' : 'overview';
}

class Ui {
  view = $state<View>(viewFromHash());
  /** Tag whose write dialog is open, or null. */
  dialogTag = $state<string | null>(null);

  constructor() {
    addEventListener('hashchange', () => (this.view = viewFromHash()));
  }

  go(view: View): void {
    location.hash = view === 'tags' ? '#/tags' : '#/';
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
