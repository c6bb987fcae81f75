#!/usr/bin/env bash
# Builds the guest the QEMU tests boot, from Debian packages only (the machine's own apt
# sources; nothing is downloaded from anywhere else): the Debian cloud kernel and an
# initramfs holding busybox-static, the virtio modules and an init that, once a second,
# writes an increasing counter to the start of its first disk (/dev/vda) and prints it on
# the serial console ("opl-counter N"). It starts from the counter the disk holds, so a
# guest moved or restarted with the same disk never counts back. Booted with
# `opl.dirty=N` on its kernel command line (N MiB, at most 1024), it also keeps N MiB of
# its memory dirty: it fills them once, then rewrites 8 MiB of them every quarter of a
# second in turn (about 32 MiB/s, within QEMU's default migration bandwidth, so a live
# migration of it converges), saying "opl-guest: dirtying N MiB" once they are full.
#
#   scripts/build-test-guest.sh [OUTDIR]     default OUTDIR: .cache/test-guest
#
# Writes OUTDIR/vmlinuz and OUTDIR/initramfs.img, and OUTDIR/kernel-version. Does nothing
# when they are there and the kernel package is the one apt would give now. Needs
# apt-get (download only: nothing is installed) and dpkg-deb; the archive is made with
# the downloaded busybox's own cpio.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/.cache/test-guest}
# Bumped whenever the init below changes, so a guest built by older code is built again.
INIT_VERSION=3
# The order they load in; button and evdev let busybox's acpid see the ACPI power button.
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk button evdev)

die() { echo "build-test-guest: $*" >&2; exit 1; }
command -v apt-get > /dev/null || die "apt-get is missing: the guest is built from Debian packages"
command -v dpkg-deb > /dev/null || die "dpkg-deb is missing (Debian: dpkg)"

# The kernel package the cloud meta-package points at now, e.g. linux-image-6.1.0-57-cloud-amd64.
kernel_package() { apt-cache depends linux-image-cloud-amd64 2> /dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n 1; }
kernel_pkg=$(kernel_package)
if [ -z "$kernel_pkg" ] && [ "$(id -u)" -eq 0 ]; then
  # A machine whose package lists were never fetched: fetch them once.
  apt-get update -qq > /dev/null 2>&1 || true
  kernel_pkg=$(kernel_package)
fi
[ -n "$kernel_pkg" ] || die "apt knows no linux-image-cloud-amd64 (apt-get update, as root, fetches the package lists)"
version=${kernel_pkg#linux-image-}
if [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initramfs.img" ] && [ "$(cat "$OUT/kernel-version" 2> /dev/null)" = "$version" ] && [ "$(cat "$OUT/init-version" 2> /dev/null)" = "$INIT_VERSION" ]; then
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt's sandbox user cannot write into root's temp dir; the download itself is the same.
(cd "$work" && apt-get download -q "$kernel_pkg" busybox-static > "$work/apt.log" 2>&1) || { cat "$work/apt.log" >&2; die "apt-get download $kernel_pkg busybox-static failed"; }
dpkg-deb -x "$work"/linux-image-*.deb "$work/kernel"
dpkg-deb -x "$work"/busybox-static_*.deb "$work/busybox"

init=$work/initramfs
mkdir -p "$init"/{bin,dev,proc,sys,lib/modules}
cp "$work/busybox/bin/busybox" "$init/bin/busybox"
for m in "${MODULES[@]}"; do
  ko=$(find "$work/kernel/lib/modules/$version" -name "$m.ko" -print -quit)
  [ -n "$ko" ] || die "module $m is not in $kernel_pkg"
  cp "$ko" "$init/lib/modules/$m.ko"
done
cat > "$init/init" << 'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk button evdev; do
  insmod "/lib/modules/$m.ko" 2> /dev/null
done
# The power button (ACPI, as `instance shutdown` presses it) ends the guest at once.
mkdir -p /var/log /var/run
acpid -c /etc/acpi -l /var/log/acpid.log
# opl.dirty=N: N MiB of memory (tmpfs) filled with non-zero bytes, then rewritten 8 MiB at
# a time, four times a second, for as long as the guest runs.
dirty=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^opl\.dirty=\([0-9]\{1,4\}\)$/\1/p')
if [ -n "$dirty" ] && [ "$dirty" -ge 8 ] && [ "$dirty" -le 1024 ]; then
  mkdir -p /dirty && mount -t tmpfs -o size=$((dirty + 16))m tmpfs /dirty
  (
    # One 8 MiB chunk made by yes, the rest copied from it: a copy is far quicker under TCG.
    yes opl-dirty | head -c 8388608 > /dirty/template
    chunks=$((dirty / 8)) c=0
    while [ "$c" -lt "$chunks" ]; do cp /dirty/template "/dirty/$c"; c=$((c + 1)); done
    echo "opl-guest: dirtying $dirty MiB"
    while true; do
      c=0
      while [ "$c" -lt "$chunks" ]; do cp /dirty/template "/dirty/$c"; c=$((c + 1)); sleep 0.25; done
    done
  ) &
fi
i=0
while [ ! -b /dev/vda ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -b /dev/vda ]; then
  echo "opl-guest: no /dev/vda, counting nowhere"
  while true; do sleep 3600; done
fi
# The counter the disk holds (its first 32 bytes: "opl-counter 0000000000000042"); leading
# zeros would make the shell read it as octal.
n=$(dd if=/dev/vda bs=32 count=1 2> /dev/null | tr -dc '0-9' | sed 's/^0*//')
n=${n:-0}
echo "opl-guest: up, the disk says $n"
while true; do
  n=$((n + 1))
  printf 'opl-counter %016d\n' "$n" | dd of=/dev/vda bs=32 count=1 conv=notrunc,fsync 2> /dev/null
  echo "opl-counter $n"
  sleep 1
done
EOF
chmod 755 "$init/init"
mkdir -p "$init/etc/acpi/PWRF"
printf '#!/bin/sh\npoweroff -f\n' > "$init/etc/acpi/PWRF/00000080"
chmod 755 "$init/etc/acpi/PWRF/00000080"

mkdir -p "$OUT"
(cd "$init" && find . | "$work/busybox/bin/busybox" cpio -o -H newc 2> /dev/null | gzip -1) > "$OUT/initramfs.img.new"
cp "$work/kernel/boot/vmlinuz-$version" "$OUT/vmlinuz.new"
mv "$OUT/initramfs.img.new" "$OUT/initramfs.img"
mv "$OUT/vmlinuz.new" "$OUT/vmlinuz"
echo "$version" > "$OUT/kernel-version"
echo "$INIT_VERSION" > "$OUT/init-version"
echo "build-test-guest: $OUT (kernel $version)"
