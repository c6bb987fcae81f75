# Shared by looppool's actions: a SAN stand-in. Volumes are sparse files in the
# pool's directory (pool parameter dir, EXTP_DIR); attach exposes one as a real loop
# block device and prints its path, detach releases it. Logical ids are
# INSTANCE.diskN. Needs root (losetup).
set -eu
if [ -z "${EXTP_DIR:-}" ]; then
  echo "looppool: the pool has no 'dir' parameter (add it with --pool-param dir=PATH)" >&2
  exit 2
fi
case "$EXTP_DIR" in /*) ;; *) echo "looppool: dir '$EXTP_DIR' must be an absolute path" >&2; exit 2 ;; esac
volume() {
  case "$1" in ''|*/*|.|..) echo "looppool: bad logical id '$1'" >&2; exit 2 ;; esac
  printf '%s/%s' "$EXTP_DIR" "$1"
}
loops_of() { losetup -j "$1" | cut -d: -f1; }
