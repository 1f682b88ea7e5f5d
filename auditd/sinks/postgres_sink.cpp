#include "auditd/sinks/postgres_sink.h"

#include <algorithm>
#include <limits>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

namespace cordon::audit {

struct PostgresSink::Connection {
  explicit Connection(const std::string& dsn) : session(dsn) {}
  pqxx::connection session;
};

namespace {

constexpr char k_table_sql[] = R"sql(CREATE TABLE cordon_audit_events (
  tenant_id   text        NOT NULL,
  idx         bigint      NOT NULL CHECK (idx >= 0),
  leaf        text        NOT NULL,
  event       jsonb,
  leaf_hash   text        NOT NULL,
  inserted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, idx)
))sql";

// Stored apart from its CREATE statement so that ensure_schema() can compare it with pg_proc.
constexpr char k_refuse_body[] = R"sql(
BEGIN
  RAISE EXCEPTION 'cordon_audit_events is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'audit rows are never changed or removed; cordon-auditd''s ledger is authoritative';
END
)sql";

constexpr char k_function_sql_format[] =
    "CREATE OR REPLACE FUNCTION cordon_audit_events_refuse_change() RETURNS trigger\n"
    "LANGUAGE plpgsql AS $body${}$body$";

// A statement trigger fires even when row-level security hides every row the statement names,
// so an attempt is refused (and visible) rather than silently matching nothing.
constexpr char k_trigger_sql[] =
    "CREATE OR REPLACE TRIGGER cordon_audit_events_append_only\n"
    "  BEFORE UPDATE OR DELETE OR TRUNCATE ON cordon_audit_events\n"
    "  FOR EACH STATEMENT EXECUTE FUNCTION cordon_audit_events_refuse_change()";

// pg_trigger.tgtype of the trigger above: BEFORE (2) | DELETE (8) | UPDATE (16) | TRUNCATE (32),
// statement level (no ROW bit).
constexpr int k_trigger_type = 2 | 8 | 16 | 32;

constexpr char k_row_security_sql[] =
    "ALTER TABLE cordon_audit_events ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY";

constexpr char k_policy_sql[] =
    "CREATE POLICY cordon_audit_events_tenant ON cordon_audit_events FOR ALL\n"
    "  USING (tenant_id = current_setting('cordon.tenant', true))\n"
    "  WITH CHECK (tenant_id = current_setting('cordon.tenant', true))";

constexpr char k_set_tenant_sql[] = "SELECT set_config('cordon.tenant', $1, true)";

constexpr char k_cursor_sql[] =
    "SELECT coalesce(max(idx) + 1, 0) FROM cordon_audit_events WHERE tenant_id = $1";

constexpr char k_insert_sql[] = R"sql(INSERT INTO cordon_audit_events
  (tenant_id, idx, leaf, event, leaf_hash)
SELECT $1, u.idx, u.leaf, CASE WHEN u.queryable THEN u.leaf::jsonb END, u.leaf_hash
FROM unnest($2::bigint[], $3::text[], $4::text[], $5::boolean[]) AS u(idx, leaf, leaf_hash, queryable)
ON CONFLICT (tenant_id, idx) DO NOTHING
RETURNING idx)sql";

constexpr char k_stored_hashes_sql[] =
    "SELECT idx, leaf_hash FROM cordon_audit_events "
    "WHERE tenant_id = $1 AND idx >= $2 AND idx <= $3";

std::string function_sql() { return fmt::format(k_function_sql_format, k_refuse_body); }

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Maps a server error to our categories: what a retry may cure is `unavailable`. libpqxx 6.4
// throws a subclass per SQLSTATE class and leaves sqlstate() empty on it, so both are consulted.
Errc errc_for(const pqxx::sql_error& error) {
  if (dynamic_cast<const pqxx::insufficient_privilege*>(&error) != nullptr) {
    return Errc::permission_denied;
  }
  if (dynamic_cast<const pqxx::insufficient_resources*>(&error) != nullptr) {
    return Errc::unavailable;
  }
  const auto& state = error.sqlstate();
  if (state.starts_with("08") || state.starts_with("57P") || state.starts_with("53") ||
      state.starts_with("40")) {
    return Errc::unavailable;
  }
  if (state == "42501") return Errc::permission_denied;
  return Errc::io_error;
}

