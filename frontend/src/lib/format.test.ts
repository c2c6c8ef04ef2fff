import { describe, expect, it } from 'vitest';
import { boolLabels, defaultDecimals, formatDuration, formatNumber, formatTime, formatValue, formatWithUnit } from './format';

describe('formatValue', () => {
  it('shows measurements with one decimal and the unit', () => {
    expect(formatValue({ name: 'TIC101.SP', value: 60, quality: 'good', unit: '°C' })).toEqual({
      text: '60.0',
      unit: '°C',
      state: 'good',
    });
    expect(formatWithUnit({ name: 'T101.Level', value: 54.349, quality: 'good', unit: '%' })).toBe('54.3 %');
    expect(formatWithUnit({ name: 'x', value: 54.35, quality: 'good', unit: '%' }, { decimals: 0 })).toBe('54 %');
  });

  it('shows counts without decimals', () => {
    expect(formatWithUnit({ name: 'CV201.Count', value: 1234, quality: 'good', unit: 'parts' })).toBe('1234 parts');
    expect(formatWithUnit({ name: 'x', value: 7, quality: 'good' })).toBe('7');
    expect(formatWithUnit({ name: 'x', value: 7.25, quality: 'good' })).toBe('7.3');
  });

  it('names boolean states after the tag, without a unit', () => {
    expect(formatWithUnit({ name: 'XV101.Open', value: true, quality: 'good', unit: 'x' })).toBe('Open');
    expect(formatWithUnit({ name: 'XV101.Open', value: false, quality: 'good' })).toBe('Closed');
    expect(formatWithUnit({ name: 'P101.Running', value: false, quality: 'good' })).toBe('Stopped');
    expect(formatWithUnit({ name: 'P101.Fault', value: true, quality: 'good' })).toBe('Fault');
    expect(formatWithUnit({ name: 'CV201.Jam', value: true, quality: 'good' })).toBe('Jammed');
    expect(formatWithUnit({ name: 'Lamp', value: true, quality: 'good' })).toBe('On');
    expect(boolLabels('X.Auto')).toEqual(['Auto', 'Manual']);
  });

  it('replaces a bad value by BAD and gives the reason', () => {
    expect(formatValue({ name: 'x', value: 12, quality: 'bad', reason: 'device offline', unit: '%' })).toEqual({
      text: 'BAD',
      unit: '',
      state: 'bad',
      title: 'Bad quality: device offline',
    });
    expect(formatValue({ name: 'x', value: null, quality: 'bad' }).title).toBe('Bad quality: no reason given');
  });

  it('marks uncertain values and keeps the value', () => {
    expect(formatValue({ name: 'x', value: 3.21, quality: 'uncertain', reason: 'last known value', unit: 'bar' })).toEqual({
      text: '3.2',
      unit: 'bar',
      state: 'uncertain',
      title: 'Uncertain quality: last known value',
    });
  });

  it('shows a dash for no value and strings as they are', () => {
    expect(formatValue({ name: 'x', value: null, quality: 'good', unit: '%' })).toMatchObject({ text: '—', state: 'empty' });
    expect(formatWithUnit({ name: 'Recipe', value: 'B-12', quality: 'good' })).toBe('B-12');
  });
});

describe('formatNumber', () => {
  it('rounds and avoids negative zero', () => {
    expect(formatNumber(1.25, 1)).toBe('1.3');
    expect(formatNumber(-0.04, 1)).toBe('0.0');
    expect(formatNumber(-1.04, 1)).toBe('-1.0');
    expect(formatNumber(2e15, 1)).toBe('2.000e+15');
    expect(defaultDecimals('°C', 60)).toBe(1);
    expect(defaultDecimals('PARTS', 3)).toBe(0);
  });
});

describe('formatTime', () => {
  it('shows the time of day for today and the date otherwise', () => {
    const now = new Date(2025, 10, 25, 15, 0, 0).getTime();
    expect(formatTime(new Date(2025, 10, 25, 9, 5, 7).getTime(), now)).toBe('09:05:07');
    expect(formatTime(new Date(2025, 10, 24, 23, 59, 59).getTime(), now)).toBe('2025-11-24 23:59:59');
    expect(formatTime(0, now)).toBe('—');
  });
});

describe('formatDuration', () => {
  it('says seconds, minutes or hours', () => {
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(300)).toBe('5 min');
    expect(formatDuration(5400)).toBe('1 h 30 min');
    expect(formatDuration(7200)).toBe('2 h');
  });
});
