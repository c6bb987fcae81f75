#!/usr/bin/env bash
# A cluster of real hosts on one machine, for tests and labs: N+1 Linux network
# namespaces on a bridge (itself in a namespace of its own), each with its own address.
# Host 0 is the engine's; hosts 1..N each run opl-noded, joined to the cluster with a
# one-time token. Every address lives only inside these namespaces: nothing here sends
# anything to them from the root namespace (it would leave the machine by its route).
#
#   scripts/netns-cluster.sh up   PREFIX N WORKDIR   make the namespaces, start and join N daemons
#                                                    (WORKDIR/hI/node.json, if written before, is host I's)
#   scripts/netns-cluster.sh opl  PREFIX WORKDIR ARGS…   run opl in the engine's namespace
#   scripts/netns-cluster.sh down PREFIX WORKDIR     stop every daemon, delete every namespace (idempotent)
#
# PREFIX: up to 8 letters and digits (namespace names are PREFIX-br, PREFIX-h0…PREFIX-hN).
# The subnet is 10.231.0.0/16: host i is 10.231.(i/250).(i%250+1). Needs root and iproute2.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODE=${NODE:-$(command -v node)}
MAX_HOSTS=200
WAIT_STEPS=200 # × 0.05 s: a daemon has 10 s to say it waits to join

die() { echo "netns-cluster: $*" >&2; exit 2; }
check_prefix() { [[ $1 =~ ^[a-z][a-z0-9]{0,7}$ ]] || die "PREFIX '$1': expected up to 8 lower-case letters and digits, starting with a letter"; }
address_of() { echo "10.231.$(( $1 / 250 )).$(( $1 % 250 + 1 ))"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# The engine looks for a pool's driver in WORKDIR/drivers when the pool is added; each
# host's daemon runs it from there (its --driver-dir) when one of its disks needs it.
opl_in_engine() { local prefix=$1 work=$2; shift 2; OPL_STORAGE_DRIVER_PATH="$work/drivers" in_ns "$prefix-h0" "$NODE" "$ROOT/bin/opl.js" --data-dir "$work/engine" "$@"; }

up() {
  local prefix=$1 n=$2 work=$3
  check_prefix "$prefix"
  [[ $n =~ ^[0-9]+$ ]] && (( n >= 1 && n <= MAX_HOSTS )) || die "N '$n': expected 1 to $MAX_HOSTS node hosts"
  mkdir -p "$work"
  : > "$work/pids"
  ip netns add "$prefix-br"
  ip -n "$prefix-br" link add br0 type bridge
  ip -n "$prefix-br" link set br0 up
  local i
  for (( i = 0; i <= n; i++ )); do
    local ns="$prefix-h$i"
    ip netns add "$ns"
    ip link add "v$prefix$i" type veth peer name eth0 netns "$ns"
    ip link set "v$prefix$i" netns "$prefix-br"
    ip -n "$prefix-br" link set "v$prefix$i" master br0 up
    ip -n "$ns" addr add "$(address_of "$i")/16" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
  done
  # One shared file storage directory, the same file system on every host (namespaces
  # share the machine's mounts), given to every daemon as a storage directory.
  mkdir -p "$work/shared" "$work/drivers"
  opl_in_engine "$prefix" "$work" cluster init "$prefix" --shared-file-storage-dir "$work/shared" > /dev/null
  opl_in_engine "$prefix" "$work" group add g1 > /dev/null
  for (( i = 1; i <= n; i++ )); do start_node "$prefix" "$work" "$i" & done
  wait
  for (( i = 1; i <= n; i++ )); do
    opl_in_engine "$prefix" "$work" node add "h$i" --group g1 --address "$(address_of "$i")" >> "$work/engine.log" 2>&1 \
      || die "host h$i did not join: $(tail -n 3 "$work/engine.log") $(cat "$work/h$i.err")"
  done
  echo "up: engine in $prefix-h0 ($(address_of 0)), $n nodes h1..h$n joined; data dir $work/engine"
}

# Starts host I's daemon with a fresh token and waits (bounded) until it waits to join.
start_node() {
  local prefix=$1 work=$2 i=$3
  local token
  token=$(opl_in_engine "$prefix" "$work" node token "h$i" 2> /dev/null)
  # A host whose node.json was written beforehand (a bench giving it kvm guests) keeps it.
  local config=(--name "h$i" --storage-dir "$work/shared" --driver-dir "$work/drivers")
  [[ -f $work/h$i/node.json ]] && config=()
  OPL_JOIN_TOKEN=$token setsid ip netns exec "$prefix-h$i" "$NODE" "$ROOT/bin/opl-noded.js" --dir "$work/h$i" "${config[@]}" \
    --listen "$(address_of "$i"):1811" > "$work/h$i.out" 2> "$work/h$i.err" < /dev/null &
  echo "h$i $!" >> "$work/pids"
  local step
  for (( step = 0; step < WAIT_STEPS; step++ )); do
    grep -q '^waiting to join' "$work/h$i.out" 2> /dev/null && return 0
    sleep 0.05
  done
  die "host h$i's opl-noded did not start within $(( WAIT_STEPS / 20 )) s: $(cat "$work/h$i.err")"
}

down() {
  local prefix=$1 work=$2
  check_prefix "$prefix"
  if [[ -f $work/pids ]]; then
    local name pid
    while read -r name pid; do kill -TERM "$pid" 2> /dev/null || true; kill -CONT "$pid" 2> /dev/null || true; done < "$work/pids"
  fi
  # Anything still running in a namespace of ours (a frozen daemon, a stray child) is killed with it.
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^$prefix-(br|h[0-9]+)$" || true); do
    local pids
    pids=$(ip netns pids "$ns" 2> /dev/null || true)
    [[ -n $pids ]] && kill -KILL $pids 2> /dev/null || true
    ip netns delete "$ns" 2> /dev/null || true
  done
  rm -f "$work/pids"
}

case ${1:-} in
  up) (( $# == 4 )) || die "usage: up PREFIX N WORKDIR"; up "$2" "$3" "$4" ;;
  opl) (( $# >= 3 )) || die "usage: opl PREFIX WORKDIR ARGS..."; prefix=$2 work=$3; shift 3; opl_in_engine "$prefix" "$work" "$@" ;;
  down) (( $# == 3 )) || die "usage: down PREFIX WORKDIR"; down "$2" "$3" ;;
  *) die "usage: $0 up PREFIX N WORKDIR | opl PREFIX WORKDIR ARGS... | down PREFIX WORKDIR" ;;
esac
