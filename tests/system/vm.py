"""Boots the appliance's disk in qemu (TCG) with a software TPM, and drives it from the host.

The VM is what a customer runs: the image's own disk (behind a copy-on-write overlay, so the
image stays untouched), a config drive holding the provisioning bundle, a TPM 2.0 from swtpm,
and user-mode networking with the HTTPS ports forwarded to 127.0.0.1. The test reaches a root
shell the way an operator does, on a console (a virtio console, hvc0, so the kernel's and
systemd's messages on ttyS0 stay out of command output), logging in with the console password
the bundle set. Nothing in the image exists for the tests' sake.
"""

import base64
import os
import re
import socket
import subprocess
import sys
import time
import uuid

OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
CONSOLE_PASSWORD = "cordon-console-test"


DAEMONS = ["auditd", "secretsd", "approvald", "agentd"]


def console_password_hash(salt="cordonvmtest"):
    """CONSOLE_PASSWORD as the bundle's [admin] console_password_sha512 takes it."""
    return subprocess.run(["openssl", "passwd", "-6", "-salt", salt, CONSOLE_PASSWORD],
                          check=True, capture_output=True, text=True).stdout.strip()


def wait_daemons_active(v, timeout=180, interval=2):
    """Polls until all four daemons are active, or `timeout` seconds pass; each daemon's state
    as systemctl said it last (the console's login prompt can come before them)."""
    deadline = time.monotonic() + timeout
    while True:
        states = v.run("systemctl is-active " + " ".join("cordon-%s.service" % d for d in DAEMONS), check=False)[1].split()
        if states == ["active"] * 4 or time.monotonic() > deadline:
            return states
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_config_drive(path, bundle_text):
    """A FAT config drive labelled CORDON-CFG holding bundle.toml, built without mounting."""
    src = path + ".bundle.toml"
    with open(src, "w") as f:
        f.write(bundle_text)
    subprocess.run(["truncate", "-s", "4M", path], check=True)
    subprocess.run(["mkfs.fat", "-n", "CORDON-CFG", path], check=True, stdout=subprocess.DEVNULL)
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    subprocess.run(["mcopy", "-i", path, src, "::/bundle.toml"], check=True, env=env)
    os.unlink(src)


