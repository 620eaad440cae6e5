/**
 * Every purchase order has a stable reference from its creation, so an export
 * imported back matches the same orders instead of adding copies. Orders
 * created without one (the sample generator, older databases, `orders`) get
 * `PO-<id>`, the name earlier exports gave them.
 */
import { Kysely, sql } from 'kysely';
import { isPostgres } from './001-initial.js';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`update purchase_orders set ref = 'PO-' || id where ref is null`.execute(db);
  if (isPostgres(db)) {
    await sql`create or replace function purchase_order_ref() returns trigger as $$
      begin
        if new.ref is null then
          new.ref := 'PO-' || new.id || case when exists (select 1 from purchase_orders where ref = 'PO-' || new.id) then '-' || substr(md5(random()::text), 1, 6) else '' end;
        end if;
        return new;
      end $$ language plpgsql`.execute(db);
    await sql`create trigger purchase_orders_ref before insert on purchase_orders for each row execute function purchase_order_ref()`.execute(db);
  } else {
    await sql`create trigger purchase_orders_ref after insert on purchase_orders for each row when new.ref is null
      begin
        update purchase_orders set ref = 'PO-' || new.id || case when exists (select 1 from purchase_orders where ref = 'PO-' || new.id) then '-' || lower(hex(randomblob(3))) else '' end
        where id = new.id;
      end`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists purchase_orders_ref${isPostgres(db) ? sql` on purchase_orders` : sql``}`.execute(db);
}
