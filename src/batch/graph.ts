/**
 * The job graph, validated when it is built: an unknown dependency or a cycle
 * is an error naming it (with the cycle's path). Gives a topological order
 * and the parallel groups (jobs whose dependencies all lie in earlier groups).
 */
import { UsageError } from '../errors.js';

export interface GraphNode {
  name: string;
  dependsOn: string[];
}

export class GraphError extends UsageError {}

export interface Graph {
  order: string[];
  levels: string[][];
  deps: Map<string, string[]>;
  dependents: Map<string, string[]>;
}

export function buildGraph(nodes: GraphNode[]): Graph {
  const names = new Set<string>();
  for (const n of nodes) {
    if (names.has(n.name)) throw new GraphError(`job "${n.name}" is declared twice`);
    names.add(n.name);
  }
  const deps = new Map<string, string[]>();
  const dependents = new Map<string, string[]>();
  for (const n of nodes) {
    for (const d of n.dependsOn) if (!names.has(d)) throw new GraphError(`job "${n.name}" depends on unknown job "${d}"`);
    deps.set(n.name, [...n.dependsOn]);
    dependents.set(n.name, []);
  }
  for (const n of nodes) for (const d of n.dependsOn) dependents.get(d)!.push(n.name);

  // Cycle detection by depth-first search, reporting the path.
  const state = new Map<string, 0 | 1 | 2>();
  const stack: string[] = [];
  const visit = (n: string) => {
    const s = state.get(n) ?? 0;
    if (s === 2) return;
    if (s === 1) {
      const path = [...stack.slice(stack.indexOf(n)), n];
      throw new GraphError(`dependency cycle: ${path.join(' -> ')}`);
    }
    state.set(n, 1);
    stack.push(n);
    for (const d of deps.get(n)!) visit(d);
    stack.pop();
    state.set(n, 2);
  };
  for (const n of nodes) visit(n.name);

  // Kahn's algorithm by levels, keeping declaration order within a level.
  const indeg = new Map(nodes.map((n) => [n.name, n.dependsOn.length]));
  const levels: string[][] = [];
  let frontier = nodes.filter((n) => indeg.get(n.name) === 0).map((n) => n.name);
  while (frontier.length) {
    levels.push(frontier);
    const next: string[] = [];
    for (const n of frontier) for (const m of dependents.get(n)!) {
      indeg.set(m, indeg.get(m)! - 1);
      if (indeg.get(m) === 0) next.push(m);
    }
    const order = new Map(nodes.map((n, i) => [n.name, i]));
    frontier = next.sort((a, b) => order.get(a)! - order.get(b)!);
  }
  return { order: levels.flat(), levels, deps, dependents };
}

/** Every job downstream of `name`. */
export function downstream(g: Graph, name: string): Set<string> {
  const out = new Set<string>();
  const walk = (n: string) => {
    for (const m of g.dependents.get(n) ?? []) if (!out.has(m)) {
      out.add(m);
      walk(m);
    }
  };
  walk(name);
  return out;
}
