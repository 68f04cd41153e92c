// Starts a worker thread on a TypeScript entry, for gridgate run from source (the test suite,
// `tsx gateway/cli/main.ts`). Node 20 cannot start a worker on a .ts file, and neither the parent's
// loader hooks nor `--import tsx` in the worker's execArgv reach its entry module, so the thread
// registers tsx itself. tsx resolves from this file, in the checkout, whatever the working
// directory. Not part of the built package: from dist/ a worker starts on its compiled .js entry.
import { register } from 'tsx/esm/api';

export function run(entry) {
  register();
  return import(entry);
}
