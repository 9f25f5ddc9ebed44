/**
 * Refreshes tools/cost/prices.json from the AWS Price List bulk offer files:
 *
 *   npm run cost:refresh -- [--offers <url or directory>] [--write]
 *
 * For every price entry that names its `offer` and `usagetype`, it reads
 * `<offers>/<offer>/current/<region>/index.json` (default https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws),
 * picks the product with that usagetype (and productFamily / cacheEngine where the entry names them), and takes its
 * on-demand price (the first tier). Entries it cannot match keep their figure and are listed. Without --write it only
 * prints what would change.
 */
import * as fs from "fs";
import * as path from "path";
import { PRICE_TABLE_FILE, PriceEntry, PriceTable, readPriceTable } from "./pricing";

export const PRICE_LIST_BASE = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws";

/** The parts of an offer file this script reads (the bulk file format, formatVersion v1.0). */
export interface OfferFile {
    formatVersion: string;
    offerCode: string;
    publicationDate: string;
    products: Record<string, { sku: string; productFamily?: string; attributes: Record<string, string> }>;
    terms: {
        OnDemand?: Record<string, Record<string, { priceDimensions: Record<string, { unit: string; beginRange?: string; pricePerUnit: { USD?: string } }> }>>;
    };
}

export type OfferReader = (offer: string, region: string) => Promise<OfferFile | undefined>;

/** Reads offer files from a directory laid out like the Price List (`<offer>/current/<region>/index.json`) or a URL. */
export function offerReader(base: string = PRICE_LIST_BASE): OfferReader {
    const cache = new Map<string, Promise<OfferFile | undefined>>();
    return (offer, region) => {
        const key = `${offer}/${region}`;
        if (!cache.has(key)) {
            const location = `${base}/${offer}/current/${region}/index.json`;
            cache.set(
                key,
                /^https?:\/\//.test(base)
                    ? fetch(location).then((r) => (r.ok ? (r.json() as Promise<OfferFile>) : undefined))
                    : Promise.resolve(fs.existsSync(location) ? (JSON.parse(fs.readFileSync(location, "utf8")) as OfferFile) : undefined),
            );
        }
        return cache.get(key)!;
    };
}

/** The on-demand price of an entry in an offer file, or why there is none. */
export function findPrice(file: OfferFile, entry: PriceEntry): { usd: number } | { missing: string } {
    const products = Object.values(file.products).filter(
        (p) =>
            p.attributes.usagetype === entry.usagetype &&
            (entry.productFamily === undefined || p.productFamily === entry.productFamily) &&
            (entry.cacheEngine === undefined || p.attributes.cacheEngine === entry.cacheEngine),
    );
    if (products.length === 0) {
        return { missing: `no product with usagetype ${entry.usagetype}${entry.productFamily ? ` in ${entry.productFamily}` : ""}${entry.cacheEngine ? ` for ${entry.cacheEngine}` : ""}` };
    }
    const prices = new Set<number>();
    for (const p of products) {
        for (const term of Object.values(file.terms.OnDemand?.[p.sku] ?? {})) {
            // Tiered prices list every tier; the first (beginRange 0) is what a small stack pays.
            const dims = Object.values(term.priceDimensions).sort((a, b) => Number(a.beginRange ?? 0) - Number(b.beginRange ?? 0));
            const usd = dims[0]?.pricePerUnit.USD;
            if (usd !== undefined) {
                prices.add(Number(usd));
            }
        }
    }
    if (prices.size !== 1) {
        return { missing: prices.size === 0 ? `no on-demand price for ${entry.usagetype}` : `${prices.size} different on-demand prices for ${entry.usagetype}` };
    }
    return { usd: [...prices][0] };
}

export interface RefreshReport {
    table: PriceTable;
    changed: { region: string; key: string; from: number; to: number }[];
    unmatched: { region: string; key: string; why: string }[];
}

export async function refresh(table: PriceTable, read: OfferReader, today: string = new Date().toISOString().slice(0, 7)): Promise<RefreshReport> {
    const next: PriceTable = JSON.parse(JSON.stringify(table));
    const report: RefreshReport = { table: next, changed: [], unmatched: [] };
    for (const [region, entries] of Object.entries(next.regions)) {
        for (const [key, entry] of Object.entries(entries)) {
            if (!entry.offer || !entry.usagetype || entry.derived) {
                report.unmatched.push({ region, key, why: entry.derived ? "derived from other figures" : "names no offer and usagetype" });
                continue;
            }
            const file = await read(entry.offer, region);
            if (!file) {
                report.unmatched.push({ region, key, why: `no offer file ${entry.offer} for ${region}` });
                continue;
            }
            const found = findPrice(file, entry);
            if ("missing" in found) {
                report.unmatched.push({ region, key, why: found.missing });
                continue;
            }
            if (found.usd !== entry.usd) {
                report.changed.push({ region, key, from: entry.usd, to: found.usd });
            }
            entry.usd = found.usd;
            entry.source = `AWS Price List ${file.offerCode} ${region}, published ${file.publicationDate}`;
        }
    }
    if (report.changed.length > 0) {
        next.date = today;
    }
    return report;
}

async function main(argv: string[]): Promise<void> {
    const base = argv.includes("--offers") ? argv[argv.indexOf("--offers") + 1] : PRICE_LIST_BASE;
    const report = await refresh(readPriceTable(), offerReader(base.replace(/\/$/, "")));
    for (const c of report.changed) {
        console.log(`${c.region} ${c.key}: ${c.from} -> ${c.to}`);
    }
    for (const u of report.unmatched) {
        console.log(`${u.region} ${u.key}: kept (${u.why})`);
    }
    if (argv.includes("--write")) {
        fs.writeFileSync(PRICE_TABLE_FILE, `${JSON.stringify(report.table, null, 2)}\n`);
        console.log(`wrote ${path.relative(process.cwd(), PRICE_TABLE_FILE)}`);
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).catch((e: Error) => {
        console.error(`cost:refresh: ${e.message}`);
        process.exit(2);
    });
}
