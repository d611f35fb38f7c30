import { detectCgroupDriver } from '../../sandbox/cgroups.js';
import { plantProcess } from './cgroups.js';

// A gateway that dies holding a cgroup slot with a process running in it: a test starts this
// with the parent cgroup's name, reads the line it prints and kills it with SIGKILL.

const driver = detectCgroupDriver(process.argv[2]);
const cgroup = await driver.acquire('left-running', { memoryMiB: 64, pids: 16, cpus: 1 });
const sleeper = await plantProcess(cgroup.containerPath);
sleeper.unref();
process.stdout.write(`${JSON.stringify({ containerPath: cgroup.containerPath, pid: sleeper.pid })}\n`);
setInterval(() => undefined, 60_000);
