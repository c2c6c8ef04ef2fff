// Validation of operator input for a write. Pure.

export interface Limits {
  low?: number;
  high?: number;
}

export type Validation = { ok: true; value: number } | { ok: false; error: string };

/**
 * Parses what the operator typed ("75", " 75.5 ", "75,5", "-3e1") and checks
 * it against the tag's limits (inclusive). The unit is only used in messages.
 */
export function validateSetpoint(input: string, limits: Limits = {}, unit = ''): Validation {
  let s = input.trim();
  if (s === '') return { ok: false, error: 'Enter a value.' };
  // A single decimal comma is accepted (on-screen keypads in many locales).
  if (!s.includes('.') && /^[+-]?\d+,\d+$/.test(s)) s = s.replace(',', '.');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) {
    return { ok: false, error: `"${input.trim()}" is not a number.` };
  }
  const value = Number(s);
  if (!Number.isFinite(value)) return { ok: false, error: `"${input.trim()}" is not a number.` };
  const u = unit ? ` ${unit}` : '';
  const { low, high } = limits;
  if (low !== undefined && high !== undefined && (value < low || value > high)) {
    return { ok: false, error: `Out of limits: enter a value from ${low} to ${high}${u}.` };
  }
  if (low !== undefined && value < low) return { ok: false, error: `Too low: the minimum is ${low}${u}.` };
  if (high !== undefined && value > high) return { ok: false, error: `Too high: the maximum is ${high}${u}.` };
  return { ok: true, value };
}

/** Decimals the operator typed ("75.25" → 2, "75" → 0), to echo the value back faithfully. */
export function typedDecimals(input: string): number {
  const m = /[.,](\d+)(?:e|$)/i.exec(input.trim());
  return m ? m[1].length : 0;
}

/** Applies one key of the on-screen keypad to the text typed so far. */
export function keypad(current: string, key: string): string {
  switch (key) {
    case 'back':
      return current.slice(0, -1);
    case 'clear':
      return '';
    case 'sign':
      return current.startsWith('-') ? current.slice(1) : '-' + current;
    case '.':
      return current.includes('.') || current.includes(',') ? current : (current === '' || current === '-' ? current + '0' : current) + '.';
    default:
      return /^\d$/.test(key) && current.length < 16 ? current + key : current;
  }
}
