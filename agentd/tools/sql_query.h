#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agentd/agentd_config.h"
#include "agentd/tools/tool.h"

namespace cordon::agentd {

// How run_read_only reads a statement's rows.
enum class Fetch {
  // `DECLARE … NO SCROLL CURSOR FOR <sql>`, then one `FETCH max_rows + 1`: rows past that are
  // never computed, sent or held. Only for what a cursor can hold (SELECT, VALUES, TABLE).
  cursor,
  // One execution and its whole result, of which max_rows rows are kept: EXPLAIN and SHOW,
  // whose results are small and which a cursor cannot hold.
  direct,
};

// The bounds of one read.
struct ReadLimits {
  std::chrono::milliseconds statement_timeout{5000}; // also the lock_timeout
  std::int64_t max_rows = 1000;
  std::size_t max_bytes = 4 << 20; // the values' total bytes; rows past it are dropped (truncated)
};

// A result as sql.query returns it: text values (PostgreSQL's text output form, made valid UTF-8
// with U+FFFD for any byte that is not), nullopt for NULL.
struct QueryRows {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
  bool truncated = false; // the statement had more rows than max_rows, or more bytes than max_bytes
};

// The execution path under sql.query's classifier, on its own: a fresh libpqxx connection to
// `dsn` (client_encoding UTF8, connect_timeout 10 s unless the DSN sets one), `BEGIN READ ONLY`,
// `SET LOCAL` statement_timeout, lock_timeout, idle_in_transaction_session_timeout
// (statement_timeout + 5 s) and standard_conforming_strings = on (so that the server reads
// string literals as libpg_query did), the statement sent alone over the extended query protocol
// (which refuses a second statement), then ROLLBACK; nothing is ever committed. It does not
// classify `sql`: the database's read-only transaction alone stops a write here, which is what
// the tests show through it.
//
// Errors name the SQLSTATE and never the DSN: Errc::permission_denied for a write the database
// refused (25006) or a missing privilege (42501); Errc::unavailable for a connection that failed
// (08001) or broke (08006), a statement cancelled by statement_timeout (57014), lock_timeout
// (55P03) or the server (57P01…); Errc::invalid_argument for SQL the server does not accept
// (class 42, 22, 0A…); Errc::io_error for the rest.
Result<QueryRows> run_read_only(const std::string& dsn, std::string_view sql, Fetch fetch, const ReadLimits& limits);

// sql.query (DESIGN.md §6.2): one read-only statement on a configured database.
//
// run(): the database named by `database` (unknown: Errc::not_found); `sql` must classify as
// read-only (common/sql/sql_classifier.h; otherwise Errc::permission_denied with the classifier's
// reasons) and be one statement (Errc::invalid_argument); it runs through run_read_only with
// max_rows = min(argument max_rows, the database's max_rows) and the database's
// statement_timeout. A SELECT goes through a cursor, EXPLAIN and SHOW directly. A connection is
// opened per call and closed after it, so no session state outlives a call and calls on several
// threads share nothing.
//
// Output: `text` is the result in PostgreSQL's COPY text form with a header, a line of column
// names then one line a row, fields separated by tabs, NULL written \N, and backslash, tab,
// newline and carriage return in values written \\, \t, \n and \r; then a last line "(N rows)",
// or "(N rows; truncated, the result has more)". `structured` is {"columns": [names],
// "rows": [[value or null]], "row_count", "truncated"}. The rows are untrusted. `audit` holds the
// database, the statement's kind and relations, the column and row counts and whether it was
// truncated, never a value.
//
// simulate(): the same checks and the same answer about what would run (database, statement
// kind, relations, limits), without connecting.
std::unique_ptr<Tool> make_sql_query(const std::vector<DatabaseConfig>& databases);

} // namespace cordon::agentd
