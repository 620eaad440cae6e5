/** Row types of the tables (SPEC section 2), as kysely sees them. */
import type { Generated } from 'kysely';

export interface LocationsTable { id: Generated<number>; code: string; name: string | null }
export interface ProductsTable {
  id: Generated<number>; sku: string; name: string | null; category: string | null; unit_cost: number; unit_price: number;
  shelf_life_days: number | null; storage: string | null; active: number; like_sku: string | null; like_factor: number | null;
}
export interface SuppliersTable { id: Generated<number>; code: string; name: string | null; lead_time_days: number; lead_time_sd_days: number; order_cost: number; review_days: string | null; min_order_value: number | null }
export interface SupplierProductsTable { supplier_id: number; product_id: number; pack_size: number; min_order_qty: number; unit_cost: number | null; is_primary: number }
export interface PriceBreaksTable { supplier_id: number; product_id: number; min_qty: number; unit_cost: number }
export interface SalesTable { product_id: number; location_id: number; date: string; quantity: number; revenue: number | null; unit_price: number | null; on_promo: number }
export interface StockLevelsTable { product_id: number; location_id: number; date: string; on_hand: number }
export interface PurchaseOrdersTable {
  id: Generated<number>; supplier_id: number; product_id: number; location_id: number; quantity: number; unit_cost: number | null;
  ordered_on: string; expected_on: string; received_on: string | null; status: string; suggestion_id: number | null; ref: string | null;
}
export interface EventsTable {
  id: Generated<number>; name: string; kind: string; start_date: string; end_date: string; product_id: number | null;
  category: string | null; location_id: number | null; planned_uplift: number | null; ref: string;
}
export interface WeatherTable { location_id: number; date: string; temp_max_c: number | null; precipitation_mm: number | null }
export interface SensorReadingsTable { location_id: number; zone: string; ts: string; temperature_c: number | null; humidity_pct: number | null }
export interface QualityIncidentsTable { product_id: number; location_id: number; date: string; quantity_lost: number; cause: string | null }
export interface ModelsTable {
  id: Generated<number>; product_id: number; location_id: number; version: number; algorithm: string; params: string; trained_at: string;
  train_end: string; metrics: string; reason: string | null; status: 'candidate' | 'active' | 'rejected' | 'retired' | 'fallback';
}
export interface GlobalModelsTable {
  id: Generated<number>; trained_at: string; train_end: string; params: string; model: string; metrics: string; status: 'active' | 'retired';
}
export interface ForecastsTable {
  product_id: number; location_id: number; run_date: string; date: string; model_id: number | null; yhat: number; yhat_lo: number;
  yhat_hi: number; event_factor: number; base_yhat: number; base_lo: number; base_hi: number;
}
export interface AlertsTable {
  id: Generated<number>; product_id: number; location_id: number; created_on: string; severity: 'CRITIQUE' | 'ATTENTION' | 'INFO';
  kind: 'stockout' | 'overstock' | 'expiry' | 'quality'; stockout_date: string | null; days_of_cover: number | null;
  suggested_qty: number | null; revenue_at_risk: number | null; message: string; active: number; resolved_on: string | null;
}
export interface NotificationsTable {
  id: Generated<number>; alert_id: number | null; channel: string; payload: string; created_at: string; sent_at: string | null; error: string | null; attempts: number;
  claimed_by: string | null; claim_until: string | null; idempotency_key: string | null;
}
export interface MetaTable { key: string; value: string }
export interface ForecastMetricsTable { product_id: number; location_id: number; date: string; mape: number | null; wape: number | null; rmse: number | null; bias: number | null; n: number }
export interface RetrainFlagsTable { product_id: number; location_id: number; flagged_on: string; reason: string }
export interface MetricsHistoryTable { date: string; scope: string; payload: string }
export interface KpiCacheTable { key: string; payload: string; computed_at: string; expires_at: string }
export interface SavingsTable { date: string; avoided_stockouts: number; reduced_overstock: number; optimized_orders: number; details: string }
export interface BatchRunsTable { id: Generated<number>; run_uid: string; kind: string; run_date: string; started_at: string; finished_at: string | null; status: string; metrics: string | null }
export interface BatchStepsTable { run_id: number; step: string; status: string; attempts: number; started_at: string | null; finished_at: string | null; error: string | null; output: string | null }
export interface ShadowForecastsTable { product_id: number; location_id: number; run_date: string; date: string; role: string; setting: string; yhat: number }
export interface ModelScoresTable { product_id: number; location_id: number; date: string; role: string; setting: string; forecast: number; actual: number }
export interface ModelDriftTable { product_id: number; location_id: number; date: string; psi: number | null; error_ratio: number | null; flagged: number; reason: string | null }
export interface ModelTrialsTable {
  id: Generated<number>; kind: 'challenger' | 'canary'; product_id: number; location_id: number; setting: string; model_id: number | null;
  previous_model_id: number | null; started_on: string; decided_on: string | null; status: string; details: string | null;
}

