import { describe, expect, it } from 'vitest';
import { barPercents, floodRating, formatPercent, formatRate, kpiQuery, parseKpi, peakRating, rateRating, shareText, standingRating } from './kpi';

describe('alarm KPIs', () => {
  it('asks for the period up to now', () => {
    const q = new URLSearchParams(kpiQuery('7d', 1_000_000_000_000));
    expect(q.get('from')).toBe(String(1_000_000_000_000 - 7 * 24 * 3600_000));
    expect(q.get('to')).toBe('1000000000000');
    expect(new URLSearchParams(kpiQuery('24h', 86_400_000)).get('from')).toBe('0');
  });

  it('parses the answer, sorting lists by count and keeping ten', () => {
    const top = Array.from({ length: 12 }, (_, i) => ({ name: `a${i}`, priority: i % 2 ? 'high' : 'bogus', area: 'T101', count: i }));
    const k = parseKpi({
      from: 1,
      to: 2,
      activations: 120,
      per_10min_avg: 0.83,
      per_10min_peak: 14,
      flood_periods: [{ from: 10, to: 20, count: 14 }],
      flood_percent: 0.7,
      standing: [{ name: 'T101.LevelLo', priority: 'medium', area: 'T101', since: 5 }, { nope: 1 }],
      chattering: [{ name: 'x', count: 3 }, { name: 'y', count: 9 }],
      top10: top,
    });
    expect(k).not.toBeNull();
    expect(k!.top10).toHaveLength(10);
    expect(k!.top10[0]).toEqual({ name: 'a11', count: 11, priority: 'high', area: 'T101' });
    expect(k!.top10[1].priority).toBe('');
    expect(k!.chattering.map((c) => c.name)).toEqual(['y', 'x']);
    expect(k!.standing).toHaveLength(1);
    expect(k!.floodPeriods).toEqual([{ from: 10, to: 20, count: 14 }]);
    expect(parseKpi(null)).toBeNull();
    expect(parseKpi([])).toBeNull();
    expect(parseKpi({})).toMatchObject({ activations: 0, per10minAvg: 0, top10: [], standing: [] });
  });

  it('judges the figures against ISA-18.2', () => {
    expect(rateRating(0.5)).toBe('ok');
    expect(rateRating(1)).toBe('ok');
    expect(rateRating(1.8)).toBe('manageable');
    expect(rateRating(5)).toBe('over');
    expect(rateRating(10.5)).toBe('flood');
    expect(peakRating(10)).toBe('over');
    expect(peakRating(11)).toBe('flood');
    expect(peakRating(2)).toBe('ok');
    expect(floodRating(0)).toBe('ok');
    expect(floodRating(0.5)).toBe('manageable');
    expect(floodRating(3)).toBe('over');
    expect(standingRating(4)).toBe('ok');
    expect(standingRating(5)).toBe('over');
  });

  it('formats rates, percentages and bars', () => {
    expect(formatRate(0)).toBe('0');
    expect(formatRate(0.042)).toBe('0.04');
    expect(formatRate(1.25)).toBe('1.3');
    expect(formatRate(12.4)).toBe('12');
    expect(formatPercent(0)).toBe('0 %');
    expect(formatPercent(0.44)).toBe('0.4 %');
    expect(formatPercent(12.6)).toBe('13 %');
    expect(barPercents([10, 5, 0, 0.01])).toEqual([100, 50, 0, 1]);
    expect(barPercents([])).toEqual([]);
    expect(barPercents([0, 0])).toEqual([0, 0]);
    expect(shareText(30, 120)).toBe('25 %');
    expect(shareText(1, 0)).toBe('');
  });
});
