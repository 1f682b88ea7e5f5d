#!/usr/bin/env python3
"""tests/system/tar_diff.py A.tar B.tar — the members in which two tar archives differ.

Prints one line per member that is in only one archive or differs in type, mode, owner, mtime,
size, link target, extended (pax) headers or content (by sha256); exits 1 when any differs, 0
when the archives hold the same members. Used to say why two image builds are not identical.
"""
import hashlib
import sys
import tarfile


def members(path):
    """name -> the tuple of everything that makes a member what it is."""
    table = {}
    with tarfile.open(path) as archive:
        for info in archive:
            digest = ""
            if info.isfile():
                digest = hashlib.sha256(archive.extractfile(info).read()).hexdigest()
            table[info.name] = (info.type, oct(info.mode), info.uid, info.gid, info.mtime,
                                info.size, info.linkname, sorted(info.pax_headers.items()), digest)
    return table


FIELDS = ("type", "mode", "uid", "gid", "mtime", "size", "link", "pax", "sha256")


def main():
    if len(sys.argv) != 3:
        print("usage: tar_diff.py A.tar B.tar", file=sys.stderr)
        return 2
    a, b = members(sys.argv[1]), members(sys.argv[2])
    differ = 0
    for name in sorted(a.keys() | b.keys()):
        if name not in b:
            print(f"only in the first: {name}")
        elif name not in a:
            print(f"only in the second: {name}")
        elif a[name] != b[name]:
            fields = [f"{f} {x} != {y}" for f, x, y in zip(FIELDS, a[name], b[name]) if x != y]
            print(f"differs: {name}: " + "; ".join(fields))
        else:
            continue
        differ += 1
    print(f"{differ} member(s) differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