export interface AuditLogTable {
  id: Generated<number>; os_user: string; host: string; pid: number; command: string; command_line: string; started_at: string;
  finished_at: string | null; outcome: 'ok' | 'failed' | 'refused'; exit_code: number | null; error: string | null;
}
export interface ForecastOverridesTable {
  id: Generated<number>; product_id: number; location_id: number; from_date: string; to_date: string; factor: number | null; quantity: number | null;
  reason: string; created_by: string; created_at: string; active: number;
}
export interface OverrideAuditTable { id: Generated<number>; override_id: number; action: string; os_user: string; at: string; details: string }
export interface OrderDraftsTable { id: Generated<number>; supplier_id: number; location_id: number; created_on: string; total: number; status: string; note: string | null }
export interface OrderDraftLinesTable { draft_id: number; product_id: number; quantity: number; unit_cost: number; reason: string }

export interface TrendsTable {
  date: string; scope: string; key: string; product_id: number | null; location_id: number | null; category: string | null;
  growth_28d: number | null; growth_yoy: number | null; slope: number | null; weekly_strength: number | null; yearly_strength: number | null; label: string;
}
export interface EventFactorsTable { computed_on: string; event_key: string; category: string; factor: number; sd: number | null; n: number; source: string }
export interface RevenueDailyTable { computed_on: string; date: string; predicted: number; actual: number; variance_pct: number | null }
export interface DormantStockTable {
  computed_on: string; product_id: number; location_id: number; on_hand: number; value: number; last_sale: string | null; days_since_sale: number | null;
}
export interface InventoryPoliciesTable {
  product_id: number; location_id: number; computed_on: string; abc: string; xyz: string; service_level: number; safety_stock: number;
  reorder_point: number; order_up_to: number;
}
export interface QualityRiskTable { product_id: number; location_id: number; date: string; risk: number; level: string; method: string; details: string }
export interface SuggestionsTable {
  id: Generated<number>; product_id: number; location_id: number; created_on: string; supplier_id: number | null; quantity: number;
  unit_cost: number; list_unit_cost: number; payload: string;
}
export interface DataChangesTable { id: Generated<number>; entity: string; min_date: string | null; max_date: string | null; rows: number; changed_at: string }

export interface Database {
  locations: LocationsTable;
  products: ProductsTable;
  suppliers: SuppliersTable;
  supplier_products: SupplierProductsTable;
  price_breaks: PriceBreaksTable;
  sales: SalesTable;
  stock_levels: StockLevelsTable;
  purchase_orders: PurchaseOrdersTable;
  events: EventsTable;
  weather: WeatherTable;
  sensor_readings: SensorReadingsTable;
  quality_incidents: QualityIncidentsTable;
  models: ModelsTable;
  global_models: GlobalModelsTable;
  forecasts: ForecastsTable;
  alerts: AlertsTable;
  notifications: NotificationsTable;
  forecast_metrics: ForecastMetricsTable;
  retrain_flags: RetrainFlagsTable;
  metrics_history: MetricsHistoryTable;
  kpi_cache: KpiCacheTable;
  savings: SavingsTable;
  batch_runs: BatchRunsTable;
  batch_steps: BatchStepsTable;
  meta: MetaTable;
  audit_log: AuditLogTable;
  forecast_overrides: ForecastOverridesTable;
  override_audit: OverrideAuditTable;
  order_drafts: OrderDraftsTable;
  order_draft_lines: OrderDraftLinesTable;
  shadow_forecasts: ShadowForecastsTable;
  model_scores: ModelScoresTable;
  model_drift: ModelDriftTable;
  model_trials: ModelTrialsTable;
  trends: TrendsTable;
  event_factors: EventFactorsTable;
  revenue_daily: RevenueDailyTable;
  dormant_stock: DormantStockTable;
  inventory_policies: InventoryPoliciesTable;
  quality_risk: QualityRiskTable;
  suggestions: SuggestionsTable;
  data_changes: DataChangesTable;
}

export const ALL_TABLES = [
  'locations', 'products', 'suppliers', 'supplier_products', 'price_breaks', 'sales', 'stock_levels', 'purchase_orders', 'events',
  'weather', 'sensor_readings', 'quality_incidents', 'models', 'forecasts', 'alerts', 'notifications', 'forecast_metrics',
  'retrain_flags', 'metrics_history', 'kpi_cache', 'savings', 'trends', 'event_factors', 'revenue_daily', 'dormant_stock',
  'inventory_policies', 'quality_risk', 'suggestions', 'data_changes', 'batch_runs', 'batch_steps', 'meta', 'audit_log',
  'forecast_overrides', 'override_audit', 'order_drafts', 'order_draft_lines',
  'shadow_forecasts', 'model_scores', 'model_drift', 'model_trials', 'global_models',
] as const;
