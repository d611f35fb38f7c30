import { main } from './main.js';

// The `kubectl-sandpod` executable (dist/bin/kubectl-sandpod), run by kubectl as `kubectl sandpod`.
process.exitCode = await main(process.argv.slice(2), process);
