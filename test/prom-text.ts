/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4),
 * for tests: every sample belongs to a family declared by a TYPE line before
 * it, names and label names follow the grammar, label values are escaped,
 * values are floats, no sample is repeated. Throws on the first violation.
 */
export interface Sample { name: string; labels: Record<string, string>; value: number }

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const VALUE = '[+-]?(?:\\d+\\.?\\d*(?:[eE][+-]?\\d+)?|\\.\\d+(?:[eE][+-]?\\d+)?|Inf|NaN)';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL}="(?:\\\\.|[^"\\\\])*"(?:,${LABEL}="(?:\\\\.|[^"\\\\])*")*,?)?)\\})? (${VALUE})(?: -?\\d+)?$`);

export function parsePrometheusText(text: string): { types: Map<string, string>; samples: Sample[] } {
  if (text.length && !text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const seen = new Set<string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((line, i) => {
    const at = `line ${i + 1}: ${line}`;
    if (line === '') return;
    let m = line.match(new RegExp(`^# HELP (${NAME}) (.*)$`));
    if (m) {
      if (helps.has(m[1])) throw new Error(`second HELP for ${m[1]} (${at})`);
      helps.add(m[1]);
      return;
    }
    m = line.match(new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`));
    if (m) {
      if (types.has(m[1])) throw new Error(`second TYPE for ${m[1]} (${at})`);
      if (samples.some((s) => s.name === m![1])) throw new Error(`TYPE after samples of ${m[1]} (${at})`);
      types.set(m[1], m[2]);
      return;
    }
    if (line.startsWith('#')) {
      if (/^# (HELP|TYPE)/.test(line)) throw new Error(`malformed ${at}`);
      return;
    }
    m = line.match(SAMPLE);
    if (!m) throw new Error(`not a sample (${at})`);
    const family = [...types.keys()].find((f) => m![1] === f || (/histogram|summary/.test(types.get(f)!) && new RegExp(`^${f}_(bucket|sum|count)$`).test(m![1])));
    if (!family) throw new Error(`sample of an undeclared family (${at})`);
    const labels: Record<string, string> = {};
    for (const lm of (m[2] ?? '').matchAll(new RegExp(`(${LABEL})="((?:\\\\.|[^"\\\\])*)"`, 'g'))) {
      if (lm[1] in labels) throw new Error(`label ${lm[1]} twice (${at})`);
      labels[lm[1]] = lm[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    const key = m[1] + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(key)) throw new Error(`sample repeated (${at})`);
    seen.add(key);
    const v = m[3];
    samples.push({ name: m[1], labels, value: v.endsWith('Inf') ? (v.startsWith('-') ? -Infinity : Infinity) : Number(v) });
  });
  return { types, samples };
}

export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
