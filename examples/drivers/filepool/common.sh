# Shared by filepool's actions: volumes are sparse files in the pool's directory,
# given as the pool parameter dir (EXTP_DIR). Logical ids are INSTANCE.diskN, so a
# rename of the instance renames the volume too.
set -eu
if [ -z "${EXTP_DIR:-}" ]; then
  echo "filepool: the pool has no 'dir' parameter (add it with --pool-param dir=PATH)" >&2
  exit 2
fi
case "$EXTP_DIR" in /*) ;; *) echo "filepool: dir '$EXTP_DIR' must be an absolute path" >&2; exit 2 ;; esac
volume() { # the file behind a logical id, refusing ids that would leave the directory
  case "$1" in ''|*/*|.|..) echo "filepool: bad logical id '$1'" >&2; exit 2 ;; esac
  printf '%s/%s' "$EXTP_DIR" "$1"
}
