import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildStepSpec, type SeccompProfile, type StepSpecInput, stepSpecJson } from '../../sandbox/oci-spec.js';

const seccomp = JSON.parse(
  readFileSync(new URL('../../config/seccomp.json', import.meta.url), 'utf8'),
) as SeccompProfile;

const input: StepSpecInput = {
  argv: ['/usr/bin/python3', 'main.py'],
  env: { PATH: '/usr/bin' },
  uid: 65534,
  gid: 65534,
  rootfsPath: '/run/sandpod/rootfs',
  readOnlyBinds: [{ source: '/usr', destination: '/usr' }],
  recursiveMountFlags: true,
  scratch: { kind: 'host', work: '/s/work', tmp: '/s/tmp', shm: '/s/shm' },
  cgroupsPath: '/sandpod/x/container',
  seccomp,
  openFiles: 256,
  pids: 64,
};
const spec = buildStepSpec(input) as {
  process: Record<string, unknown> & { capabilities: Record<string, string[]>; user: { uid: number } };
  root: { readonly: boolean };
  mounts: { destination: string; options: string[] }[];
  linux: { namespaces: { type: string }[]; seccomp: SeccompProfile };
};

describe('buildStepSpec', () => {
  it('should run the program as the unprivileged user with every capability set empty', () => {
    assert.equal(spec.process.user.uid, 65534);
    for (const set of Object.values(spec.process.capabilities)) assert.deepEqual(set, []);
    assert.equal(spec.process.noNewPrivileges, true);
    assert.equal(spec.process.terminal, false);
  });

  it('should make the root read-only and the host binds read-only, nosuid and nodev', () => {
    assert.equal(spec.root.readonly, true);
    const usr = spec.mounts.find((mount) => mount.destination === '/usr');
    assert.ok(usr);
    for (const option of ['ro', 'nosuid', 'nodev']) assert.ok(usr.options.includes(option), option);
  });

  it('should ask for read-only, nosuid and nodev below the binds too when the runtime can apply them', () => {
    const usr = spec.mounts.find((mount) => mount.destination === '/usr');
    for (const option of ['rro', 'rnosuid', 'rnodev']) assert.ok(usr?.options.includes(option), option);
    const plain = buildStepSpec({ ...input, recursiveMountFlags: false }) as typeof spec;
    const plainUsr = plain.mounts.find((mount) => mount.destination === '/usr');
    assert.deepEqual(plainUsr?.options, ['rbind', 'ro', 'nosuid', 'nodev']);
  });

  it('should mount only the scratch space writable, and nosuid', () => {
    const writable = spec.mounts.filter((mount) => mount.options.includes('rw'));
    assert.deepEqual(writable.map((mount) => mount.destination).sort(), ['/dev/shm', '/tmp', '/work']);
    for (const mount of writable) assert.ok(mount.options.includes('nosuid'));
  });

  it('should give the step its own pid, network, ipc, uts, mount and cgroup namespaces', () => {
    const types = spec.linux.namespaces.map((namespace) => namespace.type).sort();
    assert.deepEqual(types, ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']);
  });

  it('should deny by default and never allow ptrace, mount or unshare in the seccomp profile', () => {
    assert.equal(spec.linux.seccomp.defaultAction, 'SCMP_ACT_ERRNO');
    const allowed = spec.linux.seccomp.syscalls
      .filter((rule) => rule.action === 'SCMP_ACT_ALLOW')
      .flatMap((rule) => rule.names);
    for (const dangerous of [
      'ptrace',
      'mount',
      'unshare',
      'setns',
      'keyctl',
      'add_key',
      'bpf',
      'io_uring_setup',
      'perf_event_open',
    ]) {
      assert.ok(!allowed.includes(dangerous), dangerous);
    }
  });

  it('should serialise to the same spec with the seccomp profile spliced in', () => {
    assert.deepEqual(JSON.parse(stepSpecJson(spec)), spec);
    assert.deepEqual(JSON.parse(stepSpecJson(spec)), spec);
  });

  it('should keep the scratch in one runtime tmpfs capped in bytes and inodes when the runtime mounts it', () => {
    const runtimeSpec = buildStepSpec({
      ...input,
      scratch: { kind: 'runtime', stagedDir: '/b/scratch', sizeMiB: 16, inodes: 2048 },
    }) as { mounts: { destination: string; type: string; source: string; options: string[] }[] };
    const tmpfs = runtimeSpec.mounts.filter((mount) => mount.destination === '/.scratch' && mount.type === 'tmpfs');
    assert.equal(tmpfs.length, 1);
    for (const option of ['size=16m', 'nr_inodes=2048', 'nosuid', 'nodev', 'tmpcopyup']) {
      assert.ok(tmpfs[0]?.options.includes(option), option);
    }
    const at = (destination: string) => runtimeSpec.mounts.findIndex((mount) => mount.destination === destination);
    for (const [destination, dir] of [
      ['/work', 'work'],
      ['/tmp', 'tmp'],
      ['/dev/shm', 'shm'],
    ]) {
      const bind = runtimeSpec.mounts[at(destination as string)];
      assert.equal(bind?.source, `/run/sandpod/rootfs/.scratch/${dir}`);
      assert.ok(
        at(destination as string) > runtimeSpec.mounts.indexOf(tmpfs[0] as never),
        `${destination} after the tmpfs`,
      );
    }
    // The staged directory is what the tmpfs copies, read-only and covered by it.
    const staged = runtimeSpec.mounts.find((mount) => mount.source === '/b/scratch');
    assert.equal(staged?.destination, '/.scratch');
    assert.ok(runtimeSpec.mounts.indexOf(staged as never) < runtimeSpec.mounts.indexOf(tmpfs[0] as never));
  });
});
