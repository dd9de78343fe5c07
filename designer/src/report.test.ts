import { describe, expect, it } from 'vitest';
import { columns, sum, type HourlyPoint } from './report';

describe('report series', () => {
  const hourly: HourlyPoint[] = [
    { hour: '2026-01-01T10:00:00Z', counts: { entered: 3, exited: 1 } },
    { hour: '2026-01-01T13:00:00Z', counts: { entered: 2, errored: 1 } },
  ];
  it('fills quiet hours with zeros', () => {
    const [xs, entered, errored] = columns(hourly, ['entered', 'errored'], 24, 1);
    expect(xs.length).toBe(4);
    expect(xs[1] - xs[0]).toBe(3600);
    expect(entered).toEqual([3, 0, 0, 2]);
    expect(errored).toEqual([0, 0, 0, 1]);
  });
  it('keeps the newest hours when the range is too long', () => {
    const [xs] = columns(hourly, ['entered'], 2, 1);
    expect(xs).toEqual([Date.parse('2026-01-01T12:00:00Z') / 1000, Date.parse('2026-01-01T13:00:00Z') / 1000]);
  });
  it('shows at least minHours, ending at the last point', () => {
    const [xs, entered] = columns([hourly[0]], ['entered']);
    expect(xs.length).toBe(6);
    expect(entered).toEqual([0, 0, 0, 0, 0, 3]);
  });
  it('is empty without points, and sums metrics', () => {
    expect(columns([], ['entered'])).toEqual([[], []]);
    expect(sum(hourly, 'entered')).toBe(5);
  });
});
