// The customer's copies: a real PostgreSQL and a JSONL file receive every entry; the table
// refuses UPDATE and DELETE; an outage of the database never blocks appends and is caught up.
#include <chrono>
#include <thread>

#include <pqxx/pqxx>

#include "common/files.h"
#include "tests/integration/auditd/helpers.h"
#include "tests/support/postgres.h"

using namespace cordon;
using namespace cordon::testing;

namespace {

std::uint64_t row_count(TempPostgres& pg) {
  try {
    pqxx::connection connection(pg.superuser_dsn());
    pqxx::work tx(connection);
    return tx.exec1("select count(*) from cordon_audit_events where tenant_id = 'test'")[0].as<std::uint64_t>();
  } catch (const std::exception&) {
    return 0;
  }
}

// Waits (bounded) until the table holds `size` rows.
bool wait_for_rows(TempPostgres& pg, std::uint64_t size) {
  for (int i = 0; i < 300; ++i) {
    if (row_count(pg) == size) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string all_leaves_from_postgres(TempPostgres& pg) {
  pqxx::connection connection(pg.superuser_dsn());
  pqxx::work tx(connection);
  std::string out;
  for (const auto& row : tx.exec("select leaf from cordon_audit_events where tenant_id = 'test' order by idx"))
    out += row[0].as<std::string>() + "\n";
  return out;
}

} // namespace

TEST_CASE("the PostgreSQL and JSONL sinks receive every entry byte for byte, refuse changes, and catch up after an outage") {
  auto pg = TempPostgres::create();
  INFO((pg ? std::string() : pg.error().message));
  REQUIRE(pg.has_value());
  TempDir directory("cordon-sink");
  AuditdProcessOptions options;
  options.directory = directory.path();
  options.postgres_sinks = {(*pg)->dsn()};
  options.jsonl_sinks = {directory / "copy" / "audit.jsonl"};
  RunningAuditd auditd(options);

  for (int i = 0; i < 100; ++i) REQUIRE(auditd.client.post("/v1/events", event_body("tool.executed", i))->status == 201);
  auto size = tree_size(auditd.client);
  REQUIRE(wait_for_rows(**pg, size));
  CHECK(all_leaves_from_postgres(**pg) == auditd.client.get("/v1/events")->body);

  // The table is append-only, for the sink's own role and for its owner.
  {
    pqxx::connection connection((*pg)->dsn());
    for (const char* statement : {"update cordon_audit_events set leaf = 'x' where idx = 1",
                                  "delete from cordon_audit_events where idx = 1",
                                  "truncate cordon_audit_events"}) {
      INFO(statement);
      pqxx::work tx(connection);
      tx.exec("select set_config('cordon.tenant', 'test', true)");
      CHECK_THROWS(tx.exec(statement));
    }
  }
  CHECK(row_count(**pg) == size);

  // An outage: appends keep being acknowledged, the status route reports the sink down.
  REQUIRE((*pg)->stop().has_value());
  for (int i = 0; i < 100; ++i) REQUIRE(auditd.client.post("/v1/events", event_body("tool.executed", 100 + i))->status == 201);
  size = tree_size(auditd.client);
  bool reported_down = false;
  for (int i = 0; i < 200 && !reported_down; ++i) {
    auto status = get_json(auditd.client, "/v1/status");
    for (const auto& sink : status["sinks"]) reported_down = reported_down || sink["state"] == "down";
    if (!reported_down) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(reported_down);

  // Back: the sink catches up from its own cursor, with no gap and no duplicate.
  REQUIRE((*pg)->start().has_value());
  REQUIRE(wait_for_rows(**pg, size));
  const auto served = auditd.client.get("/v1/events")->body;
  CHECK(all_leaves_from_postgres(**pg) == served);
  for (int i = 0; i < 100; ++i) {
    auto jsonl = read_file(directory / "copy" / "audit.jsonl");
    if (jsonl && *jsonl == served) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(read_file(directory / "copy" / "audit.jsonl").value() == served);
}