// The exception boundary for libpqxx: runs `body` and turns any exception into an Error. The
// connection is dropped after an exception, so the next call reconnects and re-checks the schema.
template <class ConnectionHolder, class Body>
auto guarded(std::string_view sink, ConnectionHolder& connection, Body&& body)
    -> decltype(body()) {
  auto failure = [&](Errc code, std::string message) {
    connection.reset();
    return fail(code, fmt::format("{}: {}", sink, trim(std::move(message))));
  };
  try {
    return body();
  } catch (const pqxx::broken_connection& e) {
    return failure(Errc::unavailable, e.what());
  } catch (const pqxx::in_doubt_error& e) {
    return failure(Errc::unavailable, fmt::format("commit outcome unknown: {}", e.what()));
  } catch (const pqxx::transaction_rollback& e) {
    return failure(Errc::unavailable, e.what());
  } catch (const pqxx::sql_error& e) {
    return failure(errc_for(e), e.sqlstate().empty()
                                    ? std::string(e.what())
                                    : fmt::format("{} (SQLSTATE {})", trim(e.what()), e.sqlstate()));
  } catch (const std::exception& e) {
    return failure(Errc::io_error, e.what());
  }
}

// PostgreSQL's jsonb refuses \u0000 and anything that is not JSON; such a leaf is still stored
// byte for byte in `leaf`, with `event` left NULL, rather than blocking the copy. (The substring
// test also catches an escaped backslash followed by "u0000"; that only costs the jsonb copy.)
bool jsonb_can_hold(const std::string& leaf) {
  return leaf.find("\\u0000") == std::string::npos && nlohmann::json::accept(leaf);
}

void append_array_element(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

struct InsertArrays {
  std::string indexes = "{";
  std::string leaves = "{";
  std::string hashes = "{";
  std::string queryable = "{";
};

InsertArrays insert_arrays(std::span<const SinkEntry> entries) {
  InsertArrays arrays;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i != 0) {
      arrays.indexes += ',';
      arrays.leaves += ',';
      arrays.hashes += ',';
      arrays.queryable += ',';
    }
    arrays.indexes += std::to_string(entries[i].index);
    append_array_element(arrays.leaves, entries[i].leaf);
    append_array_element(arrays.hashes, entries[i].leaf_hash_hex);
    arrays.queryable += jsonb_can_hold(entries[i].leaf) ? 't' : 'f';
  }
  arrays.indexes += '}';
  arrays.leaves += '}';
  arrays.hashes += '}';
  arrays.queryable += '}';
  return arrays;
}

// Fails with Errc::integrity unless the table holds each entry with the same leaf hash.
Result<void> compare_stored(pqxx::work& transaction, const std::string& tenant,
                            std::span<const SinkEntry> entries, std::string_view sink) {
  if (entries.empty()) return ok();
  const auto rows =
      transaction.exec_params(k_stored_hashes_sql, tenant, std::to_string(entries.front().index),
                              std::to_string(entries.back().index));
  std::map<std::uint64_t, std::string> stored;
  for (const auto& row : rows) stored.emplace(row[0].as<std::uint64_t>(), row[1].as<std::string>());
  for (const auto& entry : entries) {
    const auto found = stored.find(entry.index);
    if (found == stored.end()) {
      return fail(Errc::integrity,
                  fmt::format("{}: index {} is missing below the stored cursor", sink, entry.index));
    }
    if (found->second != entry.leaf_hash_hex) {
      return fail(Errc::integrity,
                  fmt::format("{}: index {} is stored with leaf hash {}, the ledger has {}", sink,
                              entry.index, found->second, entry.leaf_hash_hex));
    }
  }
  return ok();
}

