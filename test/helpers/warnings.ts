/** Process warnings emitted while `fn` runs (they are delivered on the next tick). */
export async function warningsDuring(fn: () => void): Promise<(Error & { code?: string })[]> {
  const seen: (Error & { code?: string })[] = [];
  const onWarning = (w: Error) => seen.push(w);
  process.on('warning', onWarning);
  try {
    fn();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}
