/**
 * Parsing of AWS maintenance and backup windows (UTC), for config validation (no resources, no Pulumi).
 * Daily windows are `hh24:mi-hh24:mi` (RDS PreferredBackupWindow, ElastiCache SnapshotWindow); weekly windows are
 * `ddd:hh24:mi-ddd:hh24:mi` (RDS PreferredMaintenanceWindow, ElastiCache PreferredMaintenanceWindow).
 */

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
const MINUTES_PER_DAY = 24 * 60;
const MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY;

/** A window as [start, end) intervals in minutes of the week (a window wrapping past Saturday is split in two). */
export interface TimeWindow {
    text: string;
    /** Length in minutes. */
    minutes: number;
    intervals: [number, number][];
}

function clock(h: string, m: string): number | undefined {
    const hours = Number(h);
    const minutes = Number(m);
    return hours <= 23 && minutes <= 59 ? hours * 60 + minutes : undefined;
}

function weekIntervals(start: number, length: number, period: number, repeat: number): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < repeat; i++) {
        const s = (start + i * period) % MINUTES_PER_WEEK;
        const e = s + length;
        if (e <= MINUTES_PER_WEEK) {
            out.push([s, e]);
        } else {
            out.push([s, MINUTES_PER_WEEK], [0, e - MINUTES_PER_WEEK]);
        }
    }
    return out;
}

/** Parses `hh24:mi-hh24:mi` (a window that runs past midnight is allowed); undefined when malformed. */
export function parseDailyWindow(text: string): TimeWindow | undefined {
    const m = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(text);
    if (!m) {
        return undefined;
    }
    const start = clock(m[1], m[2]);
    const end = clock(m[3], m[4]);
    if (start === undefined || end === undefined || start === end) {
        return undefined;
    }
    const minutes = (end - start + MINUTES_PER_DAY) % MINUTES_PER_DAY;
    return { text, minutes, intervals: weekIntervals(start, minutes, MINUTES_PER_DAY, 7) };
}

/** Parses `ddd:hh24:mi-ddd:hh24:mi` (days sun..sat, lower case as AWS returns them); undefined when malformed. */
export function parseWeeklyWindow(text: string): TimeWindow | undefined {
    const m = /^([a-z]{3}):(\d{2}):(\d{2})-([a-z]{3}):(\d{2}):(\d{2})$/.exec(text);
    if (!m) {
        return undefined;
    }
    const startDay = DAYS.indexOf(m[1] as (typeof DAYS)[number]);
    const endDay = DAYS.indexOf(m[4] as (typeof DAYS)[number]);
    const startClock = clock(m[2], m[3]);
    const endClock = clock(m[5], m[6]);
    if (startDay < 0 || endDay < 0 || startClock === undefined || endClock === undefined) {
        return undefined;
    }
    const start = startDay * MINUTES_PER_DAY + startClock;
    const end = endDay * MINUTES_PER_DAY + endClock;
    if (start === end) {
        return undefined;
    }
    const minutes = (end - start + MINUTES_PER_WEEK) % MINUTES_PER_WEEK;
    return { text, minutes, intervals: weekIntervals(start, minutes, MINUTES_PER_WEEK, 1) };
}

/** Whether two windows share any minute of the week. */
export function windowsOverlap(a: TimeWindow, b: TimeWindow): boolean {
    return a.intervals.some(([as, ae]) => b.intervals.some(([bs, be]) => as < be && bs < ae));
}
