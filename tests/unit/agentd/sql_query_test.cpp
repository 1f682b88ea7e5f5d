// sql.query against a real PostgreSQL (DESIGN.md §6.2): the classifier and the database's
// read-only transaction each stop a write on their own, and reads come back bounded.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "agentd/tools/sql_query.h"
#include "common/sql/sql_classifier.h"
#include "tests/support/postgres.h"

using namespace cordon;
using namespace cordon::agentd;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Strings = std::vector<std::string>;

namespace {

// As the superuser: `readable` the role may only read, `writable` (with its sequence and
// indexes) and more the role owns, so that only the gate stops a write to them, not privileges.
constexpr char setup_sql[] = R"sql(
CREATE TABLE public.readable (id int PRIMARY KEY, name text NOT NULL, note text);
INSERT INTO readable
  SELECT g, 'name ' || g, CASE WHEN g % 5 = 0 THEN NULL ELSE 'note ' || g END FROM generate_series(1, 25) g;
UPDATE readable SET note = E'tab\there\nnewline \\ backslash' WHERE id = 1;
GRANT SELECT ON readable TO cordon_sink;
CREATE TABLE public.secret (value text);
INSERT INTO secret VALUES ('superuser only');
CREATE TABLE public.writable (id serial PRIMARY KEY, body text, words tsvector);
INSERT INTO writable (body, words) SELECT 'row ' || g, to_tsvector('simple', 'a b') FROM generate_series(1, 10) g;
CREATE INDEX writable_brin ON writable USING brin (id);
CREATE INDEX writable_gin ON writable USING gin (words) WITH (fastupdate = on);
ALTER TABLE writable OWNER TO cordon_sink;
COMMENT ON TABLE writable IS 'original';
CREATE SEQUENCE public.counter;
SELECT nextval('counter');
ALTER SEQUENCE counter OWNER TO cordon_sink;
CREATE MATERIALIZED VIEW public.summary AS SELECT count(*) AS n FROM writable WITH NO DATA;
ALTER MATERIALIZED VIEW summary OWNER TO cordon_sink;
CREATE FUNCTION public.add_row() RETURNS int LANGUAGE plpgsql SECURITY DEFINER
  AS $$BEGIN INSERT INTO writable (body) VALUES ('definer'); RETURN 1; END$$;
CREATE VIEW public.adding_view AS SELECT public.add_row() AS added;
GRANT SELECT ON adding_view TO cordon_sink;
CREATE PROCEDURE public.add_row_procedure() LANGUAGE sql AS $$INSERT INTO writable (body) VALUES ('procedure')$$;
ALTER PROCEDURE add_row_procedure() OWNER TO cordon_sink;
SELECT lo_create(4242);
ALTER LARGE OBJECT 4242 OWNER TO cordon_sink;
CREATE ROLE cordon_legacy LOGIN;
GRANT SELECT ON readable TO cordon_legacy;
ALTER ROLE cordon_legacy SET standard_conforming_strings = off;
)sql";

