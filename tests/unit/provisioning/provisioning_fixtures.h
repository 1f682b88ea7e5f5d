#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include <sys/stat.h>

#include "provisioning/configure.h"

namespace cordon::provisioning::testing {

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string example_bundle() { return read_text(CORDON_SOURCE_DIR "/provisioning/example-bundle.toml"); }

// The smallest bundle provisioning accepts, with room for more root keys (before any table)
// and more tables (after).
inline std::string minimal_bundle(const std::string& root_keys = "", const std::string& tables = "") {
  return "bundle_version = 1\ntenant = \"acme\"\npublic_host = \"cordon.acme.example\"\n" + root_keys +
         "\n[auditors]\nbearer_token_sha256 = [\"9f2f126aca8be7a280e6f5b1e61e8b49baf46c58547f2f17efa6e1ee99a1ac74\"]\n"
         "\n[agents]\nbearer_token_sha256 = [\"4a0b7efcc66677c05d97ed1c128f7dcdf1b172c4c377feb96f353849f3d79fd5\"]\n"
         "\n[[approvers]]\nname = \"alice\"\nemail = \"alice@acme.example\"\ntotp_secret = \"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\"\n" +
         tables;
}

// Distinct uids for the four daemon users, which do not exist on a build host: the rendered
// `uid = N` lines are then read by the daemons' own parsers without a user lookup.
inline RenderOptions test_uids() {
  RenderOptions options;
  options.peer_uids = {{"cordon-audit", 60001}, {"cordon-secrets", 60002}, {"cordon-approve", 60003}, {"cordon-agent", 60004}};
  return options;
}

inline ConfigureOptions configure_options(const std::filesystem::path& bundle, const std::filesystem::path& root) {
  ConfigureOptions options;
  options.bundle = bundle;
  options.root = root;
  options.reload = false;
  options.constitution_source = std::filesystem::path(CORDON_SOURCE_DIR) / "services/constitution.d";
  options.render = test_uids();
  return options;
}

// The accounts sysusers.d creates on the appliance, in <root>/etc/passwd and etc/group: as root,
// configure gives files these owners (it reads them from the root it writes into).
inline void write_accounts(const std::filesystem::path& root) {
  write_text(root / "etc/passwd",
             "root:x:0:0:root:/root:/bin/bash\n"
             "cordon-audit:x:60001:60001:Cordon auditd:/var/lib/cordon/auditd:/usr/sbin/nologin\n"
             "cordon-secrets:x:60002:60002:Cordon secretsd:/var/lib/cordon/secretsd:/usr/sbin/nologin\n"
             "cordon-approve:x:60003:60003:Cordon approvald:/var/lib/cordon/approvald:/usr/sbin/nologin\n"
             "cordon-agent:x:60004:60004:Cordon agentd:/var/lib/cordon/agentd:/usr/sbin/nologin\n");
  write_text(root / "etc/group",
             "root:x:0:\nshadow:x:42:\ncordon-audit:x:60001:\ncordon-secrets:x:60002:\ncordon-approve:x:60003:\n"
             "cordon-agent:x:60004:\n");
}

inline bool is_empty_directory(const std::filesystem::path& path) {
  return std::filesystem::is_directory(path) && std::filesystem::is_empty(path);
}

inline std::pair<uid_t, gid_t> owner_of(const std::filesystem::path& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return {static_cast<uid_t>(-1), static_cast<gid_t>(-1)};
  return {status.st_uid, status.st_gid};
}

inline unsigned mode_of(const std::filesystem::path& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return 0;
  return status.st_mode & 07777;
}

} // namespace cordon::provisioning::testing
