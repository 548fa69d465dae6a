// Loaded into a benchmark child (`--import ./lib/alloc-window.mjs`): SIGUSR2 opens a window, the
// next SIGUSR2 closes it and writes `ALLOCATED <bytes>` to stderr. Bytes allocated are read from
// v8.GCProfiler: the heap's growth between collections, plus what was freed by each, so the figure
// holds whatever the load on the machine. The line also gives the bytes promoted to the old generation
// by the scavenges, and the time spent in GC (µs). Not for children that use SIGUSR2 for something else.
import v8 from "node:v8";

const oldSpace = (stats) => stats.heapSpaceStatistics.find((space) => space.spaceName === "old_space")?.spaceUsedSize ?? 0;

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
  let promoted = 0;
  let gcMicros = 0;
  let used = usedAtStart;
  for (const gc of statistics) {
    allocated += gc.beforeGC.heapStatistics.usedHeapSize - used;
    used = gc.afterGC.heapStatistics.usedHeapSize;
    gcMicros += gc.cost;
    if (gc.gcType === "Scavenge") promoted += oldSpace(gc.afterGC) - oldSpace(gc.beforeGC);
  }
  allocated += usedAtEnd - used;
  process.stderr.write(`ALLOCATED ${allocated} PROMOTED ${promoted} GC_US ${Math.round(gcMicros)}\n`);
});
