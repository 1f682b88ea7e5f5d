#!/usr/bin/env bash
# tests/system/image_test.sh BUILD_DIR — the appliance's root file system, built twice.
#
# 1. image/build twice, into different directories, from the same lock and tree: rootfs.tar,
#    vmlinuz and initrd.img have the same sha256 (image/build itself fails if what it
#    installed differs from image/packages.lock).
# 2. What is in it: the cordon package with its units, the four daemons' system users with
#    distinct uids, and nothing the appliance does not need (no SSH server, no apt).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: image_test.sh BUILD_DIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

"$root/image/build" "$1" "$work/one" >"$work/one.log" 2>&1 || { cat "$work/one.log" >&2; exit 1; }
"$root/image/build" "$1" "$work/two" >"$work/two.log" 2>&1 || { cat "$work/two.log" >&2; exit 1; }
cat "$work/one/SHA256SUMS"
if diff "$work/one/SHA256SUMS" "$work/two/SHA256SUMS" >&2; then
  echo "reproducible: two builds are byte-identical"
else
  fail "two image builds differ"
fi

listing=$work/listing
tar tf "$work/one/rootfs.tar" >"$listing"
for path in ./usr/libexec/cordon/cordon-secretsd ./usr/libexec/cordon/cordon-agentd \
            ./usr/lib/systemd/system/cordon.target ./usr/lib/systemd/system/cordon-auditd-auditor.socket \
            ./usr/bin/cordonctl; do
  grep -q -F -x -- "$path" "$listing" || fail "missing from the image: $path"
done
grep -q '^\./boot/vmlinuz-' "$listing" || fail "no kernel in the image"
for path in ./usr/sbin/sshd ./usr/bin/apt ./usr/bin/apt-get; do
  if grep -q -F -x -- "$path" "$listing"; then fail "the image holds $path"; fi
done

tar xf "$work/one/rootfs.tar" -C "$work" ./etc/passwd ./etc/group
uids=()
for user in cordon-audit cordon-secrets cordon-approve cordon-agent; do
  uid=$(awk -F: -v u="$user" '$1 == u { print $3 }' "$work/etc/passwd")
  if [ -z "$uid" ]; then fail "no system user $user"; continue; fi
  echo "user: $user uid $uid"
  uids+=("$uid")
done
distinct=$(printf '%s\n' "${uids[@]}" | sort -u | wc -l)
[ "$distinct" -eq 4 ] || fail "the four daemon users do not have four distinct uids"
members=$(awk -F: '$1 == "cordon-secrets-clients" { print $4 }' "$work/etc/group" | tr , '\n' | sort | paste -sd,)
[ "$members" = "cordon-agent,cordon-approve,cordon-audit" ] || fail "cordon-secrets-clients holds '$members'"

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
echo "image: all checks passed"
