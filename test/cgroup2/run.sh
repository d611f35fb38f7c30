#!/usr/bin/env bash
# Runs the embedded sandbox suites on a cgroup v2 host: boots Debian's kernel under qemu with
# cgroup v1 switched off, sharing this machine's root read-only (9p) so that the guest runs the
# same node, runc, toolchains and checkout. The guest has no network but its own loopback.
# Fails when the guest does not boot, does not finish in time, or any suite fails there.
#
#   test/cgroup2/run.sh            the sandbox suites (cgroups, hostile, host) and the contract suite
#   SUITES=sandbox test/cgroup2/run.sh   the sandbox suites alone (SUITES=quick: the cgroup slots alone)
#   RUNSC=/path/to/runsc ...       the hostile suite under gVisor too (works, but ~1 min a test)
#   ACCEL=kvm MEMORY=6G TIMEOUT=2400 ...  (KVM nested in this project's CI VM hangs at boot: TCG)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$repo/test/cgroup2
suites=${SUITES:-all}
accel=${ACCEL:-tcg}
memory=${MEMORY:-5G}
timeout_s=${TIMEOUT:-2400}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/sandpod/cgroup2

for cmd in qemu-system-x86_64 busybox modprobe; do
  command -v "$cmd" >/dev/null || { echo "$cmd is missing: run scripts/install-deps.sh --test" >&2 && exit 1; }
done
# Debian's own kernel (linux-image-amd64), the newest with the 9p modules the guest mounts its root with.
kernel=
for modules in /lib/modules/*; do
  version=${modules##*/}
  [[ -e /boot/vmlinuz-$version && -n $(find "$modules/kernel/fs/9p" -name '9p.ko*' 2>/dev/null) ]] && kernel=$version
done
[[ -n $kernel ]] || { echo "no Debian kernel with 9p: run scripts/install-deps.sh --test" >&2 && exit 1; }

# The initramfs: busybox and the modules that mount the host root. Named after what it is built
# from, so a new kernel or init script builds a new one.
stamp=$(cat "$here/initramfs-init.sh" "$(command -v busybox)" | sha256sum | cut -c1-12)
initramfs=$cache/initramfs-$kernel-$stamp.cpio.gz
if [[ ! -e $initramfs ]]; then
  mkdir -p "$cache"
  build=$(mktemp -d)
  trap 'rm -rf "$build"' EXIT
  mkdir -p "$build"/{bin,dev,proc,modules}
  cp "$(command -v busybox)" "$build/bin/busybox"
  cp "$here/initramfs-init.sh" "$build/init"
  for wanted in virtio_pci 9pnet_virtio 9p overlay; do modprobe -S "$kernel" --show-depends "$wanted"; done |
    awk '$1 == "insmod" { print $2 }' |
    while read -r module; do
      name=$(basename "$module")
      case $module in
      *.xz) xz -dc "$module" >"$build/modules/${name%.xz}" && name=${name%.xz} ;;
      *.zst) zstd -qdc "$module" >"$build/modules/${name%.zst}" && name=${name%.zst} ;;
      *) cp "$module" "$build/modules/$name" ;;
      esac
      grep -qx "$name" "$build/modules/order" 2>/dev/null || echo "$name" >>"$build/modules/order"
    done
  (cd "$build" && find . | busybox cpio -o -H newc | gzip -1) >"$initramfs.part"
  mv "$initramfs.part" "$initramfs"
  rm -rf "$build"
  trap - EXIT
fi

results=$(mktemp -d "${TMPDIR:-/tmp}/sandpod-cgroup2.XXXXXX")
trap 'rm -rf "$results"' EXIT
printf 'repo=%q\nsuites=%q\nrunsc=%q\n' "$repo" "$suites" "${RUNSC:-}" >"$results/plan"

cpu=max
[[ $accel == kvm ]] && cpu=host
echo "Booting Linux $kernel under qemu ($accel, 2 vCPUs, $memory) with cgroup v2 alone"
started=$(date +%s)
status=0
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
  -machine q35 -accel "$accel" -cpu "$cpu" -smp 2 -m "$memory" \
  -kernel "/boot/vmlinuz-$kernel" -initrd "$initramfs" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 cgroup_no_v1=all sandpod.guest=$here/guest.sh" \
  -fsdev "local,id=hostroot,path=/,security_model=passthrough,readonly=on,multidevs=remap" \
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
  -fsdev "local,id=results,path=$results,security_model=passthrough" \
  -device virtio-9p-pci,fsdev=results,mount_tag=results \
  -nodefaults -nic none -no-reboot -display none -monitor none -serial stdio </dev/null || status=$?
elapsed=$(($(date +%s) - started))

echo "--- cgroup v2 guest: qemu ended with $status after ${elapsed} s"
failed=0
[[ $status -eq 124 ]] && echo "the guest did not finish within ${timeout_s} s" && failed=1
[[ -e $results/done ]] || { echo "the guest did not run every suite to its end" && failed=1; }
for log in "$results"/*.log; do
  [[ -e $log ]] || continue
  label=$(basename "$log" .log)
  code=$(cat "$results/$label.rc" 2>/dev/null || echo none)
  echo "$label: exit code $code"
  grep -E '^ +[0-9]+ (passing|failing|pending)' "$log" || true
  [[ $code == 0 ]] || failed=1
done
exit "$failed"
