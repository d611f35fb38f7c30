#!/bin/busybox sh
# PID 1 of the cgroup v2 test guest, from its initramfs (test/cgroup2/run.sh builds it).
# Mounts the host's root read-only over 9p with a tmpfs on top for writes, so the guest runs the
# host's own node, runc, toolchains and checkout, then hands over to test/cgroup2/guest.sh there.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1

fail() {
  echo "cgroup2 guest: $*"
  poweroff -f
}

# Modules in the order `modprobe --show-depends` gave when the initramfs was built.
for module in $(cat /modules/order); do
  insmod "/modules/$module" || fail "cannot load $module"
done

guest_script=
for arg in $(cat /proc/cmdline); do
  case "$arg" in sandpod.guest=*) guest_script="${arg#sandpod.guest=}" ;; esac
done
[ -n "$guest_script" ] || fail "no sandpod.guest= on the kernel command line"

mkdir -p /host /writes /newroot
# cache=loose: the host's files do not change under the guest during a run, and a cache in the
# guest spares every read of node_modules a round trip through the emulated device.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /host ||
  fail "cannot mount the host root"
mount -t tmpfs -o mode=755 writes /writes
mkdir -p /writes/upper /writes/work
mount -t overlay -o lowerdir=/host,upperdir=/writes/upper,workdir=/writes/work overlay /newroot ||
  fail "cannot mount the overlay"
mkdir -p /newroot/mnt/sandpod-results
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=512000 results /newroot/mnt/sandpod-results ||
  fail "cannot mount the results folder"

umount /proc
umount -l /dev # still open as the console
exec switch_root /newroot /bin/bash "$guest_script"
