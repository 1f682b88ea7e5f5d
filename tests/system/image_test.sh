#!/usr/bin/env bash
# tests/system/image_test.sh BUILD_DIR IMAGE_DIR — the appliance image, built a second time.
#
# 1. IMAGE_DIR holds an image/build output (the system.image.build test writes it); image/build
#    again, into another directory, from the same lock and tree: disk.raw, rootfs.tar, vmlinuz
#    and initrd.img have the same sha256 (image/build itself fails if what it installed differs
#    from image/packages.lock).
# 2. The disk: a GPT with the ESP, the EROFS root and the ext4 state partition, by label.
# 3. What is in it: the cordon package with its units, the four daemons' system users with
#    distinct uids, and nothing the appliance does not need (no SSH server, no apt).
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: image_test.sh BUILD_DIR IMAGE_DIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
one=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

"$root/image/build" "$1" "$work/two" >"$work/two.log" 2>&1 || { cat "$work/two.log" >&2; exit 1; }
cat "$one/SHA256SUMS"
if diff "$one/SHA256SUMS" "$work/two/SHA256SUMS" >&2; then
  echo "reproducible: two builds are byte-identical"
else
  fail "two image builds differ"
  python3 "$root/tests/system/tar_diff.py" "$one/rootfs.tar" "$work/two/rootfs.tar" >&2 || true
fi
rm -rf "$work/two"

table=$(sfdisk --dump "$one/disk.raw")
for part in "type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B.*name=\"cordon-esp\"" \
            "type=0FC63DAF-8483-4772-8E79-3D69D8477DE4.*name=\"cordon-root\"" \
            "type=0FC63DAF-8483-4772-8E79-3D69D8477DE4.*name=\"cordon-state\""; do
  grep -q -E "$part" <<<"$table" || fail "the disk has no partition matching $part"
done
[ "$(grep -c '^/' <<<"$table")" -eq 3 ] || fail "the disk does not have exactly three partitions"

listing=$work/listing
tar tf "$one/rootfs.tar" >"$listing"
for path in ./usr/libexec/cordon/cordon-secretsd ./usr/libexec/cordon/cordon-agentd \
            ./usr/lib/systemd/system/cordon.target ./usr/lib/systemd/system/cordon-auditd-auditor.socket \
            ./usr/bin/cordonctl; do
  grep -q -F -x -- "$path" "$listing" || fail "missing from the image: $path"
done
grep -q '^\./boot/vmlinuz-' "$listing" || fail "no kernel in the image"
tar xf "$one/rootfs.tar" -C "$work" ./etc/passwd ./etc/group ./etc/resolv.conf
# mmdebstrap copies the build host's resolv.conf in; the image must carry its own instead.
cmp -s "$work/etc/resolv.conf" "$root/image/rootfs/etc/resolv.conf" ||
  fail "the image's /etc/resolv.conf is not image/rootfs/etc/resolv.conf"
if grep -q '\.deb$' "$listing"; then fail "the image holds a package file: $(grep '\.deb$' "$listing" | head -1)"; fi
for path in ./usr/sbin/sshd ./usr/bin/apt ./usr/bin/apt-get; do
  if grep -q -F -x -- "$path" "$listing"; then fail "the image holds $path"; fi
done

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
