import { api } from './transport';

// Saving a file the page fetched (a CSV export): an object URL and a
// temporary <a download>. No window.open, which the desktop webview blocks.

export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  try {
    a.click();
  } finally {
    a.remove();
    // Give the browser time to start the download before the URL goes.
    setTimeout(() => URL.revokeObjectURL(url), 30_000);
  }
}

// saveCsv fetches a CSV export at path (an API path with its query), checks
// that the server sent CSV, and saves it under the server's file name, or
// fallback. It returns the name it saved under.
export async function saveCsv(path: string, fallback: string): Promise<string> {
  const d = await api.download(path, 'text/csv');
  const type = d.blob.type.toLowerCase();
  if (type && !type.startsWith('text/csv') && !type.startsWith('application/csv')) {
    throw new Error(`the server sent ${type.split(';')[0]}, not CSV`);
  }
  const name = d.filename ?? fallback;
  saveBlob(d.blob, name);
  return name;
}
