// The read-only SQL classifier (DESIGN.md §5.3 hard floor, §6.2 sql.query) on libpg_query.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "common/sql/sql_classifier.h"

using namespace cordon;
using sql::Classification;
using Strings = std::vector<std::string>;

namespace {

Classification classified(std::string_view text) {
  auto result = sql::classify(text);
  if (!result) FAIL("classify(" << text << ") failed: " << result.error().message);
  return *result;
}

Error refusal(std::string_view text) {
  auto result = sql::classify(text);
  if (result) FAIL("classify(" << text << ") succeeded");
  return result.error();
}

bool has_reason_starting(const Classification& c, std::string_view start) {
  return std::any_of(c.reasons.begin(), c.reasons.end(),
                     [&](const std::string& reason) { return reason.starts_with(start); });
}

bool has_reason(const Classification& c, std::string_view reason) {
  return std::find(c.reasons.begin(), c.reasons.end(), reason) != c.reasons.end();
}

std::string chain_of_additions(std::size_t terms) {
  std::string text = "SELECT 1";
  text.reserve(text.size() + 2 * terms);
  for (std::size_t i = 1; i < terms; ++i) text += "+1";
  return text;
}

} // namespace

TEST_CASE("a plain SELECT is read-only and lists its table") {
  const auto c = classified("SELECT id, name FROM users WHERE id = 1 ORDER BY name LIMIT 10");
  CHECK(c.read_only);
  CHECK(c.statements == Strings{"SelectStmt"});
  CHECK(c.relations == Strings{"users"});
  CHECK(c.reasons.empty());
}

TEST_CASE("a join is read-only and lists every table, schema-qualified where written") {
  const auto c = classified("SELECT * FROM sales.orders o JOIN Customers c ON c.id = o.customer_id "
                            "LEFT JOIN regions USING (region_id) WHERE o.id IN (SELECT order_id FROM refunds)");
  CHECK(c.read_only);
  CHECK(c.relations == Strings{"customers", "refunds", "regions", "sales.orders"});
}

TEST_CASE("a WITH query that reads is read-only and is not itself a relation") {
  const auto c = classified("WITH recent AS (SELECT * FROM orders WHERE placed > now() - interval '1 day') "
                            "SELECT count(*) FROM recent");
  CHECK(c.read_only);
  CHECK(c.relations == Strings{"orders"});
}

TEST_CASE("a recursive WITH query sees itself, a plain one only the WITH queries before it") {
  const auto recursive = classified("WITH RECURSIVE tree AS (SELECT id FROM nodes WHERE parent IS NULL "
                                    "UNION ALL SELECT n.id FROM nodes n JOIN tree t ON n.parent = t.id) "
                                    "SELECT * FROM tree");
  CHECK(recursive.read_only);
  CHECK(recursive.relations == Strings{"nodes"});
  // In a plain WITH, `b` inside `a` is the table b, not the later WITH query.
  CHECK(classified("WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a, b").relations == Strings{"b"});
  CHECK(classified("WITH RECURSIVE a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a, b").relations.empty());
}

TEST_CASE("UNION, INTERSECT and EXCEPT of reads are read-only") {
  const auto c = classified("SELECT a FROM x UNION SELECT a FROM y INTERSECT SELECT a FROM z "
                            "EXCEPT ALL SELECT a FROM w");
  CHECK(c.read_only);
  CHECK(c.statements == Strings{"SelectStmt"});
  CHECK(c.relations == Strings{"w", "x", "y", "z"});
}

TEST_CASE("VALUES is read-only and names no relation") {
  const auto c = classified("VALUES (1, 'a'), (2, 'b')");
  CHECK(c.read_only);
  CHECK(c.statements == Strings{"SelectStmt"});
  CHECK(c.relations.empty());
}

TEST_CASE("SHOW is read-only") {
  const auto c = classified("SHOW search_path");
  CHECK(c.read_only);
  CHECK(c.statements == Strings{"VariableShowStmt"});
}

TEST_CASE("EXPLAIN of a read without ANALYZE is read-only and lists the relations") {
  for (const char* text :
       {"EXPLAIN SELECT * FROM orders", "EXPLAIN (COSTS off, FORMAT json, VERBOSE) SELECT * FROM orders"}) {
    CAPTURE(text);
    const auto c = classified(text);
    CHECK(c.read_only);
    CHECK(c.statements == Strings{"ExplainStmt"});
    CHECK(c.relations == Strings{"orders"});
  }
}

