import { main } from './main.js';

// The `sandpod` executable (dist/bin/sandpod starts it). The exit status is set rather than
// forced so that output still in a pipe is written first.
process.exitCode = await main(process.argv.slice(2), process);
