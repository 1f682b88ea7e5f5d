#!/usr/bin/env python3
"""tests/system/vm_test.py IMAGE_DIR BUILD_DIR — the appliance, booted.

Boots IMAGE_DIR/disk.raw (image/build) in qemu with a software TPM and a config drive holding a
provisioning bundle, then checks, from the host and on the operator's console:

1. first boot provisions the tenant: the console shows the verifier key and URLs, all four
   daemons are active, and `cordonctl status` says so, with the mode, KEK custody and ledger;
2. four distinct users run them; secretsd's network namespace is not agentd's and holds only
   loopback (so does auditd's); approvald, which has a webhook, may reach that address only;
3. agentd's user can't read another daemon's state, can't use secretsd's admin API (the
   daemon's peer check refuses it), and a user outside the socket groups can't even connect;
4. a gated action from the host: the operator registers a run on the console; an agent on the
   host calls fs.write over MCP through the forwarded agent port (bearer token); the call is
   held, the approver's link arrives at a webhook receiver on the host, the approver approves
   on the approval page through the forwarded HTTPS port with a TOTP code, and the same call
   then executes in the VM;
5. the auditor pulls the ledger through the forwarded HTTPS port (bearer token, the pinned
   certificate) and cordon-audit verifies it offline against the verifier key the console
   printed; `tenant.provisioned` is in it with the key fingerprints, and the gated action is in
   it from proposal to execution;
6. auditd killed with SIGKILL is restarted by systemd, and nothing it acknowledged is lost;
7. after a power cut (the TPM keeps its state, its PCRs reset) secretsd unseals its KEK again,
   the daemons come back without provisioning again, the secrets are still listed, and the
   ledger, pulled again, extends the first copy consistently and verifies;
8. after a TPM reset secretsd refuses to start, saying the TPM is why; `cordonctl status` names
   it and fails, and the gate stays closed: an allowed read from the host is refused, not run.

CORDON_KEEP_VM=1 keeps the VM's directory (console log, disk overlay, TPM state) for a look.
"""

import hashlib
import json
import os
import re
import secrets
import shlex
import base64
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import remote_agent  # noqa: E402
import vm  # noqa: E402

DAEMONS = ["auditd", "secretsd", "approvald", "agentd"]
USERS = {"auditd": "cordon-audit", "secretsd": "cordon-secrets", "approvald": "cordon-approve", "agentd": "cordon-agent"}
check = vm.Checks()


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


def toml_string(text):
    return json.dumps(text)  # a JSON string is a TOML basic string


def bundle(auditor_token, agent_token, totp, receiver, webhook_key):
    # Live at once: the gated action below really writes (dry_run_days > 0 would simulate it).
    return f'''bundle_version = 1
tenant = "vmtest"
public_host = "cordon.test"
san = ["127.0.0.1", "10.0.2.15"]
dry_run_days = 0

[admin]
console_password_sha512 = "{vm.console_password_hash()}"

[kek]
custody = "tpm"

[auditors]
bearer_token_sha256 = ["{sha256_hex(auditor_token)}"]

[agents]
bearer_token_sha256 = ["{sha256_hex(agent_token)}"]

[[approvers]]
name = "alice"
email = "alice@vmtest.invalid"
groups = ["approvers", "reviewers"]
totp_secret = "{totp}"

[[webhooks]]
type = "generic"
url = "{receiver.url()}"
address = "{remote_agent.HOST_FROM_GUEST}"
secret = "{webhook_key}"
ca = {toml_string(receiver.cert_pem)}

[[secrets]]
name = "demo-token"
tools = ["http.request"]
value = "demo-secret-value-{secrets.token_hex(8)}"
'''


def main_pids(v):
    pids = {}
    for d in DAEMONS:
        pids[d] = v.out("systemctl show -P MainPID cordon-%s.service" % d).strip()
    return pids


def check_running(v, label, timeout=180):
    """All four daemons active (polling: the console's login prompt can come before them)."""
    states = vm.wait_daemons_active(v, timeout)
    check(states == ["active"] * 4, "%s: all four daemons are active (%s)" % (label, " ".join(states)))