// Everything a write could change, as the superuser sees it: every user table's rows, the
// relations with their owners, privileges, comments, sizes and statistics, functions, schemas,
// roles and their settings, sequences' last values, large objects, extensions, triggers,
// policies, prepared transactions, replication slots.
constexpr char catalog_sql[] = R"sql(
SELECT string_agg(line, E'\n' ORDER BY line) FROM (
  SELECT format('relation %s.%s %s %s %s %s %s %s %s', n.nspname, c.relname, c.relkind, c.relowner::regrole,
                c.relacl, c.reloptions, c.relpages, c.reltuples, c.relispopulated)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg\_%temp\_%'
  UNION ALL SELECT format('attribute %s %s %s', attrelid::regclass, attname, atttypid::regtype) FROM pg_attribute
    WHERE attrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace) AND attnum > 0
  UNION ALL SELECT format('schema %s %s %s', nspname, nspowner::regrole, nspacl) FROM pg_namespace
  UNION ALL SELECT format('function %s %s %s %s', p.oid::regprocedure, p.proowner::regrole, md5(p.prosrc), p.proacl)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  UNION ALL SELECT format('comment %s %s %s %s', classoid, objoid, objsubid, description) FROM pg_description WHERE objoid >= 16384
  UNION ALL SELECT format('role %s %s %s', rolname, rolsuper, rolcanlogin) FROM pg_roles
  UNION ALL SELECT format('role setting %s %s %s', setdatabase, setrole, setconfig) FROM pg_db_role_setting
  UNION ALL SELECT format('database %s %s', datname, datacl) FROM pg_database
  UNION ALL SELECT format('extension %s %s', extname, extversion) FROM pg_extension
  UNION ALL SELECT format('large object %s %s', oid, lomowner::regrole) FROM pg_largeobject_metadata
  UNION ALL SELECT format('large object pages %s', md5(coalesce(string_agg(loid || ':' || pageno || ':' || encode(data, 'hex'), ','
                                                                  ORDER BY loid, pageno), ''))) FROM pg_largeobject
  UNION ALL SELECT format('sequence %s.%s %s', schemaname, sequencename, last_value) FROM pg_sequences
  UNION ALL SELECT format('statistics %s', count(*)) FROM pg_statistic s JOIN pg_class c ON c.oid = s.starelid
    WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT format('trigger %s %s', tgrelid::regclass, tgname) FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL SELECT format('policy %s %s', polrelid::regclass, polname) FROM pg_policy
  UNION ALL SELECT format('prepared transaction %s', gid) FROM pg_prepared_xacts
  UNION ALL SELECT format('replication slot %s', slot_name) FROM pg_replication_slots
  UNION ALL SELECT format('default acl %s', defaclacl) FROM pg_default_acl
) AS lines(line)
)sql";

constexpr char tables_sql[] = R"sql(
SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'm') AND (c.relkind <> 'm' OR c.relispopulated)
    AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg\_%temp\_%'
  ORDER BY 1
)sql";

struct Shared {
  std::unique_ptr<testing::TempPostgres> server;
  bool has_pg_surgery = false;
};

void set_up(Shared& shared) {
  pqxx::connection session(shared.server->superuser_dsn());
  pqxx::nontransaction statement(session);
  statement.exec(setup_sql);
  shared.has_pg_surgery =
      statement.exec("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_surgery'").size() == 1;
  if (shared.has_pg_surgery) {
    // The role may then call heap_force_kill on the tables it owns: only the gate stops it.
    statement.exec("CREATE EXTENSION pg_surgery");
    statement.exec("GRANT EXECUTE ON FUNCTION heap_force_kill(regclass, tid[]) TO cordon_sink");
    statement.exec("CREATE TABLE public.victim (id int); INSERT INTO victim VALUES (1), (2); "
                   "ALTER TABLE victim OWNER TO cordon_sink");
  }
}

// One server for the whole binary; autovacuum is off, so nothing changes statistics or pages
// behind the checksum.
Shared& shared() {
  static Shared instance;
  if (!instance.server) {
    testing::TempPostgresOptions options;
    options.settings = {"autovacuum=off"};
    auto created = testing::TempPostgres::create(options);
    if (!created) FAIL("cannot start PostgreSQL: " << created.error().message);
    instance.server = std::move(*created);
    set_up(instance);
  }
  return instance;
}

testing::TempPostgres& server() { return *shared().server; }

constexpr char nowhere_dsn[] = "host=/tmp/cordon-sql-nowhere port=5999 dbname=cordon user=cordon_sink password=hunter2-secret";

std::unique_ptr<Tool> make_tool() {
  auto& pg = server();
  return make_sql_query({
      {"main", pg.dsn(), 5000ms, 1000},
      {"capped", pg.dsn(), 5000ms, 5},
      {"timed", pg.dsn(), 100ms, 1000},
      {"legacy", pg.dsn_for("cordon_legacy", "cordon"), 5000ms, 1000},
      {"nowhere", nowhere_dsn, 5000ms, 1000},
  });
}

