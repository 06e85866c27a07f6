/**
 * BENCH_QUICK=1 runs every measure once and small: the docs test (test/docs/commands.test.ts)
 * uses it to prove that `npm run bench` and `npm run bench:load` still run. Its figures mean nothing.
 */
const QUICK = process.env.BENCH_QUICK === "1";

/** The full count, or the small one in a quick run. */
export const sized = (full: number, quick: number): number => (QUICK ? quick : full);

/** Printed first by a quick run, so its figures are never quoted. */
export const quickNote = (): string[] => (QUICK ? ["Quick run (BENCH_QUICK=1): it proves the benchmark runs; its figures mean nothing.", ""] : []);
