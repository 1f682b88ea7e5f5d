#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "common/error.h"

// `cordon-provision enroll`: the second half of provisioning, once secretsd, auditd and
// approvald are up. Puts the approvers' TOTP seeds and the bundle's secrets into secretsd,
// records `tenant.provisioned` in the audit log with the fingerprints of secretsd's public keys,
// removes the secret values from provisioning.toml, and says where the appliance answers.
namespace cordon::provisioning {

struct EnrollOptions {
  std::filesystem::path root = "/";
  std::string secretsd_socket = "/run/cordon/secretsd.sock";
  std::string auditd_socket = "/run/cordon/auditd.sock";
  // How long to wait for auditd to hold its checkpoint key (it asks secretsd for it at start).
  std::chrono::seconds verifier_wait{60};
};

struct EnrollReport {
  bool already_enrolled = false; // the marker existed; nothing was done
  std::string console;           // the block for the console, or what the marker says
};

// Idempotent up to the audit event: a secret secretsd already holds (409) counts as enrolled, so
// an interrupted run can be repeated. Once var/lib/cordon/provisioned exists, does nothing.
Result<EnrollReport> enroll(const EnrollOptions& options);

} // namespace cordon::provisioning
