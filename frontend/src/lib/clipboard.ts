// Copying text to the clipboard. navigator.clipboard exists only on secure
// pages (HTTPS or localhost); a control-room browser on plain HTTP and some
// webviews lack it, so fall back to a selected, hidden textarea and the copy
// command.

/** Copies `text`; false when neither way worked (the caller says so). */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (typeof navigator !== 'undefined' && navigator.clipboard && globalThis.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* refused (permissions, focus): try the old way */
  }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.top = '-1000px';
  ta.style.opacity = '0';
  const back = document.activeElement as HTMLElement | null;
  document.body.appendChild(ta);
  try {
    ta.select();
    // Deprecated but the only way left on insecure pages.
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    ta.remove();
    back?.focus?.();
  }
}
