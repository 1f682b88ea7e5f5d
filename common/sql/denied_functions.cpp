#include "common/sql/denied_functions.h"

#include <algorithm>
#include <string>

namespace cordon::sql {
namespace {

enum class Match { exact, prefix };

struct DeniedFunction {
  std::string_view name; // lower case
  Match match;
  std::string_view effect;
};

// The deny-list: one line a function (or a family, by prefix). It is the first of two
// independent guards: agentd also runs every query inside the database's own
// `BEGIN READ ONLY` (DESIGN.md §6.2), which refuses table writes, nextval and setval even if
// this list missed them. That guard alone is not enough: PostgreSQL 15 runs pg_notify,
// set_config, txid_current, pg_advisory_lock, lo_create, pg_read_file and pg_sleep in a
// read-only transaction without complaint.
constexpr DeniedFunction denied_functions[] = {
    // other sessions and the server
    {"pg_terminate_backend", Match::exact, "ends another session"},
    {"pg_cancel_backend", Match::exact, "cancels another session's query"},
    {"pg_reload_conf", Match::exact, "reloads the server's configuration"},
    {"pg_rotate_logfile", Match::exact, "rotates the server's log file"},
    {"pg_log_backend_memory_contexts", Match::exact, "writes to the server's log"},
    {"pg_promote", Match::exact, "promotes a standby server"},
    {"pg_stat_reset", Match::prefix, "resets statistics"},
    {"pg_stat_statements_reset", Match::exact, "resets statistics"},
    {"pg_import_system_collations", Match::exact, "creates collations"},
    // settings and time
    {"set_config", Match::exact, "changes a setting"},
    {"pg_sleep", Match::exact, "blocks the session"},
    {"pg_sleep_for", Match::exact, "blocks the session"},
    {"pg_sleep_until", Match::exact, "blocks the session"},
    // server files (and adminpack's writers)
    {"pg_read_file", Match::exact, "reads a server file"},
    {"pg_read_binary_file", Match::exact, "reads a server file"},
    {"pg_stat_file", Match::exact, "inspects a server file"},
    {"pg_ls_", Match::prefix, "lists a server directory"},
    {"pg_file_write", Match::exact, "writes a server file"},
    {"pg_file_sync", Match::exact, "syncs a server file"},
    {"pg_file_unlink", Match::exact, "deletes a server file"},
    {"pg_file_rename", Match::exact, "renames a server file"},
    // large objects, which also import and export server files
    {"lo_", Match::prefix, "reads or writes large objects"},
    {"loread", Match::exact, "reads a large object"},
    {"lowrite", Match::exact, "writes a large object"},
    // other connections and SQL in strings, which this classifier cannot see
    {"dblink", Match::prefix, "runs SQL over another connection"},
    {"query_to_xml", Match::exact, "runs the SQL in its argument"},
    {"query_to_xml_and_xmlschema", Match::exact, "runs the SQL in its argument"},
    {"query_to_xmlschema", Match::exact, "runs the SQL in its argument"},
    {"cursor_to_xml", Match::exact, "fetches from a cursor"},
    {"cursor_to_xmlschema", Match::exact, "reads a cursor"},
    // sequences, transactions and locks
    {"nextval", Match::exact, "advances a sequence"},
    {"setval", Match::exact, "sets a sequence"},
    {"txid_current", Match::exact, "assigns a transaction id"},
    {"pg_current_xact_id", Match::exact, "assigns a transaction id"},
    {"pg_export_snapshot", Match::exact, "exports a snapshot"},
    {"pg_advisory_", Match::prefix, "takes or releases an advisory lock"},
    {"pg_try_advisory_", Match::prefix, "takes an advisory lock"},
    {"pg_notify", Match::exact, "sends a notification"},
    // index and heap maintenance: PostgreSQL 15 runs these in a read-only transaction, and
    // their writes outlive its ROLLBACK (pg_surgery's heap_force_kill deletes rows for good)
    {"brin_summarize_new_values", Match::exact, "writes to a BRIN index"},
    {"brin_summarize_range", Match::exact, "writes to a BRIN index"},
    {"brin_desummarize_range", Match::exact, "writes to a BRIN index"},
    {"gin_clean_pending_list", Match::exact, "writes to a GIN index"},
    {"heap_force_kill", Match::exact, "deletes rows, bypassing every check"},
    {"heap_force_freeze", Match::exact, "rewrites rows, bypassing every check"},
    {"pg_truncate_visibility_map", Match::exact, "truncates a table's visibility map"},
    {"setseed", Match::exact, "changes the session's random seed"},
    // WAL, backups and replication
    {"pg_switch_wal", Match::exact, "switches the WAL file"},
    {"pg_create_restore_point", Match::exact, "writes a restore point to the WAL"},
    {"pg_logical_emit_message", Match::exact, "writes a message to the WAL"},
    {"pg_backup_start", Match::exact, "starts a backup"},
    {"pg_backup_stop", Match::exact, "stops a backup"},
    {"pg_start_backup", Match::exact, "starts a backup"}, // PostgreSQL 14 and older
    {"pg_stop_backup", Match::exact, "stops a backup"},
    {"pg_log_standby_snapshot", Match::exact, "writes a snapshot to the WAL"},
    {"pg_wal_replay_pause", Match::exact, "pauses recovery"},
    {"pg_wal_replay_resume", Match::exact, "resumes recovery"},
    {"pg_create_physical_replication_slot", Match::exact, "creates a replication slot"},
    {"pg_create_logical_replication_slot", Match::exact, "creates a replication slot"},
    {"pg_copy_physical_replication_slot", Match::exact, "creates a replication slot"},
    {"pg_copy_logical_replication_slot", Match::exact, "creates a replication slot"},
    {"pg_drop_replication_slot", Match::exact, "drops a replication slot"},
    {"pg_replication_slot_advance", Match::exact, "advances a replication slot"},
    {"pg_logical_slot_get_", Match::prefix, "consumes a replication slot's changes"},
    {"pg_replication_origin_", Match::prefix, "changes replication origins"},
};

std::string lower_ascii(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return lower;
}

bool matches(const DeniedFunction& entry, std::string_view name) {
  return entry.match == Match::exact ? name == entry.name : name.starts_with(entry.name);
}

} // namespace

std::optional<std::string_view> side_effect_of(std::string_view name) {
  const std::string lower = lower_ascii(name);
  for (const auto& entry : denied_functions) {
    if (matches(entry, lower)) return entry.effect;
  }
  return std::nullopt;
}

} // namespace cordon::sql
