#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

// Whether a SQL text is a plain read, as PostgreSQL's own parser (libpg_query) sees it: the
// hard floor's "destructive SQL is never executed autonomously" (DESIGN.md §5.3) and agentd's
// sql.query tool (§6.2) both ask this. It fails closed: only what is positively recognised as a
// read is read-only. The database's `BEGIN READ ONLY` is the second, independent guard.
namespace cordon::sql {

// What a SQL text does, as PostgreSQL's parser sees it.
struct Classification {
  // Every statement is a plain read: a SELECT (with set operations, VALUES and subqueries) that
  // locks no rows, creates no table (SELECT INTO) and holds no INSERT, UPDATE, DELETE or MERGE
  // (in a WITH clause); an EXPLAIN without ANALYZE of such a SELECT; or a SHOW. No statement
  // calls a function with side effects (common/sql/denied_functions.cpp), in call syntax or in
  // PostgreSQL's attribute syntax (`('s'::regclass).nextval` calls nextval).
  bool read_only = false;
  // Each top-level statement's node type in order, e.g. "SelectStmt", "ExplainStmt".
  std::vector<std::string> statements;
  // Every table or view named, as "name", "schema.name" or "catalog.schema.name", sorted and
  // unique. Unquoted names are lower-cased as PostgreSQL folds them; quoted ones keep their
  // case. References to a WITH query are not relations; the target of INSERT, UPDATE, DELETE or
  // MERGE always is. Complete for reads; for other statements, the relations their parse tree
  // names as such (DROP, for one, names its objects otherwise).
  std::vector<std::string> relations;
  // Why the text is not read-only, one sentence each, in the order found and without repeats
  // ("INSERT writes", "pg_sleep is a function with side effects: it blocks the session",
  // "FOR UPDATE locks rows", "EXPLAIN ANALYZE executes the statement"). Empty exactly when
  // read_only.
  std::vector<std::string> reasons;
};

// Classifies `sql`, which may hold several statements. Fails with Errc::invalid_argument for
// text with no statement (only whitespace, comments or semicolons), over 1 MiB, holding a NUL
// byte, not UTF-8, that does not parse (the parser's message and character position), or whose
// parse tree nests deeper or is larger than the classifier reads (about 140 nested subqueries;
// 16 MiB of tree, some 300 KB of dense SQL); with Errc::unavailable when the parser's thread
// cannot start. Never throws. Costs a thread start (about 0.1 ms) besides the parse.
Result<Classification> classify(std::string_view sql);

} // namespace cordon::sql
