/**
 * CSV import: streams the file, validates every row, upserts in batches, all in
 * ONE transaction. The first bad row aborts with `file:line:column: reason` and
 * the database is left exactly as it was. `dryRun` validates and rolls back.
 */
import { parseReviewDays, WEEKDAYS } from '../inventory/review.js';
import { existsSync } from 'node:fs';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Db } from '../db/connection.js';
import type { Database } from '../db/types.js';
import { InputError, UsageError } from '../errors.js';
import { isIsoDate } from '../dates.js';
import { readCsv } from './csv.js';
import { DEFAULT_LOCATION, ENTITIES, eventRef, type ColumnSpec, type EntitySpec } from './entities.js';
import { DEFAULTS, type Config } from '../config.js';

export interface ImportOptions {
  entity: string;
  file: string;
  /** canonical=theirs pairs, e.g. "sku=item,location=store,quantity=sales". */
  columns?: string;
  dryRun?: boolean;
  batchSize?: number;
  /** Upper bounds for quantities, costs, lead times, shelf lives and pack sizes (config `data`). */
  limits?: Config['data'];
}

export interface ImportResult {
  entity: string;
  file: string;
  rows: number;
  created: { products: number; locations: number };
  dryRun: boolean;
  seconds: number;
}

type Value = string | number | null;
type Tx = Transaction<Database> | Kysely<Database>;

class DryRunRollback extends Error {}

export function parseColumnMapping(spec: string | undefined, entity: EntitySpec): Map<string, string> {
  const map = new Map<string, string>(); // theirs -> canonical
  if (!spec) return map;
  for (const pair of spec.split(',')) {
    const [canon, theirs] = pair.split('=').map((s) => s?.trim());
    if (!canon || !theirs) throw new UsageError(`--columns: "${pair}" is not canonical=theirs (e.g. sku=item)`);
    if (!entity.columns.some((c) => c.name === canon))
      throw new UsageError(`--columns: "${canon}" is not a column of ${entity.name}; columns are ${entity.columns.map((c) => c.name).join(', ')}`);
    map.set(theirs, canon);
  }
  return map;
}

/** A plain decimal number: no hex (0x10), no Infinity, no blanks inside; surrounding blanks are allowed. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function parseValue(col: ColumnSpec, raw: string, limits: Config['data']): { value: Value } | { error: string } {
  if (raw === '') return col.required ? { error: `${col.name} is required` } : { value: null };
  // Text keeps every character; typed values may carry blanks around them.
  const t = col.kind === 'text' ? raw : raw.trim();
  if (t === '') return col.required ? { error: `${col.name} is required` } : { value: null };
  switch (col.kind) {
    case 'text':
      return { value: raw };
    case 'date':
      return isIsoDate(t) ? { value: t } : { error: `${col.name} "${raw}" is not a date (YYYY-MM-DD)` };
    case 'timestamp':
      return /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t) && isIsoDate(t.slice(0, 10))
        ? { value: t }
        : { error: `${col.name} "${raw}" is not an ISO timestamp` };
    case 'int':
    case 'num':
    case 'nonneg': {
      if (!DECIMAL.test(t)) return { error: `${col.name} "${raw}" is not a number` };
      const n = Number(t);
      if (!Number.isFinite(n)) return { error: `${col.name} "${raw}" is not a finite number` };
      if (col.kind === 'int' && !Number.isInteger(n)) return { error: `${col.name} "${raw}" is not a whole number` };
      if (col.kind === 'nonneg' && n < 0) return { error: `${col.name} ${raw} is negative` };
      if (col.min !== undefined && (col.minExclusive ? n <= col.min : n < col.min)) return { error: `${col.name} ${t} is out of range: it must be ${col.minExclusive ? 'above' : 'at least'} ${col.min}` };
      const max = typeof col.max === 'string' ? limits[col.max] : col.max;
      if (max !== undefined && n > max)
        return { error: `${col.name} ${t} is out of range: it must be at most ${max}${typeof col.max === 'string' ? ` (config data.${col.max})` : ''}` };
      return { value: n };
    }
    case 'bool': {
      const v = t.toLowerCase();
      if (['1', 'true'].includes(v)) return { value: 1 };
      if (['0', 'false'].includes(v)) return { value: 0 };
      return { error: `${col.name} "${raw}" is not a boolean: use 1 or 0 (true or false)` };
    }
    case 'enum':
      return col.values!.includes(t) ? { value: t } : { error: `${col.name} "${raw}" must be one of ${col.values!.join(', ')}` };
  }
}

interface Refs {
  products: Map<string, number>;
  locations: Map<string, number>;
  suppliers: Map<string, number>;
  created: { products: number; locations: number };
}

async function loadRefs(tx: Tx): Promise<Refs> {
  const [p, l, s] = await Promise.all([
    tx.selectFrom('products').select(['id', 'sku']).execute(),
    tx.selectFrom('locations').select(['id', 'code']).execute(),
    tx.selectFrom('suppliers').select(['id', 'code']).execute(),
  ]);
  return {
    products: new Map(p.map((r) => [r.sku, r.id])),
    locations: new Map(l.map((r) => [r.code, r.id])),
    suppliers: new Map(s.map((r) => [r.code, r.id])),
    created: { products: 0, locations: 0 },
  };
}

/** Entities whose rows may name products and locations not seen before: they are created. */
const CREATES_REFS = new Set(['sales', 'stock', 'products', 'locations']);

