/**
 * CSV through the ecosystem's libraries: csv-parse reads (RFC 4180: quoted
 * fields may span lines, values are never trimmed), csv-stringify writes.
 * Streaming, so memory stays constant whatever the file size. The bytes must be
 * UTF-8: anything else (a Latin-1 export, say) is an error naming the line,
 * never a value silently stored with U+FFFD in it.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { stringify, type Stringifier } from 'csv-stringify';
import { stringify as stringifySync } from 'csv-stringify/sync';

export interface CsvLine {
  /** Line on which the record starts (1-based). */
  line: number;
  fields: string[];
}

export interface CsvError {
  line: number;
  column: number;
  error: string;
}

/** Decodes a byte stream as strict UTF-8, failing with the line of the first invalid byte. */
async function* utf8(bytes: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let lines = 1;
  for await (const chunk of bytes) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      // Find the line of the bad byte: decode the chunk line by line.
      let start = 0;
      const probe = new TextDecoder('utf-8', { fatal: true });
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        const end = nl < 0 ? chunk.length : nl;
        try {
          probe.decode(chunk.subarray(start, end), { stream: nl < 0 });
        } catch {
          throw new Utf8Error(lines);
        }
        if (nl < 0) throw new Utf8Error(lines);
        lines++;
        start = nl + 1;
      }
    }
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lines++;
    yield text;
  }
  const rest = (() => {
    try {
      return decoder.decode();
    } catch {
      throw new Utf8Error(lines);
    }
  })();
  if (rest) yield rest;
}

class Utf8Error extends Error {
  constructor(readonly line: number) {
    super('the file is not UTF-8 (an invalid byte sequence on this line); re-save it as UTF-8, e.g. `iconv -f latin1 -t utf-8 FILE > FILE.utf8`');
  }
}

/** Records of a CSV file, with the line each starts on; a malformed file yields one error and stops. */
export async function* readCsv(file: string): AsyncGenerator<CsvLine | CsvError> {
  const source = Readable.from(utf8(createReadStream(file)));
  const parser = source.pipe(parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true, trim: false }));
  // pipe() does not forward errors: an encoding error ends the parse with it.
  source.on('error', (e) => parser.destroy(e));
  let lastEnd = 0;
  let lastEmpty = 0;
  try {
    for await (const r of parser as AsyncIterable<{ record: string[]; info: { lines: number; empty_lines: number } }>) {
      const line = lastEnd + 1 + (r.info.empty_lines - lastEmpty);
      lastEnd = r.info.lines;
      lastEmpty = r.info.empty_lines;
      // A line of only blanks is an empty record, not data.
      if (r.record.length === 1 && r.record[0].trim() === '') continue;
      yield { line, fields: r.record };
    }
  } catch (e) {
    if (e instanceof Utf8Error) {
      yield { line: e.line, column: 1, error: e.message };
      return;
    }
    const err = e as Error & { lines?: number; column?: number; code?: string };
    if (err.code?.startsWith('CSV_')) {
      yield { line: err.lines ?? lastEnd + 1, column: (err.column ?? 0) + 1, error: err.message.replace(/\s*\[$/, '') };
      return;
    }
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof Utf8Error) {
      yield { line: cause.line, column: 1, error: cause.message };
      return;
    }
    throw e;
  }
}

/**
 * Numbers are written in full (the shortest text that reads back to the same
 * double), so an export imported again is the same data.
 */
const STRINGIFY_OPTIONS = { cast: { number: (v: number) => String(v), boolean: (v: boolean) => (v ? '1' : '0') } };

/** A streaming CSV writer (rows as arrays). */
export function csvWriter(): Stringifier {
  return stringify(STRINGIFY_OPTIONS);
}

/** One CSV line (with its newline) for a row of values. */
export function csvRow(values: unknown[]): string {
  return stringifySync([values], STRINGIFY_OPTIONS).replace(/\n$/, '');
}
