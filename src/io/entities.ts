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
}

export interface EntitySpec {
  name: string;
  table: string;
  columns: ColumnSpec[];
  /** Canonical columns that identify a row within a file and in the table. */
  key: string[];
}

const c = (name: string, kind: ColumnKind, required = false, values?: readonly string[]): ColumnSpec => ({ name, kind, required, values });

export const ENTITIES: Record<string, EntitySpec> = {
  locations: { name: 'locations', table: 'locations', key: ['code'], columns: [c('code', 'text', true), c('name', 'text')] },
  products: {
    name: 'products',
    table: 'products',
    key: ['sku'],
    columns: [
      c('sku', 'text', true), c('name', 'text'), c('category', 'text'), c('unit_cost', 'nonneg'), c('unit_price', 'nonneg'),
      c('shelf_life_days', 'int'), c('storage', 'enum', false, ['ambient', 'chilled', 'frozen']), c('active', 'bool'), c('like_sku', 'text'), c('like_factor', 'nonneg'),
    ],
  },
  suppliers: {
    name: 'suppliers',
    table: 'suppliers',
    key: ['code'],
    columns: [c('code', 'text', true), c('name', 'text'), c('lead_time_days', 'int'), c('lead_time_sd_days', 'nonneg'), c('order_cost', 'nonneg'), c('review_days', 'text'), c('min_order_value', 'nonneg')],
  },
  'supplier-products': {
    name: 'supplier-products',
    table: 'supplier_products',
    key: ['supplier', 'sku'],
    columns: [c('supplier', 'text', true), c('sku', 'text', true), c('pack_size', 'nonneg'), c('min_order_qty', 'nonneg'), c('unit_cost', 'nonneg'), c('is_primary', 'bool')],
  },
  'price-breaks': {
    name: 'price-breaks',
    table: 'price_breaks',
    key: ['supplier', 'sku', 'min_qty'],
    columns: [c('supplier', 'text', true), c('sku', 'text', true), c('min_qty', 'nonneg', true), c('unit_cost', 'nonneg', true)],
  },
  sales: {
    name: 'sales',
    table: 'sales',
    key: ['sku', 'location', 'date'],
    columns: [c('date', 'date', true), c('sku', 'text', true), c('location', 'text'), c('quantity', 'nonneg', true), c('revenue', 'num'), c('unit_price', 'nonneg'), c('on_promo', 'bool')],
  },
  stock: {
    name: 'stock',
    table: 'stock_levels',
    key: ['sku', 'location', 'date'],
    columns: [c('date', 'date', true), c('sku', 'text', true), c('location', 'text'), c('on_hand', 'nonneg', true)],
  },
  'purchase-orders': {
    name: 'purchase-orders',
    table: 'purchase_orders',
    key: ['ref'],
    columns: [
      c('ref', 'text', true), c('supplier', 'text', true), c('sku', 'text', true), c('location', 'text'), c('quantity', 'nonneg', true),
      c('unit_cost', 'nonneg'), c('ordered_on', 'date', true), c('expected_on', 'date', true), c('received_on', 'date'),
      c('status', 'enum', false, ['open', 'received', 'cancelled']),
    ],
  },
  events: {
    name: 'events',
    table: 'events',
    key: ['kind', 'name', 'start_date', 'sku', 'category', 'location'],
    columns: [
      c('name', 'text', true), c('kind', 'enum', false, ['holiday', 'promotion', 'other']), c('start_date', 'date', true), c('end_date', 'date'),
      c('sku', 'text'), c('category', 'text'), c('location', 'text'), c('planned_uplift', 'num'),
    ],
  },
  weather: {
    name: 'weather',
    table: 'weather',
    key: ['location', 'date'],
    columns: [c('date', 'date', true), c('location', 'text'), c('temp_max_c', 'num'), c('precipitation_mm', 'nonneg')],
  },
  sensors: {
    name: 'sensors',
    table: 'sensor_readings',
    key: ['location', 'zone', 'ts'],
    columns: [c('ts', 'timestamp', true), c('location', 'text'), c('zone', 'text', true), c('temperature_c', 'num'), c('humidity_pct', 'nonneg')],
  },
  incidents: {
    name: 'incidents',
    table: 'quality_incidents',
    key: ['sku', 'location', 'date'],
    columns: [c('date', 'date', true), c('sku', 'text', true), c('location', 'text'), c('quantity_lost', 'nonneg', true), c('cause', 'text')],
  },
};

/** The unique reference of an event: kind, name, start and scope. */
export function eventRef(kind: string, name: string, start: string, scopeProductOrCategory: string, location: string): string {
  return [kind, name, start, scopeProductOrCategory, location].join('|');
}
