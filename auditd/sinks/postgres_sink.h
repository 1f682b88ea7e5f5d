#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "auditd/sinks/sink.h"

namespace cordon::audit {

struct PostgresSinkOptions {
  // A libpq connection string (key=value or URI). Never logged: it may hold a password.
  std::string dsn;
  // The appliance's tenant. Rows are written and the cursor is read under this tenant's
  // row-level security; an entry for another tenant is refused (Errc::invalid_argument).
  std::string tenant;
  std::string name = "postgres";
};

// A sink into the customer's PostgreSQL (DESIGN.md §7), table `cordon_audit_events`:
//
//   tenant_id text, idx bigint, leaf text (the exact leaf bytes), event jsonb (the same leaf, for
//   queries; NULL for the rare leaf PostgreSQL's jsonb cannot hold, such as one with \u0000),
//   leaf_hash text, inserted_at timestamptz; primary key (tenant_id, idx).
//
// The table is append-only: a statement trigger refuses UPDATE, DELETE and TRUNCATE for every
// role, the owner included. Row-level security is enabled and forced (it binds the owner too):
// a session sees and may insert only rows whose tenant_id equals the `cordon.tenant` setting,
// which each of our transactions sets locally. Superusers and BYPASSRLS roles bypass the policy
// (not the trigger), so the DSN should name an ordinary role.
//
// The connection is opened lazily and after every failure: each call that finds no connection
// connects and runs ensure_schema() first, so a sink configured while the database is down
// starts working when it comes back. A lost connection fails the call with Errc::unavailable.
class PostgresSink final : public Sink {
public:
  explicit PostgresSink(PostgresSinkOptions options);
  ~PostgresSink() override;
  PostgresSink(const PostgresSink&) = delete;
  PostgresSink& operator=(const PostgresSink&) = delete;

  std::string_view name() const override { return m_options.name; }

  // The next index: coalesce(max(idx) + 1, 0) over this tenant's rows.
  Result<std::uint64_t> cursor() override;

  // Inserts the batch in one transaction (INSERT ... ON CONFLICT DO NOTHING). Entries the table
  // already holds are compared by leaf hash instead: a different hash for a stored index fails
  // with Errc::integrity, since the copy and the ledger would then disagree.
  Result<void> write(std::uint64_t first_index, std::span<const SinkEntry> entries) override;

  // Creates whatever is absent (table, trigger function, trigger, row-level security, policy)
  // in one transaction, serialised across sinks by an advisory lock. Parts that exist are only
  // checked, so a role that does not own a table a DBA created from schema_sql() can use it.
  // Fails if the database encoding is not UTF8 (the leaf bytes would not survive).
  Result<void> ensure_schema();

  // The DDL ensure_schema() runs on an empty database, for a DBA who prefers to create it.
  static std::string_view schema_sql();

private:
  struct Connection;

  Result<Connection*> connection();
  Result<void> ensure_schema_on(Connection& connection);

  PostgresSinkOptions m_options;
  std::unique_ptr<Connection> m_connection;
};

} // namespace cordon::audit
