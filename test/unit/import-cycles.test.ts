import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Every relative import (values and types) of the TypeScript files under `dirs`, as file → imported files. */
function importGraph(dirs: string[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const dir of dirs) {
    for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))) {
      const file = path.join(dir, name);
      const targets = new Set<string>();
      for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)) {
        targets.add(path.normalize(path.join(path.dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
      }
      graph.set(file, targets);
    }
  }
  return graph;
}

/** The strongly connected components of more than one node (Tarjan): each is a cycle. */
function cycles(edges: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('imports (issue 23): no cycles', () => {
  it('no module imports itself back, in any production folder', () => {
    expect(cycles(importGraph(['api/src', 'common', 'dicom-proxy/src', 'dicom-gate/src', 'scripts', 'db']))).to.deep.equal([]);
  });

  it('the API’s folders form layers: no folder imports one that imports it back (types included)', () => {
    const root = 'api/src';
    const folderOf = (file: string) => path.relative(root, file).split(path.sep)[0]!.replace(/\.ts$/, '');
    const folders = new Map<string, Set<string>>();
    for (const [file, targets] of importGraph([root])) {
      const from = folderOf(file);
      for (const target of targets) {
        if (!target.startsWith(`${root}${path.sep}`) || folderOf(target) === from) continue;
        (folders.get(from) ?? folders.set(from, new Set()).get(from)!).add(folderOf(target));
      }
    }
    expect(folders.size).to.be.greaterThan(10);
    expect(cycles(folders)).to.deep.equal([]);
  });
});
