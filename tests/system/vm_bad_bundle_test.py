#!/usr/bin/env python3
"""tests/system/vm_bad_bundle_test.py IMAGE_DIR — a bad bundle stops provisioning, and nothing starts.

Boots IMAGE_DIR/disk.raw with a bundle that lacks its tenant, passed the second way the
appliance accepts one: as the systemd credential `cordon.bundle` in an SMBIOS type 11 string.
The console must name the missing key, every daemon must fail on its dependency on
provisioning, and nothing may claim the tenant is provisioned.
"""

import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vm  # noqa: E402

BAD_BUNDLE = b'''bundle_version = 1
public_host = "cordon.test"

[auditors]
bearer_token_sha256 = ["0000000000000000000000000000000000000000000000000000000000000000"]

[agents]
bearer_token_sha256 = ["1111111111111111111111111111111111111111111111111111111111111111"]

[[approvers]]
name = "alice"
email = "alice@vmtest.invalid"
totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
'''


def main():
    image = sys.argv[1]
    work = tempfile.mkdtemp(prefix="cordon-vm-bad-")
    v = vm.Vm(image, os.path.join(work, "vm"), credentials={"cordon.bundle": BAD_BUNDLE})
    check = vm.Checks()
    try:
        v.start()
        m = v.wait_console(r"cordon-provision\[\d+\]: (cordon-provision: the bundle is not valid: [^\r\n]*)", 600)
        print("console:", m.group(1))
        check("tenant" in m.group(1), "the console names the missing key (tenant)")
        check("(read from the system credential" in m.group(1), "the console says the bundle came from the system credential")
        v.wait_console(r"cordon login:", 300)
        console = re.sub(r"\x1b\[[0-9;]*m", "", v.console())
        # systemd shortens each unit's description on the console; these are their ends.
        described = {"auditd": "the write-once audit ledger.", "secretsd": "key custody, signing and leases.",
                     "approvald": "policy, decisions and approvals.", "agentd": "executes agent actions."}
        for d, tail in described.items():
            check(re.search(r"Dependency failed for [^\n]*" + re.escape(tail), console) is not None,
                  "cordon-%s did not start: its dependency on provisioning failed" % d)
        check("Cordon is provisioned" not in console, "nothing claims the tenant is provisioned")
        check(re.search(r"Started [^\n]*Cordon (auditd|secretsd|approvald|agentd)", console) is None,
              "no daemon started")
    except Exception as error:  # a failure of the harness itself is a failure of the test
        check.broke(error, v)
    finally:
        v.stop()
        shutil.rmtree(work, ignore_errors=True)
    check.finish("vm bad bundle")


if __name__ == "__main__":
    main()