export async function importCsv(db: Db, opts: ImportOptions): Promise<ImportResult> {
  const t0 = performance.now();
  const entity = ENTITIES[opts.entity];
  if (!entity) throw new UsageError(`import: unknown entity "${opts.entity}"; one of ${Object.keys(ENTITIES).join(', ')}`);
  if (!existsSync(opts.file)) throw new UsageError(`import: file not found: ${opts.file}`);
  const mapping = parseColumnMapping(opts.columns, entity);
  const batchSize = opts.batchSize ?? 400;
  const limits = opts.limits ?? DEFAULTS.data;
  // A blank location is the default location: the same row as an explicit MAIN.
  const keyValue = (values: Record<string, Value>, k: string) => (k === 'location' && entity.name !== 'events' ? values[k] ?? DEFAULT_LOCATION : values[k] ?? '');
  let rows = 0;
  let created = { products: 0, locations: 0 };
  let minDate: string | null = null;
  let maxDate: string | null = null;

  const run = async (tx: Tx) => {
    const refs = await loadRefs(tx);
    await sql`create temp table if not exists import_keys (k text primary key)`.execute(tx);
    await sql`delete from import_keys`.execute(tx);
    const it = readCsv(opts.file);
    let colIndex: (ColumnSpec | null)[] = [];
    let headerLen = 0;
    let batch: { line: number; values: Record<string, Value> }[] = [];
    const colPos = new Map<string, number>();

    const flush = async () => {
      if (!batch.length) return;
      const keys = batch.map((b) => entity.key.map((k) => keyValue(b.values, k)).join('\u0001'));
      const seen = new Map<string, number>();
      keys.forEach((k, i) => {
        if (seen.has(k)) throw new InputError(opts.file, batch[i].line, 1, `duplicate key (${entity.key.join(', ')}) = (${k.split('\u0001').join(', ')}), first seen at line ${batch[seen.get(k)!].line}`);
        seen.set(k, i);
      });
      for (let i = 0; i < keys.length; i += 500) {
        const chunk = keys.slice(i, i + 500);
        const dup = await sql<{ k: string }>`select k from import_keys where k in (${sql.join(chunk)})`.execute(tx);
        if (dup.rows.length) {
          const idx = keys.indexOf(dup.rows[0].k);
          throw new InputError(opts.file, batch[idx].line, 1, `duplicate key (${entity.key.join(', ')}) = (${dup.rows[0].k.split('\u0001').join(', ')}) appears earlier in the file`);
        }
        await sql`insert into import_keys (k) values ${sql.join(chunk.map((k) => sql`(${k})`))}`.execute(tx);
      }
      const dbRows = [];
      for (const b of batch) dbRows.push(await toDbRow(tx, entity, b.values, refs, opts.file, b.line, colPos));
      await upsert(tx, entity, dbRows);
      rows += batch.length;
      batch = [];
    };

    for await (const rec of it) {
      if ('error' in rec) throw new InputError(opts.file, rec.line, rec.column, rec.error);
      if (rec.line === 1 || colIndex.length === 0) {
        headerLen = rec.fields.length;
        colIndex = rec.fields.map((h, i) => {
          const canon = mapping.get(h) ?? h;
          const spec = entity.columns.find((c) => c.name === canon);
          if (!spec) {
            throw new InputError(opts.file, rec.line, i + 1, `unknown column "${h}" for ${entity.name}; expected ${entity.columns.map((c) => c.name).join(',')} (map other names with --columns canonical=theirs)`);
          }
          if (colPos.has(canon)) throw new InputError(opts.file, rec.line, i + 1, `column "${canon}" appears twice`);
          colPos.set(canon, i + 1);
          return spec;
        });
        for (const col of entity.columns)
          if (col.required && !colPos.has(col.name)) throw new InputError(opts.file, rec.line, 1, `missing required column "${col.name}" (map it with --columns ${col.name}=theirs)`);
        continue;
      }
      if (rec.fields.length !== headerLen)
        throw new InputError(opts.file, rec.line, Math.min(rec.fields.length, headerLen) + 1, `expected ${headerLen} columns, found ${rec.fields.length}`);
      const values: Record<string, Value> = {};
      for (let i = 0; i < headerLen; i++) {
        const spec = colIndex[i]!;
        const r = parseValue(spec, rec.fields[i], limits);
        if ('error' in r) throw new InputError(opts.file, rec.line, i + 1, r.error);
        values[spec.name] = r.value;
      }
      batch.push({ line: rec.line, values });
      const d = values.date as string | null | undefined;
      if (d) {
        if (minDate === null || d < minDate) minDate = d;
        if (maxDate === null || d > maxDate) maxDate = d;
      }
      if (batch.length >= batchSize) await flush();
    }
    if (colIndex.length === 0) throw new InputError(opts.file, 1, 1, 'empty file: a header line is required');
    await flush();
    await sql`delete from import_keys`.execute(tx);
    // Sales and stock imports record the dates they touched (the demand-history cache reloads them).
    if ((entity.name === 'sales' || entity.name === 'stock') && rows > 0)
      await sql`insert into data_changes (entity, min_date, max_date, rows, changed_at) values (${entity.name}, ${minDate}, ${maxDate}, ${rows}, ${new Date().toISOString()})`.execute(tx);
    created = refs.created;
    if (opts.dryRun) throw new DryRunRollback();
  };

  try {
    await db.kysely.transaction().execute(run);
  } catch (e) {
    if (!(e instanceof DryRunRollback)) throw e;
  }
  return { entity: entity.name, file: opts.file, rows, created, dryRun: !!opts.dryRun, seconds: (performance.now() - t0) / 1000 };
}

