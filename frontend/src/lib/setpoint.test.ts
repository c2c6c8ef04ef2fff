import { describe, expect, it } from 'vitest';
import { keypad, typedDecimals, validateSetpoint } from './setpoint';

const SP = { low: 20, high: 110 };

describe('validateSetpoint', () => {
  it('accepts numbers within the limits, inclusive', () => {
    expect(validateSetpoint('75', SP)).toEqual({ ok: true, value: 75 });
    expect(validateSetpoint(' 75.5 ', SP)).toEqual({ ok: true, value: 75.5 });
    expect(validateSetpoint('20', SP)).toEqual({ ok: true, value: 20 });
    expect(validateSetpoint('110', SP)).toEqual({ ok: true, value: 110 });
    expect(validateSetpoint('+1e2', SP)).toEqual({ ok: true, value: 100 });
    expect(validateSetpoint('.5', {})).toEqual({ ok: true, value: 0.5 });
    expect(validateSetpoint('-3', {})).toEqual({ ok: true, value: -3 });
  });

  it('accepts a decimal comma', () => {
    expect(validateSetpoint('75,5', SP)).toEqual({ ok: true, value: 75.5 });
  });

  it('refuses values out of the limits with a sentence naming them', () => {
    expect(validateSetpoint('500', SP, '°C')).toEqual({ ok: false, error: 'Out of limits: enter a value from 20 to 110 °C.' });
    expect(validateSetpoint('19.99', SP)).toMatchObject({ ok: false });
    expect(validateSetpoint('-5', { low: 0 })).toEqual({ ok: false, error: 'Too low: the minimum is 0.' });
    expect(validateSetpoint('61', { high: 60 }, 'm/min')).toEqual({ ok: false, error: 'Too high: the maximum is 60 m/min.' });
  });

  it('refuses what is not a number', () => {
    for (const s of ['abc', '7 5', '75°C', '1,000.5', '1.2.3', '0x10', 'Infinity', 'NaN', '--1', '1e999']) {
      const r = validateSetpoint(s, SP);
      expect(r.ok, s).toBe(false);
      if (!r.ok) expect(r.error, s).toMatch(/not a number/);
    }
    expect(validateSetpoint('', SP)).toEqual({ ok: false, error: 'Enter a value.' });
    expect(validateSetpoint('   ', SP)).toEqual({ ok: false, error: 'Enter a value.' });
  });
});

describe('typedDecimals', () => {
  it('counts the decimals typed', () => {
    expect(typedDecimals('75')).toBe(0);
    expect(typedDecimals('75.25')).toBe(2);
    expect(typedDecimals('75,5')).toBe(1);
  });
});

describe('keypad', () => {
  it('builds a number key by key', () => {
    let s = '';
    for (const k of ['7', '5', '.', '5', '.', 'sign']) s = keypad(s, k);
    expect(s).toBe('-75.5');
    expect(keypad('-75.5', 'sign')).toBe('75.5');
    expect(keypad('75', 'back')).toBe('7');
    expect(keypad('75', 'clear')).toBe('');
    expect(keypad('', '.')).toBe('0.');
    expect(keypad('1', 'x')).toBe('1');
  });
});
