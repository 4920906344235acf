/**
 * Reads what callgrind counted for one process: all its instructions, and the share of them
 * spent in V8's garbage collector.
 *
 * Why the split: a counted window of a few thousand handshakes holds a whole number of major
 * collections (0, 1 or 2), and where they fall, not the code being measured, moves a total by up
 * to 6 points between two runs of the same set-up (one major collection of a 20 MB heap costs
 * about as much as 150 handshakes). Instructions outside the collector do not move that way; the
 * collector's own figure is shown beside them, so that what a set-up allocates is not hidden.
 *
 * The split is by function name (the Node binary has symbols, no line tables): a function belongs
 * to the collector when its name is one of V8's heap classes below. Write barriers and allocation
 * fast paths are the program's own work and stay outside.
 */
import { execFile } from 'node:child_process';
import { copyFile, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Names of V8's garbage collector: its marking, sweeping, scavenging, evacuation and their bookkeeping. */
const COLLECTOR =
  /v8::internal::(?:Heap::|heap::|MarkCompact|MinorMarkSweep|MinorMS|Scaveng|ConcurrentMarking|IncrementalMarking|MarkingVisitor|MarkingWorklist|MarkingBarrier|Sweeper|ArrayBufferSweeper|Evacuat|RememberedSet|SlotSet|TypedSlotSet|GCTracer|FreeList|PagedSpace|LargeObjectSpace|MemoryAllocator|MemoryReducer|ObjectStats|EphemeronRemember|WeakObjects|Root(?:Marking|Scavenge)Visitor|PointersUpdatingVisitor|\w*StringTableCleaner|MarkBit::|RelocIterator|ObjectVisitor::VisitRelocInfo|\(anonymous namespace\)::IterateObjectCache)|heap::base::|cppgc::internal::|<v8::internal::(?:ConcurrentMarkingVisitor|MainMarkingVisitor|YoungGenerationMarkingVisitor|ScavengeVisitor|IterateAndScavengePromotedObjectsVisitor|RecordMigratedSlotVisitor|Evacuat\w*)>|v8::internal::HeapObject::SizeFromMap/;

/** Instructions counted in a window. */
export interface Counted {
  /** Every instruction of the process in the window, all threads. */
  total: number;
  /** Those in V8's garbage collector (all threads). */
  collector: number;
}

/**
 * Sums the callgrind files in `dir` whose names start with `prefix`, removes them, and says how
 * many of their instructions the collector spent. Pass `name.` to read the dumps asked for with
 * `callgrind_control -d` (`name.1`, `name.2`...), not the final one written at exit. Needs `callgrind_annotate`
 * (valgrind's package). With `BENCH_KEEP_CALLGRIND=dir` in the environment, a copy of each file
 * is kept there, to compare two set-ups function by function with `callgrind_annotate`.
 */
export async function readCounted(dir: string, prefix: string): Promise<Counted> {
  const out: Counted = { total: 0, collector: 0 };
  for (const f of (await readdir(dir)).filter((x) => x.startsWith(prefix))) {
    const file = join(dir, f);
    const text = await readFile(file, 'latin1');
    out.total += Number(/^(?:summary|totals): (\d+)/m.exec(text)?.[1] ?? 0);
    const { stdout } = await execFileP('callgrind_annotate', ['--threshold=100', '--inclusive=no', file], {
      maxBuffer: 256 << 20,
    });
    for (const m of stdout.matchAll(/^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$/gm)) {
      if (COLLECTOR.test(m[2]!)) out.collector += Number(m[1]!.replaceAll(',', ''));
    }
    if (process.env.BENCH_KEEP_CALLGRIND) await copyFile(file, join(process.env.BENCH_KEEP_CALLGRIND, f));
    await rm(file);
  }
  return out;
}