async function productId(tx: Tx, refs: Refs, sku: string, create: boolean, file: string, line: number, col: number): Promise<number> {
  const id = refs.products.get(sku);
  if (id !== undefined) return id;
  if (!create) throw new InputError(file, line, col, `unknown sku "${sku}"; import products first`);
  const r = await tx.insertInto('products').values({ sku, name: sku, category: null, unit_cost: 0, unit_price: 0, shelf_life_days: null, storage: null, active: 1 }).returning('id').executeTakeFirstOrThrow();
  refs.products.set(sku, r.id);
  refs.created.products++;
  return r.id;
}

async function locationId(tx: Tx, refs: Refs, code: Value, create: boolean, file: string, line: number, col: number): Promise<number> {
  const c = code === null ? 'MAIN' : String(code);
  const id = refs.locations.get(c);
  if (id !== undefined) return id;
  if (!create) throw new InputError(file, line, col, `unknown location "${c}"; import locations first`);
  const r = await tx.insertInto('locations').values({ code: c, name: c }).returning('id').executeTakeFirstOrThrow();
  refs.locations.set(c, r.id);
  refs.created.locations++;
  return r.id;
}

function supplierId(refs: Refs, code: string, file: string, line: number, col: number): number {
  const id = refs.suppliers.get(code);
  if (id === undefined) throw new InputError(file, line, col, `unknown supplier "${code}"; import suppliers first`);
  return id;
}