class Tpm:
    """A swtpm whose state lives in `state_dir`, so it survives a VM's reboot (or is reset by
    deleting the directory)."""

    def __init__(self, work, state_dir):
        self.state_dir = state_dir
        self.sock = os.path.join(work, "swtpm.sock")
        self.proc = None

    def start(self):
        os.makedirs(self.state_dir, exist_ok=True)
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.proc = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + self.state_dir,
             "--ctrl", "type=unixio,path=" + self.sock, "--terminate"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(self.sock):
                return
            time.sleep(0.05)
        raise RuntimeError("swtpm did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def persistent_handles(self):
        """The TPM's persistent handles (ints), read from the host with tpm2-tools while the VM
        is off: a second swtpm on the same state, over TCP, then stopped."""
        if self.proc and self.proc.poll() is None:
            raise RuntimeError("the TPM is in use by the VM")
        port = free_port()
        ctrl = port + 1  # the swtpm TCTI finds the control channel there
        proc = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + self.state_dir,
             "--server", "type=tcp,port=%d" % port, "--ctrl", "type=tcp,port=%d" % ctrl,
             "--flags", "not-need-init,startup-clear"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            tcti = "swtpm:host=127.0.0.1,port=%d" % port
            for _ in range(100):
                got = subprocess.run(["tpm2_getcap", "-T", tcti, "handles-persistent"], capture_output=True, text=True)
                if got.returncode == 0:
                    return [int(line.strip().lstrip("- "), 16) for line in got.stdout.splitlines() if line.strip()]
                time.sleep(0.1)
            raise RuntimeError("tpm2_getcap failed: " + got.stderr)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


class Vm:
    def __init__(self, image_dir, work, bundle_text=None, uefi=False, memory_mib=1024, tpm_state=None,
                 credentials=None, extra_drives=None):
        """`bundle_text` goes on a config drive; `credentials` ({name: bytes}) are passed as
        systemd system credentials in SMBIOS type 11 strings, as a hypervisor would;
        `extra_drives` are raw disk images attached writable after those (a customer's volume)."""
        self.image_dir = os.path.abspath(image_dir)
        self.work = work
        self.uefi = uefi
        self.memory_mib = memory_mib
        os.makedirs(work, exist_ok=True)
        self.disk = os.path.join(work, "disk.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
                        "-b", os.path.join(self.image_dir, "disk.raw"), self.disk], check=True)
        self.config_drive = None
        if bundle_text is not None:
            self.config_drive = os.path.join(work, "config.img")
            make_config_drive(self.config_drive, bundle_text)
        self.credentials = credentials or {}
        self.extra_drives = extra_drives or []
        self.tpm = Tpm(work, tpm_state or os.path.join(work, "tpm"))
        self.https_port = free_port()
        self.auditor_port = free_port()
        self.agent_port = free_port()
        self.console_log = os.path.join(work, "console.log")
        self.shell_sock = os.path.join(work, "shell.sock")
        self.uuid = str(uuid.uuid4())
        self.proc = None
        self.shell = None
        self.powered_on = None

    # --- power ---------------------------------------------------------------------------

    def start(self):
        self.tpm.start()
        for p in (self.shell_sock,):
            if os.path.exists(p):
                os.unlink(p)
        # cache=writeback: the guest's flushes reach the host file, so killing qemu (a power
        # cut) keeps exactly what the guest had made durable.
        args = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", "max",
                "-smp", "2", "-m", str(self.memory_mib), "-uuid", self.uuid,
                "-display", "none", "-no-reboot", "-nodefaults",
                "-drive", "file=%s,format=qcow2,if=virtio,cache=writeback" % self.disk,
                "-chardev", "file,id=ser0,path=%s,append=on" % self.console_log,
                "-serial", "chardev:ser0",
                "-device", "virtio-serial-pci",
                "-chardev", "socket,id=hvc0,path=%s,server=on,wait=off" % self.shell_sock,
                "-device", "virtconsole,chardev=hvc0",
                "-chardev", "socket,id=chrtpm,path=%s" % self.tpm.sock,
                "-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
                "-device", "tpm-crb,tpmdev=tpm0",
                "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:443,hostfwd=tcp:127.0.0.1:%d-:8443,"
                "hostfwd=tcp:127.0.0.1:%d-:7443" % (self.https_port, self.auditor_port, self.agent_port),
                "-device", "virtio-net-pci,netdev=n0",
                "-object", "rng-random,id=rng0,filename=/dev/urandom",
                "-device", "virtio-rng-pci,rng=rng0"]
        for name, value in self.credentials.items():
            encoded = base64.b64encode(value).decode()
            args += ["-smbios", "type=11,value=io.systemd.credential.binary:%s=%s" % (name, encoded)]
        if self.config_drive:
            args += ["-drive", "file=%s,format=raw,if=virtio,readonly=on" % self.config_drive]
        for drive in self.extra_drives:
            args += ["-drive", "file=%s,format=raw,if=virtio" % drive]
        if self.uefi:
            vars_copy = os.path.join(self.work, "OVMF_VARS.fd")
            if not os.path.exists(vars_copy):
                subprocess.run(["cp", OVMF_VARS, vars_copy], check=True)
            args += ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMF_CODE,
                     "-drive", "if=pflash,format=raw,unit=1,file=" + vars_copy]
        else:
            with open(os.path.join(self.image_dir, "cmdline")) as f:
                cmdline = f.read().strip()
            args += ["-kernel", os.path.join(self.image_dir, "vmlinuz"),
                     "-initrd", os.path.join(self.image_dir, "initrd.img"),
                     "-append", cmdline]
        self.powered_on = time.monotonic()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=open(os.path.join(self.work, "qemu.log"), "ab"),
                                     stderr=subprocess.STDOUT)
        self.shell = None

    def wait_exit(self, timeout):
        """Waits for qemu to exit (the guest powered off or rebooted: -no-reboot)."""
        self.proc.wait(timeout=timeout)
        self.close_shell()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.close_shell()

    def stop(self):
        self.kill()
        self.tpm.stop()

    def console(self):
        try:
            with open(self.console_log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_console(self, pattern, timeout, since=0):
        """Waits until the serial console shows `pattern` (a regex) after its first `since`
        characters (a reboot appends to the same log); returns the match."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.console()[since:])
            if m:
                return m
            if self.proc.poll() is not None:
                raise RuntimeError("the VM exited while waiting for %r; console:\n%s" % (pattern, self.console()[-4000:]))
            time.sleep(0.5)
        raise TimeoutError("no %r on the console after %d s; console:\n%s" % (pattern, timeout, self.console()[-4000:]))

    # --- the operator's console ----------------------------------------------------------

    def close_shell(self):
        if self.shell:
            self.shell.close()
            self.shell = None

    def _read_until(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        buf = self._pending
        while True:
            m = re.search(pattern, buf)
            if m:
                self._pending = buf[m.end():]
                return buf[:m.start()], m
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no %r on the shell console after %d s; got:\n%s" % (pattern, timeout, buf[-2000:]))
            self.shell.settimeout(min(remaining, 1.0))
            try:
                chunk = self.shell.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise RuntimeError("the shell console closed; got:\n" + buf[-2000:])
            buf += chunk.decode(errors="replace")

    def login(self, password=CONSOLE_PASSWORD, timeout=300):
        """Logs in as root on hvc0 and prepares a quiet shell for run()."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.shell = socket.socket(socket.AF_UNIX)
                self.shell.connect(self.shell_sock)
                break
            except OSError:
                self.shell.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        self._pending = ""
        while True:
            self.shell.sendall(b"\n")
            try:
                self._read_until(r"login: ", 5)
                break
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise TimeoutError("no login prompt on hvc0; console:\n" + self.console()[-4000:])
        self.shell.sendall(b"root\n")
        self._read_until(r"Password: ", 30)
        self.shell.sendall(password.encode() + b"\n")
        self._read_until(r"# ", 60)
        self.shell.sendall(b"stty -echo cols 1000; export PS1='' PAGER=cat SYSTEMD_PAGER= SYSTEMD_COLORS=0 TERM=dumb\n")
        time.sleep(1)
        self._sequence = 0
        self.run("true")

    def run(self, command, timeout=120, check=True):
        """Runs `command` in the root shell; returns (exit status, output)."""
        if self.shell is None:
            self.login()
        self._sequence += 1
        tag = "%s%d" % (uuid.uuid4().hex[:8], self._sequence)
        line = "echo __B_%s__; ( %s ) 2>&1; echo __E_%s_$?__\n" % (tag, command, tag)
        self.shell.sendall(line.encode())
        self._read_until(r"__B_%s__\r?\n" % tag, timeout)
        out, m = self._read_until(r"__E_%s_(\d+)__\r?\n" % tag, timeout)
        status = int(m.group(1))
        out = out.replace("\r\n", "\n")
        if check and status != 0:
            raise AssertionError("in the VM, `%s` exited %d:\n%s" % (command, status, out))
        return status, out

    def out(self, command, timeout=120):
        return self.run(command, timeout)[1]


class Checks:
    """A system test's named checks: each prints ok or FAIL as it goes, and finish() exits 1 when
    any failed, so one run reports every failing check, not only the first."""

    def __init__(self):
        self.failures = []

    def __call__(self, condition, what):
        print(("ok: " if condition else "FAIL: ") + what, flush=True)
        if not condition:
            self.failures.append(what)

    def broke(self, error, vm):
        """The harness itself failed (a timeout, a lost console): a failure of the test, shown
        with the end of the VM's console."""
        self.failures.append(repr(error))
        print("FAIL:", error, flush=True)
        print("--- console (last 3000 characters) ---\n" + vm.console()[-3000:])

    def finish(self, label):
        if self.failures:
            print("%d check(s) failed" % len(self.failures))
            sys.exit(1)
        print("%s: all checks passed" % label)