Json call(const std::string& database, const std::string& sql) { return {{"database", database}, {"sql", sql}}; }

Json call(const std::string& database, const std::string& sql, std::int64_t max_rows) {
  Json arguments = call(database, sql);
  arguments["max_rows"] = max_rows;
  return arguments;
}

ToolOutput ran(Tool& tool, const Json& arguments) {
  auto output = tool.run(arguments, "run-1");
  if (!output) FAIL("sql.query " << arguments.dump() << " failed: " << output.error().message);
  return std::move(*output);
}

Error refused(Tool& tool, const Json& arguments) {
  auto output = tool.run(arguments, "run-1");
  if (output) FAIL("sql.query " << arguments.dump() << " succeeded: " << output->text);
  return output.error();
}

std::string checksum() {
  pqxx::connection session(server().superuser_dsn());
  pqxx::read_transaction transaction(session);
  std::string sum = transaction.exec(catalog_sql)[0][0].c_str();
  for (const auto& row : transaction.exec(tables_sql)) {
    const std::string table = row[0].c_str();
    sum += "\ntable " + table + " " +
           transaction.exec("SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM " + table + " t")[0][0]
               .c_str();
  }
  return sum;
}

std::string trimmed(std::string text) {
  const auto first = text.find_first_not_of(" \n\t");
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(" \n\t") - first + 1);
}

// The corpus: entries separated by a line `---`, lines starting with `#` left out.
Strings write_corpus() {
  std::ifstream file(std::string(CORDON_SOURCE_DIR) + "/tests/unit/agentd/sql_write_corpus.txt");
  if (!file) FAIL("cannot open tests/unit/agentd/sql_write_corpus.txt");
  Strings entries;
  std::string entry;
  std::string line;
  const auto finish = [&] {
    if (auto text = trimmed(entry); !text.empty()) entries.push_back(std::move(text));
    entry.clear();
  };
  while (std::getline(file, line)) {
    if (line == "---") {
      finish();
    } else if (!line.starts_with("#")) {
      entry += line + "\n";
    }
  }
  finish();
  return entries;
}

ReadLimits limits(std::chrono::milliseconds timeout = 5000ms, std::int64_t max_rows = 1000) {
  ReadLimits out;
  out.statement_timeout = timeout;
  out.max_rows = max_rows;
  return out;
}

} // namespace

TEST_CASE("every write of the corpus is refused and leaves the database exactly as it was") {
  auto tool = make_tool();
  const Strings corpus = write_corpus();
  REQUIRE(corpus.size() >= 60);
  const std::string before = checksum();
  std::size_t by_classifier = 0;
  std::size_t by_database = 0;
  for (const auto& sql : corpus) {
    CAPTURE(sql);
    // Each entry parses, so what refuses it is the gate, not a syntax error.
    const auto classification = sql::classify(sql);
    REQUIRE(classification);
    const Error error = refused(*tool, call("main", sql));
    CAPTURE(error.message);
    if (!classification->read_only) {
      CHECK(error.code == Errc::permission_denied);
      CHECK_THAT(error.message, Contains(classification->reasons.front()));
      ++by_classifier;
    } else {
      // What the classifier cannot see (a function's body) the READ ONLY transaction stops.
      CHECK(error.code == Errc::permission_denied);
      CHECK_THAT(error.message, Contains("SQLSTATE 25006"));
      ++by_database;
    }
    REQUIRE(checksum() == before);
  }
  INFO(by_classifier << " refused by the classifier, " << by_database << " by the database");
  CHECK(by_database >= 1);
  CHECK(by_database <= 4);
}

