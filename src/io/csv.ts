/**
 * A streaming CSV reader (RFC 4180 quoting within a line; a quoted field may
 * not span lines) and a writer. Constant memory whatever the file size.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface CsvLine {
  line: number;
  fields: string[];
}

export function parseCsvLine(text: string): string[] | { error: string; column: number } {
  const out: string[] = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    if (i < n && text[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) return { error: 'unterminated quoted field', column: out.length + 1 };
        v += text.slice(i, q);
        if (text[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(v);
      if (i < n && text[i] !== ',') return { error: 'characters after a closing quote', column: out.length };
    } else {
      const c = text.indexOf(',', i);
      const end = c < 0 ? n : c;
      out.push(text.slice(i, end).trim());
      i = end;
    }
    if (i >= n) break;
    i++; // comma
    if (i === n) {
      out.push('');
      break;
    }
  }
  return out;
}

export async function* readCsv(file: string): AsyncGenerator<CsvLine | { line: number; error: string; column: number }> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const raw of rl) {
    line++;
    const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() === '') continue;
    const r = parseCsvLine(text);
    if (Array.isArray(r)) yield { line, fields: r };
    else yield { line, error: r.error, column: r.column };
  }
}

export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6)) : String(v);
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

export function csvRow(values: unknown[]): string {
  return values.map(csvField).join(',');
}
