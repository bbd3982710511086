/**
 * Loaded into the server under test by `node --import` (bench/soak.ts): appends one JSON line a
 * second with the V8 heap and the event-loop delay to $CELLAR_SOAK_PROBE_FILE. The product
 * exposes neither, and a soak should not need it to: /proc gives RSS and descriptors, this gives
 * the two figures only the process itself can see. Does nothing when the variable is unset.
 */
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env['CELLAR_SOAK_PROBE_FILE'];
if (file !== undefined && file !== '') {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    const line = {
      t: Date.now(),
      heapUsed: m.heapUsed,
      external: m.external,
      // Nanoseconds; the 10 ms sampling resolution is part of every figure, as in Node's docs.
      eldP99: delay.percentile(99) / 1e6,
      eldMax: delay.max / 1e6,
    };
    delay.reset();
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  }, 1000);
  // The probe must never keep a stopping server alive.
  timer.unref();
}