TEST_CASE("writes, DDL, privileges, settings, COPY, DO, CALL and transaction control are not read-only") {
  struct Case {
    const char* text;
    const char* statement;
    const char* reason;
  };
  const Case cases[] = {
      {"INSERT INTO t VALUES (1)", "InsertStmt", "INSERT writes"},
      {"UPDATE t SET a = 1", "UpdateStmt", "UPDATE writes"},
      {"DELETE FROM t", "DeleteStmt", "DELETE writes"},
      {"MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", "MergeStmt", "MERGE writes"},
      {"TRUNCATE t", "TruncateStmt", "TRUNCATE deletes every row"},
      {"DROP TABLE t", "DropStmt", "DROP changes the schema"},
      {"CREATE TABLE t (a int)", "CreateStmt", "CREATE TABLE changes the schema"},
      {"CREATE TABLE t AS SELECT 1", "CreateTableAsStmt", "CREATE TABLE AS creates a table"},
      {"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", "CreateFunctionStmt",
       "CreateFunctionStmt is not a plain read"},
      {"ALTER TABLE t ADD COLUMN b int", "AlterTableStmt", "ALTER TABLE changes the schema"},
      {"GRANT SELECT ON t TO bob", "GrantStmt", "GRANT or REVOKE changes privileges"},
      {"REVOKE SELECT ON t FROM bob", "GrantStmt", "GRANT or REVOKE changes privileges"},
      {"SET search_path = evil", "VariableSetStmt", "SET changes a setting"},
      {"COPY t TO '/tmp/t.csv'", "CopyStmt", "COPY moves data between tables and files or programs"},
      {"COPY (SELECT 1) TO PROGRAM 'sh'", "CopyStmt", "COPY moves data between tables and files or programs"},
      {"DO $$ BEGIN DELETE FROM t; END $$", "DoStmt", "DO runs procedural code"},
      {"CALL cleanup()", "CallStmt", "CALL runs a procedure"},
      {"BEGIN", "TransactionStmt", "BEGIN, COMMIT, ROLLBACK and SAVEPOINT control the transaction"},
      {"COMMIT", "TransactionStmt", "BEGIN, COMMIT, ROLLBACK and SAVEPOINT control the transaction"},
      {"VACUUM t", "VacuumStmt", "VACUUM or ANALYZE changes a table's storage or statistics"},
      {"LOCK TABLE t", "LockStmt", "LOCK locks tables"},
      {"PREPARE p AS SELECT 1", "PrepareStmt", "PREPARE creates a prepared statement"},
      {"EXECUTE p", "ExecuteStmt", "EXECUTE runs a prepared statement the classifier cannot see"},
      {"DECLARE c CURSOR FOR SELECT 1", "DeclareCursorStmt", "DECLARE creates a cursor"},
      {"REFRESH MATERIALIZED VIEW v", "RefreshMatViewStmt", "REFRESH MATERIALIZED VIEW rewrites a view"},
      {"LISTEN c", "ListenStmt", "LISTEN subscribes to notifications"},
      {"NOTIFY c", "NotifyStmt", "NOTIFY sends a notification"},
  };
  for (const auto& [text, statement, reason] : cases) {
    CAPTURE(text);
    const auto c = classified(text);
    CHECK_FALSE(c.read_only);
    CHECK(c.statements == Strings{statement});
    CHECK(has_reason(c, reason));
  }
}

TEST_CASE("the target of a write is a relation even when a WITH query has its name") {
  CHECK(classified("DELETE FROM audit.events WHERE id = 1").relations == Strings{"audit.events"});
  CHECK(classified("WITH t AS (SELECT 1) DELETE FROM t").relations == Strings{"t"});
}

TEST_CASE("a DELETE inside a WITH query makes the SELECT not read-only") {
  const auto c = classified("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x");
  CHECK_FALSE(c.read_only);
  CHECK(c.statements == Strings{"SelectStmt"});
  CHECK(c.reasons == Strings{"DELETE writes"});
  CHECK(c.relations == Strings{"t"});
}

