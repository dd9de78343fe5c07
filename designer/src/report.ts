// The report page's logic: the journey report's hourly series as columns for a chart, with
// hours that saw nothing filled in as zeros so lines do not skip over quiet hours.

export interface HourlyPoint {
  hour: string;
  counts: Record<string, number>;
}

const HOUR = 3600;

/** columns returns [hours (unix seconds), one column per metric], every hour from the first
 * to the last point present (at most maxHours, the newest kept; at least minHours, so that a
 * new journey's single hour is drawn on a readable axis). */
export function columns(hourly: HourlyPoint[], metrics: string[], maxHours = 24 * 14, minHours = 6): number[][] {
  if (hourly.length === 0) return [[], ...metrics.map(() => [])];
  const byHour = new Map(hourly.map((p) => [Math.floor(Date.parse(p.hour) / 1000), p.counts]));
  const hours = [...byHour.keys()].sort((a, b) => a - b);
  const last = hours[hours.length - 1];
  const first = Math.min(Math.max(hours[0], last - (maxHours - 1) * HOUR), last - (minHours - 1) * HOUR);
  const xs: number[] = [];
  for (let t = first; t <= last; t += HOUR) xs.push(t);
  return [xs, ...metrics.map((m) => xs.map((t) => byHour.get(t)?.[m] ?? 0))];
}

/** sum adds a metric over the series. */
export function sum(hourly: HourlyPoint[], metric: string): number {
  return hourly.reduce((n, p) => n + (p.counts[metric] ?? 0), 0);
}
