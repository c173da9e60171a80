// Preloaded (`node --require`) by test/run.ts into every test file's process. With
// --test-force-exit, node's runner exits a file's process as soon as its reporter closes, while
// the end of the file's report may still be on its way to the runner through the pipe: the run
// then counts fewer tests than ran, and of a failure among the lost ones it names only the file
// (nodejs/node#64833). Here that exit waits until what the report wrote has left the process, for
// a few seconds at most. Plain JavaScript: the workflow worker threads inherit the preload, and
// they load it before any TypeScript loader.
const { isMainThread } = require('node:worker_threads');

/** How long a test file's exit waits for its report to leave, at most. */
const flushDeadlineMs = 5_000;

/** Event loop turns with nothing left to write before the process exits. */
const quietTurns = 2;

const isTestFile = /\.test\.[cm]?[jt]s$/.test(process.argv[1] ?? '');

if (isMainThread && isTestFile && process.env.NODE_TEST_CONTEXT !== undefined) {
  const exitNow = process.exit.bind(process);
  process.exit = (code) => {
    if (code !== undefined && code !== null) process.exitCode = code;
    exitOnceReported(exitNow, Date.now() + flushDeadlineMs, 0);
  };
}

function exitOnceReported(exit, deadline, quiet) {
  setImmediate(() => {
    const writing = process.stdout.writableLength > 0 || process.stdout.writableNeedDrain;
    const turns = writing ? 0 : quiet + 1;
    if (turns >= quietTurns || Date.now() >= deadline) exit();
    else exitOnceReported(exit, deadline, turns);
  });
}