TEST_CASE("an INSERT, UPDATE or MERGE in a WITH query nested in a subquery makes the SELECT not read-only") {
  CHECK(classified("SELECT * FROM (WITH y AS (INSERT INTO t VALUES (1) RETURNING a) SELECT * FROM y) s").reasons ==
        Strings{"INSERT writes"});
  CHECK(classified("SELECT (WITH u AS (UPDATE t SET a = 2 RETURNING a) SELECT max(a) FROM u)").reasons ==
        Strings{"UPDATE writes"});
}

TEST_CASE("FOR UPDATE and the other locking clauses lock rows, also in a subquery") {
  CHECK(classified("SELECT * FROM t WHERE id = 1 FOR UPDATE").reasons == Strings{"FOR UPDATE locks rows"});
  CHECK(classified("SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED").reasons == Strings{"FOR NO KEY UPDATE locks rows"});
  CHECK(classified("SELECT * FROM t FOR SHARE OF t NOWAIT").reasons == Strings{"FOR SHARE locks rows"});
  const auto nested = classified("SELECT * FROM (SELECT * FROM t FOR KEY SHARE) s");
  CHECK_FALSE(nested.read_only);
  CHECK(nested.reasons == Strings{"FOR KEY SHARE locks rows"});
  CHECK(nested.relations == Strings{"t"});
}

TEST_CASE("SELECT INTO creates a table") {
  const auto c = classified("SELECT * INTO new_t FROM t");
  CHECK_FALSE(c.read_only);
  CHECK(c.reasons == Strings{"SELECT INTO creates a table"});
  CHECK(c.relations == Strings{"new_t", "t"});
}

TEST_CASE("EXPLAIN ANALYZE executes the statement, so it is not read-only even of a SELECT") {
  for (const char* text : {"EXPLAIN ANALYZE SELECT 1", "EXPLAIN ANALYSE SELECT 1", "EXPLAIN (ANALYZE) SELECT 1",
                           "EXPLAIN (FORMAT json, analyze true) SELECT 1", "EXPLAIN (ANALYZE false) SELECT 1"}) {
    CAPTURE(text);
    const auto c = classified(text);
    CHECK_FALSE(c.read_only);
    CHECK(c.reasons == Strings{"EXPLAIN ANALYZE executes the statement"});
  }
}

TEST_CASE("EXPLAIN ANALYZE of a DELETE is refused for both") {
  const auto c = classified("EXPLAIN ANALYZE DELETE FROM t");
  CHECK_FALSE(c.read_only);
  CHECK(c.reasons == Strings{"EXPLAIN ANALYZE executes the statement", "DELETE writes"});
}

TEST_CASE("EXPLAIN of a write is not read-only") {
  const auto c = classified("EXPLAIN DELETE FROM t WHERE id = 1");
  CHECK_FALSE(c.read_only);
  CHECK(c.statements == Strings{"ExplainStmt"});
  CHECK(c.reasons == Strings{"DELETE writes"});
  CHECK(c.relations == Strings{"t"});
}

TEST_CASE("a deny-listed function is refused, schema-qualified or in any case") {
  struct Case {
    const char* text;
    const char* function;
  };
  const Case cases[] = {
      {"SELECT pg_sleep(1)", "pg_sleep"},
      {"SELECT PG_CATALOG.PG_SLEEP(1)", "pg_sleep"},
      {"select nextval('s')", "nextval"},
      {"SELECT \"Nextval\"('s')", "Nextval"},
      {"SELECT pg_catalog.set_config('role', 'admin', false)", "set_config"},
      {"SELECT pg_read_file('/etc/passwd')", "pg_read_file"},
      {"SELECT pg_terminate_backend(pid) FROM pg_stat_activity", "pg_terminate_backend"},
  };
  for (const auto& [text, function] : cases) {
    CAPTURE(text);
    const auto c = classified(text);
    CHECK_FALSE(c.read_only);
    CHECK(has_reason_starting(c, std::string(function) + " is a function with side effects: it "));
  }
}

