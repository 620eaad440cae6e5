/**
 * The importable entities: canonical CSV columns (the table's columns with
 * `sku` naming the product, `location` the location code, `supplier` the
 * supplier code), their types, and the key that makes a row unique.
 */
export type ColumnKind = 'text' | 'date' | 'timestamp' | 'int' | 'num' | 'nonneg' | 'bool' | 'enum';

export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
  required?: boolean;
  values?: readonly string[];
  /** Smallest accepted value (inclusive unless minExclusive). */
  min?: number;
  minExclusive?: boolean;
  /** Largest accepted value: a number, or the config key of `data` that holds it. */
  max?: number | Bound;
}

/** The configurable upper bounds of config `data` (absurd values are rejected at import, line named). */
export type Bound = 'maxQuantity' | 'maxUnitCost' | 'maxLeadTimeDays' | 'maxShelfLifeDays' | 'maxPackSize';

export interface EntitySpec {
  name: string;
  table: string;
  columns: ColumnSpec[];
  /** Canonical columns that identify a row within a file and in the table. */
  key: string[];
}

const c = (name: string, kind: ColumnKind, required = false, values?: readonly string[]): ColumnSpec => ({ name, kind, required, values });
/** A number column with a range. */
const r = (name: string, kind: ColumnKind, range: Pick<ColumnSpec, 'min' | 'minExclusive' | 'max'>, required = false): ColumnSpec => ({ name, kind, required, ...range });
const qty = (name: string, required = false) => r(name, 'nonneg', { min: 0, max: 'maxQuantity' }, required);
const cost = (name: string, required = false) => r(name, 'nonneg', { min: 0, max: 'maxUnitCost' }, required);

export const ENTITIES: Record<string, EntitySpec> = {
  locations: { name: 'locations', table: 'locations', key: ['code'], columns: [c('code', 'text', true), c('name', 'text')] },
  products: {
    name: 'products',
    table: 'products',
    key: ['sku'],
    columns: [
      c('sku', 'text', true), c('name', 'text'), c('category', 'text'), cost('unit_cost'), cost('unit_price'),
      r('shelf_life_days', 'int', { min: 1, max: 'maxShelfLifeDays' }), c('storage', 'enum', false, ['ambient', 'chilled', 'frozen']), c('active', 'bool'), c('like_sku', 'text'), c('like_factor', 'nonneg'),
    ],
  },
  suppliers: {
    name: 'suppliers',
    table: 'suppliers',
    key: ['code'],
    columns: [c('code', 'text', true), c('name', 'text'), r('lead_time_days', 'int', { min: 0, max: 'maxLeadTimeDays' }), r('lead_time_sd_days', 'nonneg', { min: 0, max: 'maxLeadTimeDays' }), cost('order_cost'), c('review_days', 'text'), cost('min_order_value')],
  },
  'supplier-products': {
    name: 'supplier-products',
    table: 'supplier_products',
    key: ['supplier', 'sku'],
    columns: [c('supplier', 'text', true), c('sku', 'text', true), r('pack_size', 'nonneg', { min: 0, minExclusive: true, max: 'maxPackSize' }), qty('min_order_qty'), cost('unit_cost'), c('is_primary', 'bool')],
  },
  'price-breaks': {
    name: 'price-breaks',
    table: 'price_breaks',
    key: ['supplier', 'sku', 'min_qty'],
    columns: [c('supplier', 'text', true), c('sku', 'text', true), qty('min_qty', true), cost('unit_cost', true)],
  },
  sales: {
    name: 'sales',
    table: 'sales',
    key: ['sku', 'location', 'date'],
    columns: [c('date', 'date', true), c('sku', 'text', true), c('location', 'text'), qty('quantity', true), c('revenue', 'num'), cost('unit_price'), c('on_promo', 'bool')],
  },
  stock: {
    name: 'stock',
    table: 'stock_levels',
    key: ['sku', 'location', 'date'],
    columns: [c('date', 'date', true), c('sku', 'text', true), c('location', 'text'), qty('on_hand', true)],
  },
  'purchase-orders': {
    name: 'purchase-orders',
    table: 'purchase_orders',
    key: ['ref'],
    columns: [
      c('ref', 'text', true), c('supplier', 'text', true), c('sku', 'text', true), c('location', 'text'), qty('quantity', true),
      cost('unit_cost'), c('ordered_on', 'date', true), c('expected_on', 'date', true), c('received_on', 'date'),
      c('status', 'enum', false, ['open', 'received', 'cancelled']),
    ],
  },
  events: {
    name: 'events',
    table: 'events',
    key: ['kind', 'name', 'start_date', 'sku', 'category', 'location'],
    columns: [
      c('name', 'text', true), c('kind', 'enum', false, ['holiday', 'promotion', 'other']), c('start_date', 'date', true), c('end_date', 'date'),
      c('sku', 'text'), c('category', 'text'), c('location', 'text'),
      // An uplift of -1 means no sales at all; below that a forecast would turn negative.
      r('planned_uplift', 'num', { min: -1, max: 100 }),
    ],
  },
  weather: {
    name: 'weather',
    table: 'weather',
    key: ['location', 'date'],
    columns: [c('date', 'date', true), c('location', 'text'), r('temp_max_c', 'num', { min: -100, max: 100 }), r('precipitation_mm', 'nonneg', { min: 0, max: 5000 })],
  },
  sensors: {
    name: 'sensors',
    table: 'sensor_readings',
    key: ['location', 'zone', 'ts'],
    columns: [c('ts', 'timestamp', true), c('location', 'text'), c('zone', 'text', true), r('temperature_c', 'num', { min: -100, max: 150 }), c('humidity_pct', 'nonneg')],
  },
  incidents: {
    name: 'incidents',
    table: 'quality_incidents',
    key: ['sku', 'location', 'date'],
    columns: [c('date', 'date', true), c('sku', 'text', true), c('location', 'text'), qty('quantity_lost', true), c('cause', 'text')],
  },
};

/** Entities whose blank location means the default location MAIN (for events a blank location means every location). */
export const DEFAULT_LOCATION = 'MAIN';

/** The unique reference of an event: kind, name, start and scope. */
export function eventRef(kind: string, name: string, start: string, scopeProductOrCategory: string, location: string): string {
  return [kind, name, start, scopeProductOrCategory, location].join('|');
}