def pull_and_verify(build, v, copy, ca, token_file, key, label):
    url = "https://127.0.0.1:%d" % v.auditor_port
    audit = os.path.join(build, "bin", "cordon-audit")
    pull = subprocess.run([audit, "pull", "--url", url, "--ca", ca, "--token-file", token_file, "--dir", copy],
                          capture_output=True, text=True)
    check(pull.returncode == 0, "%s: cordon-audit pull through the forwarded port (%s)" % (label, (pull.stdout + pull.stderr).strip()[-300:]))
    verify = subprocess.run([audit, "verify", "--dir", copy, "--key", key, "--origin", "vmtest.cordon.local/audit"],
                            capture_output=True, text=True)
    check(verify.returncode == 0, "%s: cordon-audit verify offline with the console's verifier key (%s)"
          % (label, (verify.stdout + verify.stderr).strip()[-300:]))


def events(build, copy):
    out = subprocess.run([os.path.join(build, "bin", "cordon-audit"), "export", "--dir", copy],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def gated_action(v, ca, agent_token, totp, receiver):
    """Step 4; the id of the decision that allowed the call."""
    task = "Write the release note to release.txt"
    registered = v.out("cordonctl runs register --agent release-bot --task %s" % shlex.quote(task))
    run_id = registered.split()[0]
    check(run_id.startswith("r-"), "the operator registers a run on the console: %s" % run_id)
    agent = remote_agent.McpAgent("https://127.0.0.1:%d/mcp" % v.agent_port, ca, agent_token, run_id)
    info = agent.initialize()
    check(info.get("serverInfo", {}).get("name") == "cordon-agentd", "the agent on the host opens an MCP session over HTTPS")
    status, _, _ = remote_agent.https("https://127.0.0.1:%d/v1/runs" % v.agent_port, ca, "POST",
                                      json.dumps({"agent": "rogue", "task": "anything"}).encode(),
                                      {"Authorization": "Bearer " + agent_token, "Content-Type": "application/json"})
    check(status == 403, "the agent can't register runs over HTTPS (%d)" % status)
    status, _, _ = remote_agent.https("https://127.0.0.1:%d/v1/status" % v.agent_port, ca)
    check(status == 401, "without the token the agent port answers 401 (%d)" % status)

    arguments = {"path": "release.txt", "content": "Cordon 0.1: the gate holds.\n"}
    held = agent.call("fs.write", arguments)
    approval_id = held.get("structuredContent", {}).get("approval_id", "")
    check(held.get("isError") is True and approval_id.startswith("a-"), "the write is held for a human: %s" % approval_id)
    exists = v.run("test -e /var/lib/cordon/workspace/release.txt", check=False)[0]
    check(exists != 0, "nothing is written while the call is held")

    delivery = receiver.wait_for("approval.requested", approval_id)
    check(receiver.bad_signatures == 0, "the webhook's deliveries are signed with its key")
    link = next(l["url"] for l in delivery.get("links", []) if l.get("approver") == "alice")
    local = re.sub(r"^https://[^/]+", "https://127.0.0.1:%d" % v.https_port, link)
    page, answered, answer = remote_agent.approve(local, ca, totp)
    check(page == 200 and answered == 200 and remote_agent.page_state(answer) == "approved",
          "alice approves on the page through the forwarded HTTPS port (%d, %d, %s)" % (page, answered, remote_agent.page_state(answer)))

    done = agent.call("fs.write", arguments)
    check(done.get("isError") is False, "the same call, made again, executes: %s" % json.dumps(done)[:300])
    written = v.out("cat /var/lib/cordon/workspace/release.txt")
    check(written == arguments["content"], "the file is written in the VM's workspace: %r" % written)
    return done.get("_meta", {}).get("cordon/decision_id", "")


def main():
    image, build = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="cordon-vm-")
    keep = os.environ.get("CORDON_KEEP_VM") == "1"
    token = secrets.token_hex(24)
    token_file = os.path.join(work, "auditor.token")
    with open(token_file, "w") as f:
        f.write(token)
    agent_token = secrets.token_hex(24)
    totp = base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")
    webhook_key = secrets.token_hex(16)
    receiver = remote_agent.WebhookReceiver(work, webhook_key)
    v = vm.Vm(image, os.path.join(work, "vm"), bundle_text=bundle(token, agent_token, totp, receiver, webhook_key))
    try:
        # 1. First boot.
        v.start()
        m = v.wait_console(r"Cordon is provisioned for tenant vmtest\.(?s:.*?)verifier key:\s+(\S+)", 600)
        key = m.group(1)
        print("first boot: provisioned %.0f s after power-on; verifier key %s" % (time.monotonic() - v.powered_on, key))
        v.login()
        check_running(v, "first boot")
        rc, status = v.run("cordonctl status", check=False)
        check(rc == 0 and status.count(" answers\n") == 4 and "unit active" in status,
              "cordonctl status: all four daemons active and answering:\n%s" % status)
        check("mode:              live" in status and "KEK custody:       tpm" in status and "ledger:" in status,
              "cordonctl status shows the mode, the KEK custody and the ledger")

        # 2. Users and network namespaces.
        pids = main_pids(v)
        users = {d: v.out("stat -c %%U /proc/%s" % pids[d]).strip() for d in DAEMONS}
        check(users == USERS, "four daemons, four users: %s" % users)
        # The image's kernel has transparent huge pages "always": a daemon turns them off for
        # itself, or one touched malloc arena costs it a 2 MiB page.
        thp = {d: v.out("grep THP_enabled /proc/%s/status" % pids[d]).split() for d in DAEMONS}
        check(all(t == ["THP_enabled:", "0"] for t in thp.values()), "no daemon uses transparent huge pages: %s" % thp)
        netns = {d: v.out("readlink /proc/%s/ns/net" % pids[d]).strip() for d in DAEMONS}
        check(netns["secretsd"] != netns["agentd"], "secretsd's network namespace (%s) is not agentd's (%s)" % (netns["secretsd"], netns["agentd"]))
        for d in ("secretsd", "auditd"):
            links = v.out("tail -n +3 /proc/%s/net/dev | cut -d: -f1 | tr -d ' '" % pids[d]).split()
            check(links == ["lo"], "%s's network namespace holds only loopback: %s" % (d, links))
        # With a webhook approvald has the host's network, but may reach the webhook only.
        allowed = v.out("systemctl show -P IPAddressAllow cordon-approvald.service").split()
        denied = v.out("systemctl show -P IPAddressDeny cordon-approvald.service").split()
        check(allowed == [remote_agent.HOST_FROM_GUEST] or allowed == [remote_agent.HOST_FROM_GUEST + "/32"],
              "approvald may reach only its webhook: IPAddressAllow=%s" % allowed)
        check(sorted(denied) in (["any"], ["0.0.0.0/0", "::/0"]), "approvald is denied every other address: IPAddressDeny=%s" % denied)

        # 3. agentd's user against the others' state and sockets.
        as_agent = "setpriv --reuid=cordon-agent --regid=cordon-agent --init-groups "
        for d in ("secretsd", "auditd", "approvald"):
            rc, out = v.run(as_agent + "ls /var/lib/cordon/%s" % d, check=False)
            check(rc != 0 and "Permission denied" in out, "agentd's user can't read %s's state: %s" % (d, out.strip()))
        rc, out = v.run(as_agent + "cordonctl secrets list", check=False)
        check(rc != 0 and ("403" in out or "forbidden" in out.lower() or "denied" in out.lower()),
              "secretsd refuses agentd's user its admin API: %s" % out.strip())
        rc, out = v.run("setpriv --reuid=nobody --regid=nogroup --clear-groups cordonctl secrets list", check=False)
        check(rc != 0 and "ermission denied" in out, "a user outside the socket groups can't connect to secretsd: %s" % out.strip())
        out = v.out("cordonctl secrets list")
        check("demo-token" in out and "totp.alice" in out, "the bundle's secret and the approver's second factor are enrolled")

        # 4. A gated action driven from the host.
        ca = os.path.join(work, "server.crt")
        with open(ca, "w") as f:
            f.write(v.out("cat /etc/cordon/tls/server.crt"))
        decision = gated_action(v, ca, agent_token, totp, receiver)

        # 5. The auditor's pull, through the forwarded port.
        copy = os.path.join(work, "audit-copy")
        pull_and_verify(build, v, copy, ca, token_file, key, "first boot")
        ledger = events(build, copy)
        for kind in ("run.registered", "decision.issued", "approval.requested", "approval.granted", "tool.executed"):
            check(any(e.get("kind") == kind for e in ledger), "the pulled ledger holds %s" % kind)
        executed = [e for e in ledger if e.get("kind") == "tool.executed" and e.get("data", {}).get("decision_id") == decision]
        check(len(executed) == 1 and executed[0]["data"].get("principal") == "agent:token-" + sha256_hex(agent_token)[:8],
              "tool.executed names the allowing decision and the agent's credential")
        provisioned = [e for e in ledger if e.get("kind") == "tenant.provisioned"]
        check(len(provisioned) == 1, "the ledger holds one tenant.provisioned event")
        if provisioned:
            data = provisioned[0].get("data", {})
            check(data.get("tenant") == "vmtest" and data.get("keys"), "tenant.provisioned names the tenant and the key fingerprints")
            check("demo-secret-value" not in json.dumps(provisioned[0]), "tenant.provisioned holds no secret value")

        # 6. A daemon killed: systemd restarts it, and the ledger pulled again extends the copy
        # (cordon-audit checks consistency with the checkpoint it holds): nothing acknowledged
        # was lost.
        before = v.out("systemctl show -P MainPID cordon-auditd.service").strip()
        v.run("systemctl kill -s SIGKILL cordon-auditd.service")
        deadline = time.monotonic() + 120
        after = before
        while time.monotonic() < deadline:
            state = v.run("systemctl is-active cordon-auditd.service", check=False)[1].strip()
            after = v.out("systemctl show -P MainPID cordon-auditd.service").strip()
            if state == "active" and after not in ("0", before):
                break
            time.sleep(1)
        restarts = v.out("systemctl show -P NRestarts cordon-auditd.service").strip()
        check(after not in ("0", before) and restarts == "1",
              "auditd killed with SIGKILL is restarted by systemd (pid %s -> %s, %s restart)" % (before, after, restarts))
        pull_and_verify(build, v, copy, ca, token_file, key, "after auditd was killed")

        # 7. A power cut (no sync: what was acknowledged is on disk already), then power on.
        v.close_shell()
        v.kill()
        v.tpm.stop()
        since = len(v.console())
        v.start()
        v.wait_console(r"cordon login:", 600, since=since)
        v.login()
        check_running(v, "after reboot")
        again = v.run("journalctl -b -u cordon-provision.service -u cordon-enroll.service --no-pager -q", check=False)[1]
        check("Condition" in again or again.strip() == "" or "skipped" in again.lower(),
              "provisioning did not run again: %s" % again.strip()[-200:])
        status = v.out("systemctl show -P StatusText cordon-secretsd.service").strip()
        check(status.startswith("serving; KEK tpm") and "shred" not in status,
              "secretsd unsealed its KEK from the TPM again: %s" % status)
        out = v.out("cordonctl secrets list")
        check("demo-token" in out, "the secrets survive the reboot")
        pull_and_verify(build, v, copy, ca, token_file, key, "after reboot")

        # 8. A TPM reset (a new, empty TPM): secretsd refuses to start, and says why.
        v.close_shell()
        v.kill()
        v.tpm.stop()
        shutil.rmtree(v.tpm.state_dir)
        since = len(v.console())
        v.start()
        v.wait_console(r"cordon login:", 600, since=since)
        v.login()
        time.sleep(20)  # long enough for systemd's restarts to have been tried
        state = v.run("systemctl is-active cordon-secretsd.service", check=False)[1].strip()
        check(state != "active", "with a reset TPM secretsd is not running (%s)" % state)
        said = v.run("journalctl -b -u cordon-secretsd.service --no-pager -o cat | grep -m1 'cannot start'", check=False)[1].strip()
        check("TPM" in said or "tpm" in said, "secretsd says the TPM is why: %s" % said[:300])
        rc, status = v.run("cordonctl status", check=False)
        check(rc != 0 and "secretsd" in status and "does not answer" in status,
              "cordonctl status fails and names secretsd: %s" % status.strip()[-400:])
        # The gate stays closed while secretsd is down: no decision can be signed, so nothing runs.
        run_id = v.out("cordonctl runs register --agent release-bot --task 'Read release.txt'").split()[0]
        agent = remote_agent.McpAgent("https://127.0.0.1:%d/mcp" % v.agent_port, ca, agent_token, run_id)
        agent.initialize()
        refused = agent.call("fs.read", {"path": "release.txt"})
        text = json.dumps(refused)
        check(refused.get("isError") is True and "the gate holds" not in text,
              "with secretsd down an allowed read is refused, not run: %s" % text[:300])
    except Exception as error:  # a failure of the harness itself is a failure of the test
        check.broke(error, v)
    finally:
        v.stop()
        receiver.close()
        if keep:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    check.finish("vm")


if __name__ == "__main__":
    main()