Result<void> check_entries(const PostgresSinkOptions& options, std::span<const SinkEntry> entries) {
  for (const auto& entry : entries) {
    if (entry.tenant != options.tenant) {
      return fail(Errc::invalid_argument,
                  fmt::format("{}: entry {} belongs to tenant '{}', the sink to '{}'", options.name,
                              entry.index, entry.tenant, options.tenant));
    }
    if (entry.index > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return fail(Errc::invalid_argument,
                  fmt::format("{}: index {} does not fit a bigint", options.name, entry.index));
    }
    // libpq passes parameters as C strings: a NUL byte would silently cut the value short.
    if (entry.leaf.find('\0') != std::string::npos ||
        entry.leaf_hash_hex.find('\0') != std::string::npos) {
      return fail(Errc::invalid_argument,
                  fmt::format("{}: entry {} contains a NUL byte", options.name, entry.index));
    }
  }
  return ok();
}

// libpqxx 6.4 leaks libpq's error result when a statement finds the connection already lost: it
// asks for the client encoding, which throws, before it owns the result. Reading what the server
// sent first (its FATAL at shutdown, then EOF) notices a dead connection without a statement;
// get_notifs() then throws broken_connection, which guarded() reports as unavailable.
void notice_lost_connection(pqxx::connection& session) { session.get_notifs(); }

Result<void> check_tenant(const PostgresSinkOptions& options) {
  if (options.tenant.empty() || options.tenant.find('\0') != std::string::npos) {
    return fail(Errc::invalid_argument, fmt::format("{}: no valid tenant configured", options.name));
  }
  return ok();
}

} // namespace

PostgresSink::PostgresSink(PostgresSinkOptions options) : m_options(std::move(options)) {}

PostgresSink::~PostgresSink() = default;

std::string_view PostgresSink::schema_sql() {
  static const std::string sql =
      fmt::format("{};\n{};\n{};\n{};\n{};\n", k_table_sql, function_sql(), k_trigger_sql,
                  k_row_security_sql, k_policy_sql);
  return sql;
}

Result<PostgresSink::Connection*> PostgresSink::connection() {
  if (m_connection) return m_connection.get();
  std::unique_ptr<Connection> fresh;
  return guarded(m_options.name, fresh, [&]() -> Result<Connection*> {
    fresh = std::make_unique<Connection>(m_options.dsn);
    fresh->session.set_client_encoding("UTF8");
    CORDON_TRY_VOID(ensure_schema_on(*fresh));
    m_connection = std::move(fresh);
    return m_connection.get();
  });
}

Result<void> PostgresSink::ensure_schema() {
  if (!m_connection) return connection().map([](Connection*) {});
  return guarded(m_options.name, m_connection, [&] {
    notice_lost_connection(m_connection->session);
    return ensure_schema_on(*m_connection);
  });
}

