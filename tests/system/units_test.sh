#!/usr/bin/env bash
# tests/system/units_test.sh BUILD_DIR — the appliance's units, checked on the package itself.
#
# 1. image/build-deb twice, into different directories: the two packages are byte-identical.
# 2. `systemd-analyze verify` of every Cordon unit, in a root holding the package and this
#    Debian 12's own units: exit 0 and no output at all (an unknown key only warns, so a
#    warning fails the test too).
# 3. `systemd-analyze security --offline=yes` exposure: secretsd, approvald and auditd ≤ 1.0,
#    agentd ≤ 2.0 (DESIGN.md §9). With the network drop-in that provisioning adds for a network
#    sink or webhooks, auditd and approvald score 1.2, above DESIGN's 1.0 (a gap recorded in
#    docs/SECURITY.md); the test holds them at 1.2 so the gap can't silently widen.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: units_test.sh BUILD_DIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# 1. A reproducible package.
deb_a=$("$root/image/build-deb" "$build" "$work/a")
deb_b=$("$root/image/build-deb" "$build" "$work/b")
sum_a=$(sha256sum <"$deb_a" | cut -d' ' -f1)
sum_b=$(sha256sum <"$deb_b" | cut -d' ' -f1)
echo "package: $(basename "$deb_a") sha256 $sum_a (second build: $sum_b)"
[ "$sum_a" = "$sum_b" ] || fail "two package builds differ: $sum_a vs $sum_b"

# 2. verify, in a root of this Debian's units plus the package.
vroot=$work/root
mkdir -p "$vroot/usr/bin" "$vroot/etc"
dpkg-deb -x "$deb_a" "$vroot"
ln -s usr/bin "$vroot/bin"
ln -s usr/lib "$vroot/lib"
cp -an /usr/lib/systemd/system/. "$vroot/usr/lib/systemd/system/"
cp /usr/bin/kill "$vroot/usr/bin/"
units=()
for unit in "$vroot"/usr/lib/systemd/system/cordon*; do units+=("$unit"); done
[ ${#units[@]} -ge 13 ] || fail "expected at least 13 Cordon units in the package, found ${#units[@]}"
if ! output=$(systemd-analyze verify --root="$vroot" "${units[@]}" 2>&1); then
  fail "systemd-analyze verify failed: $output"
elif [ -n "$output" ]; then
  fail "systemd-analyze verify is not clean: $output"
else
  echo "verify: ${#units[@]} units clean"
fi

# 3. Exposure, each unit against its limit.
exposure() { # UNIT_FILE -> the overall exposure number
  { systemd-analyze security --offline=yes --root="$vroot" "$1" 2>&1 || true; } |
    sed -n 's/^→ Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
check() { # NAME UNIT_FILE LIMIT
  local level
  level=$(exposure "$2")
  if [ -z "$level" ]; then fail "$1: no exposure level reported"; return; fi
  echo "exposure: $1 $level (limit $3)"
  awk -v l="$level" -v m="$3" 'BEGIN { exit !(l <= m) }' || fail "$1: exposure $level above $3"
}
units_dir=$vroot/usr/lib/systemd/system
check cordon-secretsd "$units_dir/cordon-secretsd.service" 1.0
check cordon-approvald "$units_dir/cordon-approvald.service" 1.0
check cordon-auditd "$units_dir/cordon-auditd.service" 1.0
check cordon-agentd "$units_dir/cordon-agentd.service" 2.0
for daemon in auditd approvald; do
  # The unit as provisioning leaves it: the shipped file plus the network drop-in.
  merged=$units_dir/cordon-$daemon-network.service
  cat "$units_dir/cordon-$daemon.service" "$vroot/usr/share/cordon/network.d/cordon-$daemon.conf" >"$merged"
  echo "IPAddressAllow=192.0.2.10" >>"$merged"
  check "cordon-$daemon with network" "$merged" 1.2
done

# The check can fail: a unit with its sandbox removed is over the limit.
bare=$units_dir/cordon-bare.service
grep -v -e '^Private' -e '^Protect' -e '^Restrict' -e '^SystemCall' -e '^Capability' "$units_dir/cordon-secretsd.service" >"$bare"
level=$(exposure "$bare")
awk -v l="$level" 'BEGIN { exit !(l > 1.0) }' || fail "a secretsd unit without its sandbox scored $level, not above 1.0"

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
echo "units: all checks passed"