TEST_CASE("maintenance functions that PostgreSQL runs in a READ ONLY transaction are the classifier's to refuse") {
  const std::vector<std::string> writers = {"SELECT brin_summarize_new_values('writable_brin')",
                                            "SELECT gin_clean_pending_list('writable_gin')",
                                            "SELECT heap_force_kill('victim'::regclass, ARRAY['(0,1)']::tid[])"};
  auto tool = make_tool();
  const std::string before = checksum();
  for (const auto& sql : writers) {
    CAPTURE(sql);
    const Error error = refused(*tool, call("main", sql));
    CHECK(error.code == Errc::permission_denied);
    CHECK_THAT(error.message, Contains("is a function with side effects"));
  }
  CHECK(checksum() == before);
  // Below the classifier the database lets them run, and heap_force_kill's deletion outlives the
  // ROLLBACK: the database's guard alone would not have stopped these.
  for (std::size_t i = 0; i < writers.size(); ++i) {
    if (i == 2 && !shared().has_pg_surgery) continue;
    CAPTURE(writers[i]);
    CHECK(run_read_only(server().dsn(), writers[i], Fetch::cursor, limits()));
  }
  if (shared().has_pg_surgery) {
    pqxx::connection session(server().superuser_dsn());
    pqxx::read_transaction transaction(session);
    CHECK(transaction.exec("SELECT count(*) FROM victim")[0][0].as<int>() == 1);
  }
}

TEST_CASE("the database alone refuses a write the classifier were to miss") {
  const std::string before = checksum();
  struct Case {
    const char* sql;
    Fetch fetch;
  };
  for (const auto& [sql, fetch] : {
           Case{"INSERT INTO writable (body) VALUES ('missed')", Fetch::direct},
           Case{"UPDATE writable SET body = 'missed' RETURNING *", Fetch::direct},
           Case{"DELETE FROM writable", Fetch::direct},
           Case{"TRUNCATE writable", Fetch::direct},
           Case{"CREATE TABLE missed (id int)", Fetch::direct},
           Case{"DO $$BEGIN DELETE FROM writable; END$$", Fetch::direct},
           Case{"WITH gone AS (DELETE FROM writable RETURNING *) SELECT count(*) FROM gone", Fetch::direct},
           Case{"SELECT nextval('counter')", Fetch::cursor},
           Case{"SELECT setval('counter', 1000)", Fetch::cursor},
           Case{"SELECT public.add_row()", Fetch::cursor},
       }) {
    CAPTURE(sql);
    const auto classification = sql::classify(sql);
    REQUIRE(classification);
    const auto result = run_read_only(server().dsn(), sql, fetch, limits());
    REQUIRE_FALSE(result);
    CAPTURE(result.error().message);
    CHECK(result.error().code == Errc::permission_denied);
    CHECK_THAT(result.error().message, Contains("SQLSTATE 25006"));
    CHECK_THAT(result.error().message, !Contains(server().dsn()));
    REQUIRE(checksum() == before);
  }
}

TEST_CASE("a second statement in the text is refused by the protocol, not run") {
  const std::string before = checksum();
  for (const Fetch fetch : {Fetch::direct, Fetch::cursor}) {
    const auto result = run_read_only(server().dsn(), "SELECT 1; DELETE FROM writable", fetch, limits());
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::invalid_argument);
    CHECK_THAT(result.error().message, Contains("SQLSTATE 42601"));
  }
  CHECK(checksum() == before);
}

TEST_CASE("a function cannot switch the transaction back to read-write") {
  const auto result = run_read_only(server().dsn(), "SELECT set_config('transaction_read_only', 'off', true)",
                                    Fetch::cursor, limits());
  REQUIRE_FALSE(result);
  CHECK_THAT(result.error().message, Contains("read-write mode must be set before any query"));
}