Result<void> PostgresSink::ensure_schema_on(Connection& connection) {
  pqxx::work transaction(connection.session);
  const auto encoding = transaction.exec("SHOW server_encoding")[0][0].as<std::string>();
  if (encoding != "UTF8") {
    return fail(Errc::invalid_argument,
                fmt::format("{}: database encoding is {}; the sink needs UTF8 to keep leaf bytes "
                            "exact",
                            m_options.name, encoding));
  }
  transaction.exec("SELECT pg_advisory_xact_lock(hashtext('cordon_audit_events'))");

  if (transaction.exec("SELECT to_regclass('cordon_audit_events') IS NULL")[0][0].as<bool>()) {
    transaction.exec(k_table_sql);
  }
  const auto function = transaction.exec(
      "SELECT prosrc FROM pg_proc WHERE oid = to_regprocedure('cordon_audit_events_refuse_change()')");
  if (function.empty() || function[0][0].as<std::string>() != k_refuse_body) {
    transaction.exec(function_sql());
  }
  const auto trigger = transaction.exec_params(
      "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'cordon_audit_events'::regclass "
      "AND tgname = 'cordon_audit_events_append_only' AND tgenabled IN ('O', 'A') "
      "AND tgtype = $1 AND tgfoid = 'cordon_audit_events_refuse_change()'::regprocedure",
      k_trigger_type);
  if (trigger[0][0].as<int>() != 1) transaction.exec(k_trigger_sql);

  const auto security = transaction.exec(
      "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class "
      "WHERE oid = 'cordon_audit_events'::regclass");
  if (!security[0][0].as<bool>()) transaction.exec(k_row_security_sql);

  const auto policy = transaction.exec(
      "SELECT count(*) FROM pg_policy WHERE polrelid = 'cordon_audit_events'::regclass "
      "AND polname = 'cordon_audit_events_tenant' AND polcmd = '*' AND polpermissive");
  if (policy[0][0].as<int>() != 1) {
    transaction.exec("DROP POLICY IF EXISTS cordon_audit_events_tenant ON cordon_audit_events");
    transaction.exec(k_policy_sql);
  }
  transaction.commit();
  return ok();
}

Result<std::uint64_t> PostgresSink::cursor() {
  CORDON_TRY_VOID(check_tenant(m_options));
  CORDON_TRY_VOID(connection());
  return guarded(m_options.name, m_connection, [&]() -> Result<std::uint64_t> {
    notice_lost_connection(m_connection->session);
    pqxx::work transaction(m_connection->session);
    transaction.exec_params(k_set_tenant_sql, m_options.tenant);
    const auto next = transaction.exec_params1(k_cursor_sql, m_options.tenant)[0].as<std::int64_t>();
    transaction.commit();
    return static_cast<std::uint64_t>(next);
  });
}

Result<void> PostgresSink::write(std::uint64_t first_index, std::span<const SinkEntry> entries) {
  CORDON_TRY_VOID(check_tenant(m_options));
  CORDON_TRY_VOID(check_consecutive(first_index, entries));
  CORDON_TRY_VOID(check_entries(m_options, entries));
  if (entries.empty()) return ok();
  CORDON_TRY_VOID(connection());
  return guarded(m_options.name, m_connection, [&]() -> Result<void> {
    notice_lost_connection(m_connection->session);
    pqxx::work transaction(m_connection->session);
    transaction.exec_params(k_set_tenant_sql, m_options.tenant);
    const auto stored = static_cast<std::uint64_t>(
        transaction.exec_params1(k_cursor_sql, m_options.tenant)[0].as<std::int64_t>());
    if (first_index > stored) {
      return fail(Errc::conflict, fmt::format("{}: holds {} entries; writing from index {} would "
                                              "leave a gap",
                                              m_options.name, stored, first_index));
    }
    const auto overlap = static_cast<std::size_t>(std::min<std::uint64_t>(stored - first_index,
                                                                          entries.size()));
    CORDON_TRY_VOID(compare_stored(transaction, m_options.tenant, entries.first(overlap),
                                   m_options.name));
    const auto fresh = entries.subspan(overlap);
    if (!fresh.empty()) {
      const auto arrays = insert_arrays(fresh);
      const auto inserted = transaction.exec_params(k_insert_sql, m_options.tenant, arrays.indexes,
                                                    arrays.leaves, arrays.hashes, arrays.queryable);
      // Fewer rows than sent means another writer stored some of them meanwhile: they must match.
      if (inserted.size() != fresh.size()) {
        CORDON_TRY_VOID(compare_stored(transaction, m_options.tenant, fresh, m_options.name));
      }
    }
    transaction.commit();
    return ok();
  });
}

} // namespace cordon::audit
