#include <pqxx/pqxx>

#include "auditd/sinks/postgres_sink.h"
#include "sink_test_helpers.h"

namespace cordon::audit::test {
namespace {

using Catch::Matchers::Contains;

PostgresSinkOptions options_for(const testing::TempPostgres& server, std::string tenant,
                                std::string dsn = {}) {
  PostgresSinkOptions options;
  options.dsn = dsn.empty() ? server.dsn() : std::move(dsn);
  options.tenant = std::move(tenant);
  return options;
}

// Writes `count` entries from index 0 for `tenant` through a fresh sink.
void seed(const testing::TempPostgres& server, const std::string& tenant, std::size_t count) {
  PostgresSink sink(options_for(server, tenant));
  const auto entries = make_entries(0, count, tenant);
  const auto written = sink.write(0, entries);
  INFO((written ? std::string() : written.error().message));
  REQUIRE(written);
}

struct Refusal {
  std::string message; // empty: the statement succeeded
  bool insufficient_privilege = false; // SQLSTATE 42501, the trigger's ERRCODE
};

// Runs `sql` in a transaction that has set cordon.tenant, as the role of `dsn`.
Refusal run_as(const std::string& dsn, const std::string& tenant, const std::string& sql) {
  pqxx::connection session(dsn);
  pqxx::work transaction(session);
  transaction.exec_params("SELECT set_config('cordon.tenant', $1, true)", tenant);
  try {
    transaction.exec(sql);
  } catch (const pqxx::sql_error& e) {
    // libpqxx 6.4 leaves sqlstate() empty on the subclasses it maps SQLSTATEs to.
    return {e.what(), dynamic_cast<const pqxx::insufficient_privilege*>(&e) != nullptr};
  }
  transaction.commit();
  return {};
}

std::int64_t count_rows(const testing::TempPostgres& server, const std::string& tenant) {
  pqxx::connection session(server.superuser_dsn());
  pqxx::work transaction(session);
  return transaction
      .exec_params1("SELECT count(*) FROM cordon_audit_events WHERE tenant_id = $1", tenant)[0]
      .as<std::int64_t>();
}

TEST_CASE("postgres sink stores each leaf's exact bytes, its hash and a queryable jsonb copy") {
  auto& server = shared_postgres();
  seed(server, "exact", 3);

  pqxx::connection session(server.superuser_dsn());
  pqxx::work transaction(session);
  const auto rows = transaction.exec(
      "SELECT idx, leaf, leaf_hash, event->>'kind', event->'data'->>'big' FROM cordon_audit_events "
      "WHERE tenant_id = 'exact' ORDER BY idx");
  REQUIRE(rows.size() == 3);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto expected = make_entry(i, "exact");
    CHECK(rows[i][0].as<std::uint64_t>() == i);
    CHECK(rows[i][1].as<std::string>() == expected.leaf);
    CHECK(rows[i][2].as<std::string>() == expected.leaf_hash_hex);
    CHECK(rows[i][3].as<std::string>() == "tool.executed");
    CHECK(rows[i][4].as<std::string>() == "18446744073709551615");
  }
}

TEST_CASE("postgres sink keeps a leaf jsonb cannot hold byte for byte, with a NULL jsonb copy") {
  auto& server = shared_postgres();
  PostgresSink sink(options_for(server, "nul-escape"));
  SinkEntry entry;
  entry.index = 0;
  entry.leaf = R"({"data":"a\u0000b","index":0})";
  entry.leaf_hash_hex = leaf_hash_hex(entry.leaf);
  entry.tenant = "nul-escape";
  REQUIRE(sink.write(0, std::span(&entry, 1)));

  pqxx::connection session(server.superuser_dsn());
  pqxx::work transaction(session);
  const auto row = transaction.exec1(
      "SELECT leaf, event IS NULL FROM cordon_audit_events WHERE tenant_id = 'nul-escape'");
  CHECK(row[0].as<std::string>() == entry.leaf);
  CHECK(row[1].as<bool>());
}

TEST_CASE("postgres sink table refuses UPDATE, by its trigger, for the owner and a superuser") {
  auto& server = shared_postgres();
  seed(server, "no-update", 2);

  for (const auto& dsn : {server.dsn(), server.superuser_dsn()}) {
    const auto refusal =
        run_as(dsn, "no-update", "UPDATE cordon_audit_events SET leaf = '{}' WHERE idx = 1");
    CHECK_THAT(refusal.message, Contains("cordon_audit_events is append-only: UPDATE refused"));
    CHECK(refusal.insufficient_privilege);
  }
  pqxx::connection session(server.superuser_dsn());
  pqxx::work transaction(session);
  CHECK(transaction
            .exec1("SELECT leaf FROM cordon_audit_events WHERE tenant_id = 'no-update' AND idx = 1")[0]
            .as<std::string>() == make_entry(1, "no-update").leaf);
}

TEST_CASE("postgres sink table refuses DELETE, by its trigger, for the owner and a superuser") {
  auto& server = shared_postgres();
  seed(server, "no-delete", 2);

  for (const auto& dsn : {server.dsn(), server.superuser_dsn()}) {
    const auto refusal = run_as(dsn, "no-delete", "DELETE FROM cordon_audit_events");
    CHECK_THAT(refusal.message, Contains("cordon_audit_events is append-only: DELETE refused"));
    CHECK(refusal.insufficient_privilege);
  }
  CHECK(count_rows(server, "no-delete") == 2);
}

TEST_CASE("postgres sink table refuses TRUNCATE, by its trigger, for the owner and a superuser") {
  auto& server = shared_postgres();
  seed(server, "no-truncate", 2);

  for (const auto& dsn : {server.dsn(), server.superuser_dsn()}) {
    const auto refusal = run_as(dsn, "no-truncate", "TRUNCATE cordon_audit_events");
    CHECK_THAT(refusal.message, Contains("cordon_audit_events is append-only: TRUNCATE refused"));
    CHECK(refusal.insufficient_privilege);
  }
  CHECK(count_rows(server, "no-truncate") == 2);
}

TEST_CASE("postgres sink table refuses an UPDATE even when row-level security hides every row") {
  auto& server = shared_postgres();
  seed(server, "hidden-update", 1);

  const auto refusal =
      run_as(server.dsn(), "someone-else", "UPDATE cordon_audit_events SET leaf = '{}'");
  CHECK_THAT(refusal.message, Contains("append-only: UPDATE refused"));
}

TEST_CASE("postgres row-level security: another tenant's session sees no rows and cannot insert "
          "rows for acme") {
  auto& server = shared_postgres();
  seed(server, "acme", 3);
  REQUIRE(count_rows(server, "acme") == 3);

  pqxx::connection session(server.dsn()); // the ordinary role, not a superuser
  {
    pqxx::work transaction(session);
    transaction.exec("SELECT set_config('cordon.tenant', 'other', true)");
    CHECK(transaction.exec1("SELECT count(*) FROM cordon_audit_events")[0].as<int>() == 0);
  }
  {
    pqxx::work transaction(session);
    CHECK(transaction.exec1("SELECT count(*) FROM cordon_audit_events")[0].as<int>() == 0);
  }
  const auto refusal = run_as(server.dsn(), "other",
                              "INSERT INTO cordon_audit_events (tenant_id, idx, leaf, leaf_hash) "
                              "VALUES ('acme', 99, '{}', 'ff')");
  CHECK_THAT(refusal.message, Contains("violates row-level security policy"));
  CHECK(count_rows(server, "acme") == 3);
}

TEST_CASE("postgres sink refuses an entry for another tenant than its own") {
  auto& server = shared_postgres();
  PostgresSink sink(options_for(server, "mine"));
  REQUIRE(sink.ensure_schema());
  const auto entries = make_entries(0, 1, "theirs");

  const auto written = sink.write(0, entries);
  REQUIRE_FALSE(written);
  CHECK(written.error().code == Errc::invalid_argument);
  CHECK(count_rows(server, "theirs") == 0);
}

TEST_CASE("postgres sink re-writing stored indexes is idempotent") {
  auto& server = shared_postgres();
  PostgresSink sink(options_for(server, "idempotent"));
  const auto entries = make_entries(0, 15, "idempotent");

  REQUIRE(sink.write(0, std::span(entries).first(10)));
  REQUIRE(sink.write(5, std::span(entries).subspan(5)));
  REQUIRE(sink.write(0, entries));

  CHECK(count_rows(server, "idempotent") == 15);
  CHECK(sink.cursor() == 15u);
}

TEST_CASE("postgres sink refuses a re-sent index whose leaf hash differs from the stored one") {
  auto& server = shared_postgres();
  PostgresSink sink(options_for(server, "diverged"));
  REQUIRE(sink.write(0, make_entries(0, 3, "diverged")));

  auto forged = make_entries(1, 1, "diverged");
  forged[0].leaf = R"({"forged":true})";
  forged[0].leaf_hash_hex = leaf_hash_hex(forged[0].leaf);
  const auto written = sink.write(1, forged);
  REQUIRE_FALSE(written);
  CHECK(written.error().code == Errc::integrity);
  CHECK_THAT(written.error().message, Contains("index 1"));
}

TEST_CASE("postgres sink refuses a batch that would leave a gap after its cursor") {
  auto& server = shared_postgres();
  PostgresSink sink(options_for(server, "gap"));
  REQUIRE(sink.write(0, make_entries(0, 2, "gap")));

  const auto written = sink.write(3, make_entries(3, 2, "gap"));
  REQUIRE_FALSE(written);
  CHECK(written.error().code == Errc::conflict);
  CHECK(sink.cursor() == 2u);
}

TEST_CASE("postgres sink cursor is read from the table, so a new connection resumes exactly") {
  auto& server = shared_postgres();
  {
    PostgresSink empty(options_for(server, "resume"));
    CHECK(empty.cursor() == 0u);
  }
  seed(server, "resume", 7);

  PostgresSink reopened(options_for(server, "resume"));
  CHECK(reopened.cursor() == 7u);
  REQUIRE(reopened.write(7, make_entries(7, 3, "resume")));
  CHECK(reopened.cursor() == 10u);
}

TEST_CASE("postgres sink fails with unavailable while the server is down and reconnects after") {
  auto server = start_postgres();
  PostgresSink sink(options_for(*server, "outage"));
  REQUIRE(sink.write(0, make_entries(0, 5, "outage")));

  REQUIRE(server->stop());
  const auto written = sink.write(5, make_entries(5, 5, "outage"));
  REQUIRE_FALSE(written);
  CHECK(written.error().code == Errc::unavailable);
  const auto cursor_while_down = sink.cursor();
  REQUIRE_FALSE(cursor_while_down);
  CHECK(cursor_while_down.error().code == Errc::unavailable);

  REQUIRE(server->start());
  CHECK(sink.cursor() == 5u);
  REQUIRE(sink.write(5, make_entries(5, 5, "outage")));
  CHECK(sink.cursor() == 10u);
}

TEST_CASE("postgres sink schema check re-creates a dropped append-only trigger") {
  auto server = start_postgres();
  PostgresSink sink(options_for(*server, "acme"));
  REQUIRE(sink.ensure_schema());
  REQUIRE(sink.ensure_schema()); // idempotent
  run_as(server->superuser_dsn(), "acme",
         "DROP TRIGGER cordon_audit_events_append_only ON cordon_audit_events");

  REQUIRE(sink.ensure_schema());
  REQUIRE(sink.write(0, make_entries(0, 1, "acme")));
  const auto refusal = run_as(server->dsn(), "acme", "DELETE FROM cordon_audit_events");
  CHECK_THAT(refusal.message, Contains("append-only: DELETE refused"));
}

TEST_CASE("postgres sink writes as a role that does not own the table, given INSERT and SELECT") {
  auto server = start_postgres();
  REQUIRE(PostgresSink(options_for(*server, "acme", server->superuser_dsn())).ensure_schema());
  run_as(server->superuser_dsn(), "acme",
         "CREATE ROLE cordon_writer LOGIN; "
         "GRANT SELECT, INSERT ON cordon_audit_events TO cordon_writer");

  PostgresSink sink(options_for(*server, "acme", server->dsn_for("cordon_writer", "cordon")));
  REQUIRE(sink.write(0, make_entries(0, 4, "acme")));
  CHECK(sink.cursor() == 4u);
  CHECK(count_rows(*server, "acme") == 4);
}

TEST_CASE("postgres sink reports a role without INSERT as permission_denied") {
  auto server = start_postgres();
  REQUIRE(PostgresSink(options_for(*server, "acme", server->superuser_dsn())).ensure_schema());
  run_as(server->superuser_dsn(), "acme",
         "CREATE ROLE cordon_reader LOGIN; GRANT SELECT ON cordon_audit_events TO cordon_reader");

  PostgresSink sink(options_for(*server, "acme", server->dsn_for("cordon_reader", "cordon")));
  CHECK(sink.cursor() == 0u);
  const auto written = sink.write(0, make_entries(0, 1, "acme"));
  REQUIRE_FALSE(written);
  CHECK(written.error().code == Errc::permission_denied);
  CHECK_THAT(written.error().message, Contains("permission denied"));
}

TEST_CASE("postgres sink schema_sql creates what ensure_schema accepts") {
  auto server = start_postgres();
  {
    pqxx::connection session(server->dsn());
    pqxx::work transaction(session);
    transaction.exec(std::string(PostgresSink::schema_sql()));
    transaction.commit();
  }
  PostgresSink sink(options_for(*server, "acme"));
  REQUIRE(sink.write(0, make_entries(0, 2, "acme")));
  const auto refusal = run_as(server->dsn(), "acme", "TRUNCATE cordon_audit_events");
  CHECK_THAT(refusal.message, Contains("append-only: TRUNCATE refused"));
}

} // namespace
} // namespace cordon::audit::test
