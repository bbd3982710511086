/** What every scenario gets from the runner, and the A B A B interleaving all of them use. */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Need } from './install.js';
import type { CpuPlan } from './proc.js';
import type { Row } from './report.js';

export interface BenchContext {
  repoRoot: string;
  /** <repo>/.bench: scratch data (wiped per run) and cached fills (kept). */
  workDir: string;
  rounds: number;
  quick: boolean;
  cpus: CpuPlan;
  /** Node flags for every Cellar server (--cpu-prof: profiles land in .bench/profiles). */
  cellarNodeArgs: string[];
  log(msg: string): void;
  /** A fresh directory for one scenario's throw-away data (wiped now, removed at the end of the run). */
  scratch(name: string): string;
  /** A directory kept between runs (filled data sets). */
  cache(name: string): string;
}

export interface Scenario {
  id: string;
  title: string;
  needs: Need[];
  run(ctx: BenchContext): Promise<Row[]>;
}

export function makeDirs(workDir: string): {
  scratch(name: string): string;
  cache(name: string): string;
  cleanScratch(): void;
} {
  const scratchRoot = path.join(workDir, 'scratch');
  return {
    scratch(name) {
      const dir = path.join(scratchRoot, name);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      return dir;
    },
    cache(name) {
      const dir = path.join(workDir, 'cache', name);
      mkdirSync(dir, { recursive: true });
      return dir;
    },
    cleanScratch() {
      rmSync(scratchRoot, { recursive: true, force: true });
    },
  };
}

/**
 * Runs the sides in turn, round after round (A B A B ...), so that a noisy neighbour hits all
 * sides alike; returns each side's samples in round order.
 */
export async function interleave(
  rounds: number,
  sides: { name: string; measure: (round: number) => Promise<number> }[],
  log: (s: string) => void,
): Promise<number[][]> {
  const samples: number[][] = sides.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let s = 0; s < sides.length; s++) {
      const v = await sides[s]!.measure(r);
      samples[s]!.push(v);
      log(`  round ${r + 1}/${rounds} ${sides[s]!.name}: ${v.toFixed(v < 100 ? 2 : 0)}`);
    }
  }
  return samples;
}
