#!/usr/bin/env python3
"""check_bench_json.py COMMAND... — runs a benchmark command and fails unless it exits 0 and
prints exactly one JSON object holding every figure of that benchmark (its "benchmark" member
names it: finite, positive numbers), a ratio for each comparison and a true/false for each
target. Whether targets are met is not
checked: a smoke test proves the benchmark works, not that the machine is fast. Standard library
only."""
import json
import math
import subprocess
import sys

AUDIT_POSITIVE = [
    "w8_events_per_s", "w8_p50_ms", "w8_p99_ms",
    "w64_events_per_s", "w64_p50_ms", "w64_p99_ms",
    "batch_events_per_s", "pg_w8_events_per_s", "pg_w64_events_per_s",
    "w8_vs_pg", "w64_vs_pg",
    "verify_bytes_per_s", "openssl_sha256_bytes_per_s", "openssl_sha256_bytes_per_s_1024",
    "verify_vs_openssl", "fdatasync_ms", "event_bytes",
]
AUDIT_TARGETS = [
    "w8_ge_25000_and_2x_pg", "w64_ge_50000_and_3x_pg", "w8_p99_le_5ms", "w64_p99_le_5ms",
    "batch_ge_200000", "verify_ge_70pct_openssl",
]

SECRETS_POSITIVE = [
    "lease_p50_ms", "lease_p99_ms", "leases_per_s", "sign_per_s", "openssl_ed25519_sign_per_s",
    "sign_vs_openssl",
]
SECRETS_TARGETS = ["lease_p99_le_2ms"]

GATE_POSITIVE = [
    "policy_eval_us", "decision_p50_ms", "decision_p99_ms", "decisions_per_s", "audit_append_p50_ms",
    "decision_vs_append_p50",
]
GATE_TARGETS = ["decision_p99_le_2ms"]

CALL_POSITIVE = [
    "call_overhead_p50_ms", "call_overhead_p99_ms", "gated_p50_ms", "gated_p99_ms", "direct_p50_ms",
    "direct_p99_ms",
]
CALL_TARGETS = ["call_overhead_p99_le_3ms"]

FIGURES = {
    "audit-bench": (AUDIT_POSITIVE, AUDIT_TARGETS, ["pg_chain_model"]),
    "secrets-bench": (SECRETS_POSITIVE, SECRETS_TARGETS, []),
    "gate-bench": (GATE_POSITIVE, GATE_TARGETS, []),
    "call-bench": (CALL_POSITIVE, CALL_TARGETS, []),
}


def main():
    run = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, timeout=280)
    if run.returncode != 0:
        sys.exit(f"benchmark exited with {run.returncode}")
    report = json.loads(run.stdout)
    problems = []
    if not isinstance(report, dict):
        sys.exit("output is not a JSON object")
    if report.get("benchmark") not in FIGURES:
        sys.exit(f"benchmark {report.get('benchmark')!r} is not one of {sorted(FIGURES)}")
    POSITIVE, TARGETS, STRINGS = FIGURES[report["benchmark"]]
    for key in POSITIVE:
        value = report.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            problems.append(f"{key}: {value!r} is not a positive number")
    targets = report.get("targets")
    if not isinstance(targets, dict) or sorted(targets) != sorted(TARGETS):
        problems.append(f"targets: {targets!r} does not name exactly {TARGETS}")
    elif not all(isinstance(value, bool) for value in targets.values()):
        problems.append(f"targets: {targets!r} holds a value that is not true/false")
    machine = report.get("machine", {})
    if not isinstance(machine.get("cores"), int) or not machine.get("kernel"):
        problems.append(f"machine: {machine!r} lacks cores or kernel")
    # Steal is a percentage that is 0 on an idle host or bare metal: a number in [0, 100].
    steal = report.get("host_steal_pct")
    if isinstance(steal, bool) or not isinstance(steal, (int, float)) or not 0 <= steal <= 100:
        problems.append(f"host_steal_pct: {steal!r} is not a percentage")
    for key in STRINGS:
        if not isinstance(report.get(key), str):
            problems.append(f"{key} is missing")
    if problems:
        sys.exit("\n".join(problems))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