// PostgreSQL 15 runs each of these in a READ ONLY transaction, and their writes outlive its
// ROLLBACK, so the database's own guard does not stop them.
TEST_CASE("index and heap maintenance functions that write despite READ ONLY are refused") {
  for (const char* text : {"SELECT brin_summarize_new_values('t_brin')", "SELECT brin_summarize_range('t_brin', 0)",
                           "SELECT brin_desummarize_range('t_brin', 0)", "SELECT gin_clean_pending_list('t_gin')",
                           "SELECT heap_force_kill('t'::regclass, ARRAY['(0,1)']::tid[])",
                           "SELECT heap_force_freeze('t'::regclass, ARRAY['(0,1)']::tid[])",
                           "SELECT pg_truncate_visibility_map('t')", "SELECT setseed(0.5), random()",
                           "SELECT pg_start_backup('b')", "SELECT pg_stop_backup()"}) {
    CAPTURE(text);
    const auto c = classified(text);
    CHECK_FALSE(c.read_only);
    CHECK(c.reasons.size() == 1);
    CHECK(has_reason_starting(c, std::string(text).substr(7, std::string(text).find('(') - 7) + " is a function with side effects: it "));
  }
}

TEST_CASE("a deny-listed function is refused in WHERE, a subquery, FROM, GROUP BY, CASE or a WITH query") {
  for (const char* text : {
           "SELECT * FROM t WHERE pg_sleep(10) IS NOT NULL",
           "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE pg_sleep(10) IS NULL)",
           "SELECT * FROM pg_sleep(10)",
           "SELECT count(*) FROM t GROUP BY pg_sleep(10)",
           "SELECT CASE WHEN a > 0 THEN pg_sleep(10) END FROM t",
           "WITH x AS (SELECT pg_sleep(10)) SELECT * FROM x",
           "SELECT 1 UNION SELECT 2 FROM (VALUES (pg_sleep(10))) v",
       }) {
    CAPTURE(text);
    const auto c = classified(text);
    CHECK_FALSE(c.read_only);
    CHECK(c.reasons == Strings{"pg_sleep is a function with side effects: it blocks the session"});
  }
}

TEST_CASE("families on the deny-list are caught by prefix") {
  for (const char* text : {"SELECT lo_import('/etc/passwd')", "SELECT pg_ls_waldir()", "SELECT pg_advisory_xact_lock(1)",
                           "SELECT pg_try_advisory_lock(1)", "SELECT pg_stat_reset_shared('wal')",
                           "SELECT * FROM dblink_exec('host=x', 'DELETE FROM t')",
                           "SELECT pg_replication_origin_create('o')"}) {
    CAPTURE(text);
    const auto c = classified(text);
    CHECK_FALSE(c.read_only);
    CHECK(c.reasons.size() == 1);
  }
}

TEST_CASE("PostgreSQL's attribute syntax for a function call is refused like the call") {
  // PostgreSQL runs ('s'::regclass).nextval as nextval('s'::regclass).
  const auto attribute = classified("SELECT ('s'::regclass).nextval");
  CHECK_FALSE(attribute.read_only);
  CHECK(attribute.reasons == Strings{"nextval is a function with side effects: it advances a sequence"});
  CHECK(has_reason_starting(classified("SELECT s.pg_sleep FROM (SELECT 10::float8) AS s"), "pg_sleep "));
}

TEST_CASE("functions without side effects, and a column that shares a denied name, keep a SELECT read-only") {
  const auto c = classified("SELECT now(), lower(name), count(*), pg_catalog.current_setting('work_mem'), "
                            "currval('s'), pg_sleepy(), nextval FROM t GROUP BY 2, nextval");
  CHECK(c.read_only);
  CHECK(c.reasons.empty());
}

TEST_CASE("one writing statement among reads makes the whole text not read-only") {
  const auto c = classified("SELECT 1; DELETE FROM t");
  CHECK_FALSE(c.read_only);
  CHECK(c.statements == Strings{"SelectStmt", "DeleteStmt"});
  CHECK(c.reasons == Strings{"DELETE writes"});
}

TEST_CASE("several reads are read-only together") {
  const auto c = classified("SELECT 1; SELECT * FROM t;; SHOW work_mem;");
  CHECK(c.read_only);
  CHECK(c.statements == Strings{"SelectStmt", "SelectStmt", "VariableShowStmt"});
  CHECK(c.relations == Strings{"t"});
}

TEST_CASE("quoted identifiers keep their case and unquoted ones are folded to lower case") {
  const auto c = classified(R"(SELECT * FROM "Sales"."Q1 Orders", Sales.Orders, ANALYTICS.public."Mixed")");
  CHECK(c.relations == Strings{"Sales.Q1 Orders", "analytics.public.Mixed", "sales.orders"});
}

