// Loaded into a benchmark child (`--import ./lib/alloc-window.mjs`): SIGUSR2 opens a window, the
// next SIGUSR2 closes it and writes `ALLOCATED <bytes>` to stderr. Bytes allocated are read from
// v8.GCProfiler: the heap's growth between collections, plus what was freed by each, so the figure
// holds whatever the load on the machine. Not for children that use SIGUSR2 for something else.
import v8 from "node:v8";

let profiler;
let usedAtStart = 0;
process.on("SIGUSR2", () => {
  if (!profiler) {
    profiler = new v8.GCProfiler();
    usedAtStart = v8.getHeapStatistics().used_heap_size;
    profiler.start();
    return;
  }
  const usedAtEnd = v8.getHeapStatistics().used_heap_size;
  const { statistics } = profiler.stop();
  profiler = undefined;
  let allocated = 0;
  let used = usedAtStart;
  for (const gc of statistics) {
    allocated += gc.beforeGC.heapStatistics.usedHeapSize - used;
    used = gc.afterGC.heapStatistics.usedHeapSize;
  }
  allocated += usedAtEnd - used;
  process.stderr.write(`ALLOCATED ${allocated}\n`);
});