async function toDbRow(tx: Tx, e: EntitySpec, v: Record<string, Value>, refs: Refs, file: string, line: number, pos: Map<string, number>): Promise<Record<string, Value>> {
  const create = CREATES_REFS.has(e.name);
  const at = (c: string) => pos.get(c) ?? 1;
  const row: Record<string, Value> = {};
  if (e.name === 'products') {
    if (v.like_sku !== undefined && v.like_sku !== null && v.like_sku === v.sku) throw new InputError(file, line, at('like_sku'), `like_sku "${v.like_sku}" names the product itself; name an existing product with a sales history`);
    return { ...v };
  }
  if (e.name === 'suppliers' && v.review_days !== undefined && v.review_days !== null) {
    // Normalised to "mon,thu"; a bad weekday names itself.
    try {
      v = { ...v, review_days: (parseReviewDays(String(v.review_days)) ?? []).map((d) => WEEKDAYS[d]).join(',') || null };
    } catch (err) {
      throw new InputError(file, line, at('review_days'), (err as Error).message);
    }
  }
  for (const [k, val] of Object.entries(v)) if (!['sku', 'location', 'supplier'].includes(k)) row[k] = val;
  if ('sku' in v && v.sku !== null) row.product_id = await productId(tx, refs, String(v.sku), create, file, line, at('sku'));
  if (e.name !== 'products' && e.name !== 'locations' && e.name !== 'suppliers' && e.name !== 'supplier-products' && e.name !== 'price-breaks' && e.name !== 'events')
    row.location_id = await locationId(tx, refs, v.location ?? null, create, file, line, at('location'));
  if (e.name === 'events' && v.location !== null && v.location !== undefined) row.location_id = await locationId(tx, refs, v.location, false, file, line, at('location'));
  if ('supplier' in v) row.supplier_id = supplierId(refs, String(v.supplier), file, line, at('supplier'));
  if (e.name === 'events') {
    row.kind = v.kind ?? 'other';
    row.end_date = v.end_date ?? v.start_date;
    if (String(row.end_date) < String(v.start_date)) throw new InputError(file, line, at('end_date'), `end_date ${row.end_date} is before start_date ${v.start_date}`);
    row.ref = eventRef(String(row.kind), String(v.name), String(v.start_date), String(v.sku ?? v.category ?? ''), String(v.location ?? ''));
  }
  if (e.name === 'sales') {
    row.on_promo = v.on_promo ?? 0;
  }
  if (e.name === 'purchase-orders') {
    row.status = v.status ?? (v.received_on ? 'received' : 'open');
    if (String(v.expected_on) < String(v.ordered_on)) throw new InputError(file, line, at('expected_on'), `expected_on ${v.expected_on} is before ordered_on ${v.ordered_on}`);
    if (v.received_on !== null && v.received_on !== undefined) {
      if (String(v.received_on) < String(v.ordered_on)) throw new InputError(file, line, at('received_on'), `received_on ${v.received_on} is before ordered_on ${v.ordered_on}`);
      if (row.status !== 'received') throw new InputError(file, line, at('status'), `status ${row.status} with a received_on date (${v.received_on}); a received order has status received`);
    } else if (row.status === 'received') throw new InputError(file, line, at('received_on'), 'status received without a received_on date');
  }
  return row;
}

const CONFLICT: Record<string, string[]> = {
  locations: ['code'],
  products: ['sku'],
  suppliers: ['code'],
  supplier_products: ['supplier_id', 'product_id'],
  price_breaks: ['supplier_id', 'product_id', 'min_qty'],
  sales: ['product_id', 'location_id', 'date'],
  stock_levels: ['product_id', 'location_id', 'date'],
  purchase_orders: ['ref'],
  events: ['ref'],
  weather: ['location_id', 'date'],
  sensor_readings: ['location_id', 'zone', 'ts'],
  quality_incidents: ['product_id', 'location_id', 'date'],
};

async function upsert(tx: Tx, e: EntitySpec, rows: Record<string, Value>[]): Promise<void> {
  if (!rows.length) return;
  const conflict = CONFLICT[e.table];
  // Rows of one file share their column set; columns absent from the file keep their current value.
  const cols = Object.keys(rows[0]);
  const updates = cols.filter((c) => !conflict.includes(c));
  const q = (tx as Kysely<any>).insertInto(e.table).values(rows);
  await (updates.length
    ? q.onConflict((oc) => oc.columns(conflict as any).doUpdateSet(Object.fromEntries(updates.map((c) => [c, sql.ref(`excluded.${c}`)]))))
    : q.onConflict((oc) => oc.columns(conflict as any).doNothing())
  ).execute();
}
