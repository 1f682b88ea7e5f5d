#!/usr/bin/env python3
"""tests/system/vm_offboard_test.py IMAGE_DIR BUILD_DIR — offboarding a provisioned appliance.

Boots IMAGE_DIR/disk.raw with a TPM and a bundle, lets it provision and record a run, then:

1. with the VM off, the TPM (read from the host with tpm2-tools) holds Cordon's storage parent;
2. `cordonctl offboard --tenant ID --confirm ID --to DIR` on the console succeeds, DIR being on
   a customer's volume (an ext4 disk the test attached and the operator mounted), and every
   check it prints passed;
3. checked again independently on the console: no Cordon state, configuration, drop-in,
   credential or socket directory; no Cordon unit active or enabled; no journal entry of a
   Cordon unit; the tenant's id, a secret's value and the approver's TOTP seed appear nowhere
   under /etc, /var or /run (journal files included);
4. the exported log, read on the host from the volume's image (debugfs), verifies offline with
   cordon-audit against the verifier key the console printed at first boot, and ends with
   `tenant.offboarded`;
5. with the VM off again, the TPM holds no object at Cordon's handle.
"""

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vm  # noqa: E402

TENANT = "offboardtest"
PARENT_HANDLE = 0x81000C0D
check = vm.Checks()


def bundle(totp, secret_value):
    password = vm.console_password_hash()
    return f'''bundle_version = 1
tenant = "{TENANT}"
public_host = "cordon.test"
san = ["127.0.0.1"]

[admin]
console_password_sha512 = "{password}"

[kek]
custody = "tpm"

[auditors]
bearer_token_sha256 = ["{hashlib.sha256(secrets.token_bytes(16)).hexdigest()}"]

[agents]
bearer_token_sha256 = ["{hashlib.sha256(secrets.token_bytes(16)).hexdigest()}"]

[[approvers]]
name = "alice"
email = "alice@vmtest.invalid"
totp_secret = "{totp}"

[[secrets]]
name = "demo-token"
tools = ["http.request"]
value = "{secret_value}"
'''


def wait_running(v, label):
    states = vm.wait_daemons_active(v)
    check(states == ["active"] * 4, "%s: all four daemons are active (%s)" % (label, " ".join(states)))


def power_cycle(v):
    v.close_shell()
    v.kill()
    v.tpm.stop()


def main():
    image, build = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="cordon-vm-off-")
    totp = base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")
    secret_value = "offboard-secret-%s" % secrets.token_hex(8)
    volume = os.path.join(work, "export.img")
    subprocess.run(["truncate", "-s", "64M", volume], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-L", "CUSTOMER-EXPORT", volume], check=True)
    v = vm.Vm(image, os.path.join(work, "vm"), bundle_text=bundle(totp, secret_value), extra_drives=[volume])
    try:
        v.start()
        m = v.wait_console(r"Cordon is provisioned for tenant %s\.(?s:.*?)verifier key:\s+(\S+)" % TENANT, 600)
        key = m.group(1)
        v.login()
        wait_running(v, "first boot")
        run = v.out("cordonctl runs register --agent release-bot --task 'Summarise the release'").split()[0]
        check(run.startswith("r-"), "a run is registered: %s" % run)

        # 1. The TPM holds Cordon's storage parent (so the check in 5 can fail).
        power_cycle(v)
        handles = v.tpm.persistent_handles()
        check(PARENT_HANDLE in handles, "before offboarding the TPM holds 0x%08x: %s" % (PARENT_HANDLE, [hex(h) for h in handles]))
        since = len(v.console())
        v.start()
        v.wait_console(r"cordon login:", 600, since=since)
        v.login()
        wait_running(v, "after power-on")

        # 2. Offboarding.
        v.run("mkdir -p /tmp/customer && mount /dev/disk/by-label/CUSTOMER-EXPORT /tmp/customer")
        rc, out = v.run("cordonctl offboard --tenant %s --confirm %s --to /tmp/customer/final" % (TENANT, TENANT),
                        timeout=300, check=False)
        print(out)
        check(rc == 0, "cordonctl offboard succeeds (exit %d)" % rc)
        check("FAIL" not in out and out.count("ok: ") >= 6, "every check offboarding printed passed (%d)" % out.count("ok: "))
        check("no TPM object at 0x81000c0d" in out, "offboarding checked the TPM object")

        # 3. Independently, on the console.
        for path in ("/var/lib/cordon", "/etc/cordon", "/run/cordon"):
            rc, _ = v.run("test -e %s" % path, check=False)
            check(rc != 0, "%s is gone" % path)
        left = v.run("ls /etc/systemd/system /run/credentials | grep -i cordon", check=False)[1].strip()
        check(left == "", "no Cordon drop-in, enablement or credential directory: %r" % left)
        active = v.run("systemctl list-units --all --plain --no-legend --state=active,activating 'cordon*'", check=False)[1].strip()
        check(active == "", "no Cordon unit is active: %r" % active)
        enabled = v.run("systemctl is-enabled cordon.target", check=False)[1].strip()
        check(enabled == "disabled", "cordon.target is disabled: %s" % enabled)
        journal = v.run("journalctl --no-pager -o export | grep -a -E '^(_SYSTEMD_UNIT|UNIT|OBJECT_SYSTEMD_UNIT)=cordon' | head -5",
                        check=False)[1].strip()
        check(journal == "", "no journal entry of a Cordon unit: %r" % journal[:300])
        for what, needle in (("the tenant's id", TENANT), ("the secret's value", secret_value), ("the TOTP seed", totp)):
            found = v.run("grep -a -r -l -F %s /etc /var /run 2>/dev/null | head -5" % needle, check=False)[1].strip()
            check(found == "", "%s appears nowhere under /etc, /var or /run: %r" % (what, found))

        # 4. The export, read from the volume on the host and verified there.
        v.run("umount /tmp/customer")
        power_cycle(v)
        copy = os.path.join(work, "export")
        os.makedirs(copy)
        subprocess.run(["debugfs", "-R", "rdump /final %s" % copy, volume], check=True, capture_output=True)
        copy = os.path.join(copy, "final")
        verify = subprocess.run([os.path.join(build, "bin", "cordon-audit"), "verify", "--dir", copy, "--key", key,
                                 "--origin", "%s.cordon.local/audit" % TENANT], capture_output=True, text=True)
        check(verify.returncode == 0, "the exported log verifies offline with the console's verifier key (%s)"
              % (verify.stdout + verify.stderr).strip()[-300:])
        with open(os.path.join(copy, "events.jsonl")) as f:
            kinds = [json.loads(line).get("kind") for line in f if line.strip()]
        check(kinds and kinds[-1] == "tenant.offboarded", "the exported log ends with tenant.offboarded (%s)" % kinds[-1:])
        check("run.registered" in kinds and "tenant.provisioned" in kinds, "it holds the tenant's whole history")

        # 5. The TPM object is gone.
        handles = v.tpm.persistent_handles()
        check(PARENT_HANDLE not in handles, "after offboarding the TPM holds no object at 0x%08x: %s"
              % (PARENT_HANDLE, [hex(h) for h in handles]))
    except Exception as error:  # a failure of the harness itself is a failure of the test
        check.broke(error, v)
    finally:
        v.stop()
        if os.environ.get("CORDON_KEEP_VM") == "1":
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    check.finish("vm offboard")


if __name__ == "__main__":
    main()
