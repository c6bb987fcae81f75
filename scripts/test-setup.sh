#!/usr/bin/env bash
# Makes this machine ready for the test suite, and is the one place that knows how: `npm test`
# runs it first and CI (.ci/run) goes through `npm test` too. It installs only what is missing
# (Debian packages: PostgreSQL, ganeti-htools for hail and hbal, mount for losetup, QEMU), builds
# the test guest (scripts/build-test-guest.sh), starts
# PostgreSQL on 127.0.0.1:5432 with the `test` database, and makes loop device nodes. When all of
# that is already there it only looks, in well under a second. When something is missing and it
# cannot install it (not root, no apt-get), it says in one line what and how to get it, and fails.
set -uo pipefail
export DEBIAN_FRONTEND=noninteractive

DEFAULT_PG_URL='postgres://postgres@127.0.0.1:5432/test'
PG_URL=${OPL_TEST_PG_URL:-$DEFAULT_PG_URL}
HAIL=/usr/lib/ganeti/iallocators/hail
LOOP_DEVICES=16 # several suites attach loop devices at once, and `losetup -f` needs a free node

say() { printf 'test setup: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }
pg_answers() { command -v psql >/dev/null && psql -w -X -q "$PG_URL" -tAc 'select 1' >/dev/null 2>&1; }
# Only the default URL is ours to set up; another one belongs to whoever set OPL_TEST_PG_URL.
local_pg() { [ "$PG_URL" = "$DEFAULT_PG_URL" ]; }

# --- What is missing, as Debian packages -------------------------------------------------------
packages=()
needs=()
if local_pg; then
  if ! pg_answers; then
    if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
      packages+=(postgresql); needs+=('the PostgreSQL server')
    fi
    command -v psql >/dev/null || { packages+=(postgresql-client); needs+=(psql); }
  fi
elif ! command -v psql >/dev/null; then
  packages+=(postgresql-client); needs+=(psql)
fi
if [ ! -x "$HAIL" ] || ! command -v hbal >/dev/null; then packages+=(ganeti-htools); needs+=('hail and hbal'); fi
command -v losetup >/dev/null || { packages+=(mount); needs+=(losetup); }
# The cluster's certificate authority (node certificates for opl-noded) is run with it.
command -v openssl >/dev/null || { packages+=(openssl); needs+=(openssl); }
# Namespaced hosts (scripts/netns-cluster.sh): ip netns, veth pairs, a bridge.
command -v ip >/dev/null || { packages+=(iproute2); needs+=(ip); }

# Real guests (the QMP and kvm suites): QEMU, under TCG, and qemu-img for their disks.
command -v qemu-system-x86_64 >/dev/null || { packages+=(qemu-system-x86); needs+=(qemu-system-x86_64); }
command -v qemu-img >/dev/null || { packages+=(qemu-utils); needs+=(qemu-img); }

if [ ${#packages[@]} -gt 0 ]; then
  what="missing ${needs[*]} (Debian: ${packages[*]})"
  is_root || fail "$what; install them as root: apt-get install ${packages[*]}"
  command -v apt-get >/dev/null || fail "$what, and there is no apt-get here to install them with"
  say "installing ${packages[*]}"
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  # One update, only now that something must be installed; apt's chatter is shown only if it fails.
  apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; fail "$what, and apt-get update failed"; }
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >"$log" 2>&1 ||
    { cat "$log" >&2; fail "$what, and apt-get install ${packages[*]} failed"; }
  [ -x "$HAIL" ] || fail "ganeti-htools is installed but $HAIL is not there"
fi

# --- Loop devices: the block-storage suites attach real ones, which takes root ------------------
if [ ! -e /dev/loop-control ] || [ ! -e "/dev/loop$((LOOP_DEVICES - 1))" ]; then
  is_root || fail "missing loop device nodes under /dev; create them as root: mknod /dev/loop-control c 10 237; mknod /dev/loopN b 7 N"
  [ -e /dev/loop-control ] || mknod -m 660 /dev/loop-control c 10 237 || fail "could not create /dev/loop-control"
  for ((n = 0; n < LOOP_DEVICES; n++)); do
    [ -e "/dev/loop$n" ] || mknod -m 660 "/dev/loop$n" b 7 "$n" || fail "could not create /dev/loop$n"
  done
fi
[ -w /dev/loop-control ] || fail "the block-storage tests attach loop devices, which needs root: run the tests as root"

# --- The test guest: a Debian kernel and a busybox initramfs, built once into .cache/ ----------
bash "$(dirname "$0")/build-test-guest.sh" >/dev/null || fail "could not build the test guest (scripts/build-test-guest.sh)"

# --- PostgreSQL ----------------------------------------------------------------------------------
pg_answers && exit 0
local_pg || fail "OPL_TEST_PG_URL=$PG_URL does not answer; start that server, or unset OPL_TEST_PG_URL to use a local one"
version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)
[ -n "$version" ] || fail "the PostgreSQL server is not installed; as root: apt-get install postgresql"
is_root || fail "PostgreSQL does not answer on 127.0.0.1:5432 as postgres; as root: pg_ctlcluster --skip-systemctl-redirect $version main start"
if [ ! -d "/etc/postgresql/$version/main" ]; then
  say "creating PostgreSQL $version cluster main"
  pg_createcluster "$version" main >/dev/null || fail "pg_createcluster $version main failed"
fi

# Tests connect as postgres over TCP without a password, as on the project's machines.
hba="/etc/postgresql/$version/main/pg_hba.conf"
hba_changed=
if grep -Eq '^host\s+all\s+all\s+(127\.0\.0\.1/32|::1/128)\s+' "$hba" &&
  ! grep -Eq '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
  say "trusting local TCP connections in $hba"
  sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  hba_changed=1
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  say "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1
elif [ -n "$hba_changed" ]; then
  pg_ctlcluster --skip-systemctl-redirect "$version" main reload >/dev/null 2>&1
fi
# Bounded: a server that has not come up in a minute is not going to.
for _ in $(seq 1 120); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
pg_isready -q -h 127.0.0.1 -p 5432 || fail "PostgreSQL $version did not start; see /var/log/postgresql/postgresql-$version-main.log"

admin=(psql -w -X -q -h 127.0.0.1 -p 5432 -U postgres -d postgres -tA)
# A reload takes effect asynchronously; wait for trust to apply before giving up on it.
for _ in $(seq 1 20); do "${admin[@]}" -c 'select 1' >/dev/null 2>&1 && break; sleep 0.25; done
if [ "$("${admin[@]}" -c "select 1 from pg_database where datname = 'test'" 2>/dev/null)" != 1 ]; then
  say "creating database test"
  "${admin[@]}" -c 'CREATE DATABASE test' >/dev/null || fail "could not create database test as postgres on 127.0.0.1:5432"
fi
pg_answers || fail "PostgreSQL does not answer at $PG_URL"