TEST_CASE("a SELECT returns its columns, rows and values, NULL as null, and the rows are untrusted") {
  auto tool = make_tool();
  const auto out = ran(*tool, call("main", "SELECT id, name, note FROM readable WHERE id <= 5 ORDER BY id"));
  CHECK(out.untrusted);
  CHECK(out.structured["columns"] == Json::array({"id", "name", "note"}));
  CHECK(out.structured["rows"] == Json::parse(R"([["1", "name 1", "tab\there\nnewline \\ backslash"],
                                                  ["2", "name 2", "note 2"], ["3", "name 3", "note 3"],
                                                  ["4", "name 4", "note 4"], ["5", "name 5", null]])"));
  CHECK(out.structured["row_count"] == 5);
  CHECK(out.structured["truncated"] == false);
  // COPY text form: tabs between fields, \N for NULL, escapes inside values, then the count.
  CHECK(out.text == "id\tname\tnote\n"
                    "1\tname 1\ttab\\there\\nnewline \\\\ backslash\n"
                    "2\tname 2\tnote 2\n3\tname 3\tnote 3\n4\tname 4\tnote 4\n5\tname 5\t\\N\n"
                    "(5 rows)");
  CHECK(out.audit["database"] == "main");
  CHECK(out.audit["statement"] == "SelectStmt");
  CHECK(out.audit["relations"] == Json::array({"readable"}));
  CHECK(out.audit["row_count"] == 5);
  CHECK(out.audit["columns"] == 3);
  CHECK(out.audit["truncated"] == false);
  const std::string audit = out.audit.dump();
  CHECK_THAT(audit, !Contains("name 1") && !Contains("note 2"));
}

TEST_CASE("an empty result still names its columns") {
  auto tool = make_tool();
  const auto out = ran(*tool, call("main", "SELECT id, name FROM readable WHERE id < 0"));
  CHECK(out.structured["columns"] == Json::array({"id", "name"}));
  CHECK(out.structured["rows"] == Json::array());
  CHECK(out.text == "id\tname\n(0 rows)");
}

TEST_CASE("max_rows caps the rows and says the result was truncated") {
  auto tool = make_tool();
  const auto capped = ran(*tool, call("main", "SELECT id FROM readable ORDER BY id", 10));
  CHECK(capped.structured["row_count"] == 10);
  CHECK(capped.structured["rows"].size() == 10);
  CHECK(capped.structured["rows"].back() == Json::array({"10"}));
  CHECK(capped.structured["truncated"] == true);
  CHECK(capped.audit["truncated"] == true);
  CHECK(capped.text.ends_with("\n10\n(10 rows; truncated, the result has more)"));
  // Exactly as many rows as the result has is not truncated.
  const auto all = ran(*tool, call("main", "SELECT id FROM readable ORDER BY id", 25));
  CHECK(all.structured["row_count"] == 25);
  CHECK(all.structured["truncated"] == false);
}

TEST_CASE("the database's max_rows wins when it is smaller than the call's") {
  auto tool = make_tool();
  for (const Json& arguments : {call("capped", "SELECT id FROM readable ORDER BY id", 100),
                                call("capped", "SELECT id FROM readable ORDER BY id")}) {
    CAPTURE(arguments.dump());
    const auto out = ran(*tool, arguments);
    CHECK(out.structured["row_count"] == 5);
    CHECK(out.structured["truncated"] == true);
    CHECK(out.audit["max_rows"] == 5);
  }
  CHECK(ran(*tool, call("capped", "SELECT id FROM readable ORDER BY id", 2)).structured["row_count"] == 2);
}

TEST_CASE("the cursor stops after max_rows + 1 rows instead of computing the whole result") {
  // An endless recursive query: through the cursor only four rows are ever computed, well inside
  // the 100 ms statement_timeout; run directly, it runs until the timeout cancels it.
  const std::string endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n";
  auto tool = make_tool();
  const auto out = ran(*tool, call("timed", endless, 3));
  CHECK(out.structured["rows"] == Json::parse(R"([["1"], ["2"], ["3"]])"));
  CHECK(out.structured["truncated"] == true);
  const auto direct = run_read_only(server().dsn(), endless, Fetch::direct, limits(100ms, 3));
  REQUIRE_FALSE(direct);
  CHECK_THAT(direct.error().message, Contains("SQLSTATE 57014"));
}

