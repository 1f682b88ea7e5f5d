#include "auditd/auditd_config.h"

#include <fmt/format.h>

namespace cordon::auditd {
namespace {

// A sink's destination: required and non-empty (an empty DSN would make libpq fall back to its
// environment defaults, an empty path names no file).
Result<std::string> sink_destination(const ConfigFile& table, std::string_view key) {
  auto value = CORDON_TRY(table.string(key));
  if (value.empty())
    return fail(Errc::invalid_argument,
                fmt::format("{}: {}.{} must not be empty", table.source(), table.key_prefix(), key));
  return value;
}

// Each type takes only its own destination key: a `path` on a PostgreSQL sink is a mistake.
Result<SinkConfig> parse_sink(const ConfigFile& table) {
  SinkConfig sink;
  auto type = CORDON_TRY(table.string("type"));
  if (type == "postgres") {
    CORDON_TRY_VOID(table.require_known_keys({"type", "dsn"}));
    sink.type = SinkConfig::Type::postgres;
    sink.dsn = CORDON_TRY(sink_destination(table, "dsn"));
  } else if (type == "jsonl") {
    CORDON_TRY_VOID(table.require_known_keys({"type", "path"}));
    sink.type = SinkConfig::Type::jsonl;
    sink.path = CORDON_TRY(sink_destination(table, "path"));
  } else {
    return fail(Errc::invalid_argument,
                fmt::format("{}: auditd.sinks type \"{}\" is not postgres or jsonl", table.source(), type));
  }
  return sink;
}

} // namespace

Result<AuditdConfig> parse_auditd_config(const ConfigFile& file) {
  AuditdConfig config;
  config.tenant = CORDON_TRY(tenant_of(file));
  config.peers = CORDON_TRY(ipc::PeerMap::from_config(file, "peers"));

  auto table = CORDON_TRY(file.table("auditd"));
  CORDON_TRY_VOID(table.require_known_keys({"socket", "socket_mode", "state_dir", "origin",
                                            "checkpoint_interval_ms", "segment_bytes", "auditor",
                                            "sinks", "checkpoint_key", "secretsd_socket"}));
  if (auto holder = CORDON_TRY(table.optional_string("checkpoint_key"))) {
    if (*holder == "file") {
      config.checkpoint_key = AuditdConfig::CheckpointKey::file;
    } else if (*holder == "secretsd") {
      config.checkpoint_key = AuditdConfig::CheckpointKey::secretsd;
    } else {
      return fail(Errc::invalid_argument, fmt::format("{}: auditd.checkpoint_key must be file or secretsd", file.source()));
    }
  }
  config.secretsd_socket = CORDON_TRY(table.optional_string("secretsd_socket")).value_or(config.secretsd_socket);
  config.socket = CORDON_TRY(table.optional_string("socket")).value_or(config.socket);
  config.socket_mode = CORDON_TRY(optional_socket_mode(table)).value_or(config.socket_mode);
  config.state_dir = CORDON_TRY(table.optional_string("state_dir")).value_or(config.state_dir);
  config.origin = CORDON_TRY(table.optional_string("origin"))
                      .value_or(config.tenant + ".cordon.local/audit");
  if (config.origin.empty() || config.origin.find_first_of(" \t\n+") != std::string::npos)
    return fail(Errc::invalid_argument,
                fmt::format("{}: auditd.origin must be non-empty without spaces or '+'", file.source()));
  config.checkpoint_interval = std::chrono::milliseconds(
      CORDON_TRY(table.optional_integer("checkpoint_interval_ms", 100, 10'000)).value_or(10'000));
  config.segment_bytes = static_cast<std::uint64_t>(
      CORDON_TRY(table.optional_integer("segment_bytes", 1 << 16, std::int64_t{1} << 40))
          .value_or(std::int64_t{64} << 20));
  if (auto auditor = CORDON_TRY(table.optional_table("auditor")))
    config.auditor = CORDON_TRY(ipc::parse_credential_listener(*auditor));
  if (auto sinks = CORDON_TRY(table.optional_table_list("sinks"))) {
    for (const auto& sink : *sinks) config.sinks.push_back(CORDON_TRY(parse_sink(sink)));
  }
  return config;
}

Result<AuditdConfig> load_auditd_config(const std::string& path) {
  auto file = CORDON_TRY(ConfigFile::load(path));
  return parse_auditd_config(file);
}

} // namespace cordon::auditd