TEST_CASE("a relation named several times is listed once, in sorted order") {
  CHECK(classified("SELECT * FROM b, a, b AS b2, c.a WHERE EXISTS (SELECT 1 FROM a)").relations ==
        Strings{"a", "b", "c.a"});
}

TEST_CASE("a syntax error is invalid_argument with the parser's message and position") {
  const auto error = refusal("SELECT * FORM t");
  CHECK(error.code == Errc::invalid_argument);
  CHECK(error.message == "SQL does not parse at character 10: syntax error at or near \"FORM\"");
  CHECK(refusal("SELECT 'unterminated").message.find("unterminated quoted string") != std::string::npos);
}

TEST_CASE("empty, blank, comment-only and semicolon-only texts hold no statement") {
  for (const char* text : {"", "  \n\t ", "-- nothing here", "/* nothing */", ";;", " /* a */ ; -- b\n;"}) {
    CAPTURE(text);
    const auto error = refusal(text);
    CHECK(error.code == Errc::invalid_argument);
    CHECK(error.message == "SQL text holds no statement");
  }
}

TEST_CASE("a NUL byte is refused rather than cutting the text short") {
  const std::string text("SELECT 1;\0DELETE FROM t", 23);
  const auto error = refusal(text);
  CHECK(error.code == Errc::invalid_argument);
  CHECK(error.message == "SQL text holds a NUL byte at offset 9");
}

TEST_CASE("a text of exactly 1 MiB is read and one byte more is refused") {
  std::string text = "SELECT 1";
  text.resize(std::size_t{1} << 20, ' ');
  CHECK(classified(text).read_only);
  text.push_back(' ');
  const auto error = refusal(text);
  CHECK(error.code == Errc::invalid_argument);
  CHECK(error.message == "SQL text is 1048577 bytes, over the limit of 1 MiB");
}

TEST_CASE("a text that is not UTF-8 is refused") {
  const auto error = refusal("SELECT '\xff'");
  CHECK(error.code == Errc::invalid_argument);
  CHECK(error.message == "SQL text is not UTF-8 at offset 8");
}

TEST_CASE("chained additions that overflow an 8 MiB stack in libpg_query are refused, not a crash") {
  // libpg_query's JSON writer recurses once per "+1": on an 8 MiB stack 100,000 of them crash.
  const auto deep = refusal(chain_of_additions(100'000));
  CHECK(deep.code == Errc::invalid_argument);
  CHECK(deep.message == "the parse tree of this SQL cannot be read: JSON nesting is deeper than 1000");
  // A megabyte of them needs a 64 MiB stack.
  const auto megabyte = refusal(chain_of_additions(500'000));
  CHECK(megabyte.code == Errc::invalid_argument);
  CHECK(megabyte.message == "SQL text is too large to classify: its parse tree is 70 MiB, over 16 MiB");
}

TEST_CASE("a select list whose parse tree is over 16 MiB is refused as too large") {
  std::string text = "SELECT a";
  while (text.size() < 400'000) text += ",a";
  const auto error = refusal(text);
  CHECK(error.code == Errc::invalid_argument);
  CHECK(error.message.starts_with("SQL text is too large to classify: its parse tree is "));
}

TEST_CASE("forty nested subqueries are well within the depth the classifier reads") {
  std::string text = "SELECT * FROM t WHERE a IN ";
  for (int i = 0; i < 40; ++i) text += "(SELECT a FROM t WHERE a IN ";
  text += "(1)";
  text += std::string(40, ')');
  const auto c = classified(text);
  CHECK(c.read_only);
  CHECK(c.relations == Strings{"t"});
}

TEST_CASE("reasons are non-empty exactly when the text is not read-only") {
  const std::pair<const char*, bool> cases[] = {
      {"SELECT 1", true},           {"SELECT * FROM t FOR UPDATE", false},   {"SHOW ALL", true},
      {"TABLE t", true},            {"INSERT INTO t DEFAULT VALUES", false}, {"EXPLAIN SELECT nextval('s')", false},
      {"SELECT 1; COMMIT", false},
  };
  for (const auto& [text, read_only] : cases) {
    CAPTURE(text);
    const auto c = classified(text);
    CHECK(c.read_only == read_only);
    CHECK(c.reasons.empty() == read_only);
  }
}