TEST_CASE("a slow query is cancelled at the statement_timeout with a clear error") {
  auto tool = make_tool();
  const auto begin = std::chrono::steady_clock::now();
  const Error error = refused(*tool, call("timed", "SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b"));
  const auto elapsed = std::chrono::steady_clock::now() - begin;
  CHECK(error.code == Errc::unavailable);
  CHECK_THAT(error.message, Contains("canceling statement due to statement timeout"));
  CHECK_THAT(error.message, Contains("SQLSTATE 57014"));
  CHECK_THAT(error.message, Contains("statement_timeout is 100 ms"));
  CHECK_THAT(error.message, Contains("database 'timed'"));
  CHECK(elapsed < 5s);
  // The server stopped it: the next call on the same database answers at once.
  CHECK(ran(*tool, call("timed", "SELECT 1")).structured["rows"] == Json::parse(R"([["1"]])"));
}

TEST_CASE("EXPLAIN without ANALYZE and SHOW run, and SHOW sees the limits in force") {
  auto tool = make_tool();
  const auto plan = ran(*tool, call("main", "EXPLAIN SELECT * FROM readable WHERE id = 1"));
  CHECK(plan.structured["columns"] == Json::array({"QUERY PLAN"}));
  REQUIRE(plan.structured["row_count"] >= 1);
  CHECK_THAT(plan.structured["rows"][0][0].get<std::string>(), Contains("readable"));
  CHECK(plan.audit["statement"] == "ExplainStmt");
  const auto json_plan = ran(*tool, call("main", "EXPLAIN (FORMAT JSON, VERBOSE) SELECT count(*) FROM readable"));
  CHECK_THAT(json_plan.structured["rows"][0][0].get<std::string>(), Contains("\"Plan\""));

  const auto show = [&](const std::string& database, const std::string& setting) {
    const auto out = ran(*tool, call(database, "SHOW " + setting));
    CHECK(out.audit["statement"] == "VariableShowStmt");
    return out.structured["rows"][0][0].get<std::string>();
  };
  CHECK(show("timed", "statement_timeout") == "100ms");
  CHECK(show("timed", "lock_timeout") == "100ms");
  CHECK(show("timed", "idle_in_transaction_session_timeout") == "5100ms");
  CHECK(show("main", "transaction_read_only") == "on");
  CHECK(show("main", "client_encoding") == "UTF8");
  // The legacy role's default is off; the transaction's setting wins.
  CHECK(show("legacy", "standard_conforming_strings") == "on");
}

TEST_CASE("a string the server would read otherwise without standard_conforming_strings runs as the classifier read it") {
  // With standard_conforming_strings off, \' does not end the first string: the server would see
  // SELECT '…' , pg_advisory_lock(7) AS b, a call the classifier never saw.
  const std::string sql = "SELECT 'A\\' AS a, ', pg_advisory_lock(7) AS b -- ' , 1";
  const auto classification = sql::classify(sql);
  REQUIRE(classification);
  REQUIRE(classification->read_only);
  {
    // The hazard is real: the legacy role's own session runs the call.
    pqxx::connection session(server().dsn_for("cordon_legacy", "cordon"));
    pqxx::quiet_errorhandler quiet(session); // the server warns about \'
    pqxx::read_transaction transaction(session);
    const auto result = transaction.exec(sql);
    CHECK(result.columns() == 2);
    CHECK(std::string(result.column_name(1)) == "b");
  }
  auto tool = make_tool();
  const auto out = ran(*tool, call("legacy", sql));
  CHECK(out.structured["columns"] == Json::array({"a", "?column?", "?column?"}));
  CHECK(out.structured["rows"] == Json::parse(R"([["A\\", ", pg_advisory_lock(7) AS b -- ", "1"]])"));
}

TEST_CASE("several statements in one call are refused, even when each is a read") {
  auto tool = make_tool();
  const Error error = refused(*tool, call("main", "SELECT 1; SELECT 2"));
  CHECK(error.code == Errc::invalid_argument);
  CHECK_THAT(error.message, Contains("one statement a call"));
}

