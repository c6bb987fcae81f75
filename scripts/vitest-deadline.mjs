// vitest bounds each test and hook but not the run: a worker wedged outside a test, or a handle
// that keeps vitest from exiting, would hold the caller (CI has 90 minutes) until it is killed
// with nothing reported. This global setup, which runs in vitest's main process, gives the whole
// run a deadline instead. OPL_TEST_DEADLINE_MINUTES overrides it (default 65; the suite takes a
// few minutes).
import { readdirSync, readFileSync } from 'node:fs';

/** Every live descendant of PID, read from /proc: the forked workers and whatever the tests spawned. */
const descendants = (pid) => {
  const parentOf = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name may hold spaces and parentheses: the parent pid follows the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const found = [];
  const walk = (parent) => {
    for (const [child, ppid] of parentOf) if (ppid === parent) (found.push(child), walk(child));
  };
  walk(pid);
  return found;
};

export default function setup() {
  const minutes = Number(process.env.OPL_TEST_DEADLINE_MINUTES ?? 65);
  const timer = setTimeout(() => {
    console.error(`vitest: the test run has gone past its ${minutes}-minute deadline; stopping it`);
    // Exiting alone would leave the workers running on as orphans, still spawning test processes.
    for (const pid of descendants(process.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    process.exit(1);
  }, minutes * 60_000);
  // Unref'd so a run that ends in time exits at once; kept past teardown so a hang on the way out is bounded too.
  timer.unref();
}
