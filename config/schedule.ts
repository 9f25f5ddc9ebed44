/**
 * Active hours: when a stack runs. Outside them every service is scaled to zero tasks and Aurora may pause. Parsed
 * and validated here (no resources, no Pulumi); the schedule expressions are Application Auto Scaling's cron format.
 */
import { ConfigReader } from "./reader";

export interface ClockTime {
    hour: number;
    minute: number;
}

export interface ActiveHours {
    /** IANA time zone name (Application Auto Scaling's Timezone), e.g. Asia/Tokyo. */
    timezone: string;
    /** Application Auto Scaling's day-of-week field: names and ranges, e.g. MON-FRI or MON,WED,FRI. */
    weekdays: string;
    start: ClockTime;
    stop: ClockTime;
}

const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const WEEKDAYS = /^(SUN|MON|TUE|WED|THU|FRI|SAT)(-(SUN|MON|TUE|WED|THU|FRI|SAT))?(,(SUN|MON|TUE|WED|THU|FRI|SAT)(-(SUN|MON|TUE|WED|THU|FRI|SAT))?)*$/;
const CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** The days a weekday expression names (Sunday first), for validation and for the cost estimator. */
export function activeDays(weekdays: string): string[] {
    const days = new Set<string>();
    for (const part of weekdays.split(",")) {
        const [from, to] = part.split("-");
        const a = DAY_NAMES.indexOf(from);
        const b = DAY_NAMES.indexOf(to ?? from);
        for (let i = a; ; i = (i + 1) % 7) {
            days.add(DAY_NAMES[i]);
            if (i === b) {
                break;
            }
        }
    }
    return DAY_NAMES.filter((d) => days.has(d));
}

/** Hours the stack is active in a week. */
export function activeHoursPerWeek(a: ActiveHours): number {
    const minutes = a.stop.hour * 60 + a.stop.minute - (a.start.hour * 60 + a.start.minute);
    return (activeDays(a.weekdays).length * minutes) / 60;
}

/** The cron expression (Application Auto Scaling: minutes hours day-of-month month day-of-week year) of a daily time. */
export function cronAt(time: ClockTime, weekdays: string): string {
    return `cron(${time.minute} ${time.hour} ? * ${weekdays} *)`;
}

function timezones(): Set<string> {
    // The IANA zone names Node knows (canonical ones), plus UTC, which Application Auto Scaling also accepts.
    const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
    return new Set([...(intl.supportedValuesOf?.("timeZone") ?? []), "UTC"]);
}

const EXAMPLE = '{"timezone":"Asia/Tokyo","weekdays":"MON-FRI","start":"08:00","stop":"20:00"}';

/** Reads `activeHours`: "" means always on; else a JSON object `{timezone, weekdays, start, stop}`. */
export function loadActiveHours(r: ConfigReader): ActiveHours | undefined {
    const key = "activeHours";
    const text = r.optionalString(key);
    if (text === undefined) {
        return undefined;
    }
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        r.fail(key, text, `a JSON object such as ${EXAMPLE}, or empty for always on`);
    }
    if (!value || typeof value !== "object" || Array.isArray(value)) {
        r.fail(key, text, `a JSON object such as ${EXAMPLE}`);
    }
    const v = value as Record<string, unknown>;
    const unknown = Object.keys(v).filter((k) => !["timezone", "weekdays", "start", "stop"].includes(k));
    if (unknown.length > 0) {
        r.fail(key, text, `only the fields timezone, weekdays, start and stop (not ${unknown.join(", ")})`);
    }
    const timezone = v.timezone;
    if (typeof timezone !== "string" || !timezones().has(timezone)) {
        r.fail(`${key}.timezone`, timezone, "an IANA time zone name, e.g. Asia/Tokyo, Europe/Berlin, America/New_York or UTC");
    }
    const weekdays = typeof v.weekdays === "string" ? v.weekdays.toUpperCase() : v.weekdays;
    if (typeof weekdays !== "string" || !WEEKDAYS.test(weekdays)) {
        r.fail(`${key}.weekdays`, v.weekdays, "days as SUN, MON, TUE, WED, THU, FRI, SAT, ranges and lists of them, e.g. MON-FRI or MON,WED,FRI");
    }
    const clock = (field: "start" | "stop"): ClockTime => {
        const m = typeof v[field] === "string" ? CLOCK.exec(v[field] as string) : null;
        if (!m) {
            r.fail(`${key}.${field}`, v[field], 'a time of day "HH:MM" in 24-hour form, e.g. "08:00"');
        }
        return { hour: Number(m[1]), minute: Number(m[2]) };
    };
    const start = clock("start");
    const stop = clock("stop");
    if (start.hour * 60 + start.minute >= stop.hour * 60 + stop.minute) {
        r.failKeys(
            { [`${key}.start`]: v.start, [`${key}.stop`]: v.stop },
            "a start before the stop: the stack runs from start to stop on each listed day, within that day (a window across midnight is not supported)",
        );
    }
    return { timezone, weekdays, start, stop };
}