TEST_CASE("an unknown database is refused, naming it and no DSN") {
  auto tool = make_tool();
  const Error error = refused(*tool, call("accounts", "SELECT 1"));
  CHECK(error.code == Errc::not_found);
  CHECK_THAT(error.message, Contains("'accounts'"));
  CHECK_THAT(error.message, Contains("'main'"));
  CHECK_THAT(error.message, !Contains(server().dsn()) && !Contains(server().directory().string()) && !Contains("host="));
  CHECK_FALSE(tool->simulate(call("accounts", "SELECT 1"), "run-1"));
}

TEST_CASE("errors from the database name their SQLSTATE") {
  auto tool = make_tool();
  const Error missing = refused(*tool, call("main", "SELECT * FROM no_such_table"));
  CHECK(missing.code == Errc::invalid_argument);
  CHECK_THAT(missing.message, Contains("SQLSTATE 42P01") && Contains("no_such_table"));
  const Error denied = refused(*tool, call("main", "SELECT * FROM secret"));
  CHECK(denied.code == Errc::permission_denied);
  CHECK_THAT(denied.message, Contains("SQLSTATE 42501") && !Contains("superuser only"));
}

TEST_CASE("a stopped server is a clear connection error without the DSN, and a call after its restart works") {
  auto tool = make_tool();
  auto& pg = server();
  REQUIRE(pg.stop());
  const Error error = refused(*tool, call("main", "SELECT 1"));
  REQUIRE(pg.start());
  CAPTURE(error.message);
  CHECK(error.code == Errc::unavailable);
  CHECK_THAT(error.message, Contains("database 'main'") && Contains("cannot connect") && Contains("SQLSTATE 08001"));
  CHECK_THAT(error.message, Contains("No such file or directory"));
  CHECK_THAT(error.message, !Contains(pg.directory().string()) && !Contains(std::to_string(pg.port())) &&
                                !Contains("cordon_sink") && !Contains("dbname"));
  const Error nowhere = refused(*tool, call("nowhere", "SELECT 1"));
  CHECK_THAT(nowhere.message, Contains("SQLSTATE 08001"));
  CHECK_THAT(nowhere.message, !Contains("hunter2-secret") && !Contains("/tmp/cordon-sql-nowhere") && !Contains("5999"));
  CHECK(ran(*tool, call("main", "SELECT 1")).structured["rows"] == Json::parse(R"([["1"]])"));
}

TEST_CASE("a dry run classifies and plans without connecting") {
  auto tool = make_tool();
  // "nowhere" has no server: a dry run that connected would fail.
  auto simulated = tool->simulate(call("nowhere", "SELECT name FROM readable JOIN writable USING (id)", 50), "run-1");
  REQUIRE(simulated);
  CHECK_FALSE(simulated->untrusted);
  CHECK(simulated->structured["would_run"] == true);
  CHECK(simulated->structured["statement"] == "SelectStmt");
  CHECK(simulated->structured["relations"] == Json::array({"readable", "writable"}));
  CHECK(simulated->structured["max_rows"] == 50);
  CHECK(simulated->audit["simulated"] == true);
  CHECK_THAT(simulated->text, Contains("nowhere") && Contains("reading readable, writable") && Contains("nothing was sent"));
  CHECK(refused(*tool, call("nowhere", "SELECT 1")).code == Errc::unavailable);
  // A write is refused by a dry run exactly as by a real one.
  auto write = tool->simulate(call("nowhere", "DELETE FROM writable"), "run-1");
  REQUIRE_FALSE(write);
  CHECK(write.error().code == Errc::permission_denied);
  CHECK_THAT(write.error().message, Contains("DELETE writes"));
}

TEST_CASE("the byte cap drops the rows past max_bytes and marks the result truncated") {
  ReadLimits bounded = limits();
  bounded.max_bytes = 3500;
  const auto out = run_read_only(server().dsn(), "SELECT repeat('x', 1000) FROM generate_series(1, 10)", Fetch::cursor, bounded);
  REQUIRE(out);
  CHECK(out->rows.size() == 3);
  CHECK(out->truncated);
}
