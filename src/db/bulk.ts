import type BetterSqlite3 from 'better-sqlite3';

/** Buffered multi-row INSERT: one statement per `rows` rows, the remainder row by row on flush. */
export class BulkInsert {
  private buf: unknown[] = [];
  private many: BetterSqlite3.Statement;
  private one: BetterSqlite3.Statement;
  constructor(sqlite: BetterSqlite3.Database, table: string, private cols: string[], private rows = 64) {
    const tuple = `(${cols.map(() => '?').join(', ')})`;
    this.many = sqlite.prepare(`insert into ${table} (${cols.join(', ')}) values ${Array(rows).fill(tuple).join(', ')}`);
    this.one = sqlite.prepare(`insert into ${table} (${cols.join(', ')}) values ${tuple}`);
  }
  push(...values: unknown[]): void {
    for (const v of values) this.buf.push(v);
    if (this.buf.length === this.rows * this.cols.length) {
      this.many.run(this.buf);
      this.buf = [];
    }
  }
  flush(): void {
    const w = this.cols.length;
    for (let i = 0; i < this.buf.length; i += w) this.one.run(this.buf.slice(i, i + w));
    this.buf = [];
  }
}

