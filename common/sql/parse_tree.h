#pragma once

#include <cstddef>
#include <string_view>

#include "common/error.h"
#include "common/json.h"

// PostgreSQL's raw parse tree of a SQL text, as libpg_query (PostgreSQL 15's own grammar) writes
// it: {"version":150001,"stmts":[{"stmt":{"SelectStmt":{…}},"stmt_len":8},…]}.
namespace cordon::sql {

// The largest SQL text parse_tree reads.
inline constexpr std::size_t max_sql_bytes = std::size_t{1} << 20;

// The deepest parse tree parse_tree returns, counted in JSON containers. A plain query is well
// under 100; 1000 is about 140 nested subqueries. It also bounds the recursion of the walkers.
inline constexpr int max_tree_depth = 1000;

// The largest parse tree parse_tree reads, as libpg_query's JSON. A tree is 20 to 60 times its
// text, and its document ten times that again: a megabyte of `SELECT a,a,…` would otherwise
// take 700 MB.
inline constexpr std::size_t max_tree_bytes = std::size_t{16} << 20;

// Parses `sql` with PostgreSQL's grammar. Fails with Errc::invalid_argument for text over
// max_sql_bytes, a NUL byte (the parser reads a C string and would stop there), invalid UTF-8
// (the parser reads UTF-8), a syntax error (the parser's message and character position), or a
// tree deeper than max_tree_depth or larger than max_tree_bytes; Errc::unavailable when the
// parser's thread cannot start. Never throws.
//
// libpg_query 15 writes its JSON with unchecked recursion: `SELECT 1+1+…` with 100,000 terms
// overflows an 8 MiB stack and kills the process. So the parser runs on a thread of its own
// whose stack grows with the input (64 bytes a byte suffice; it gets twice that), never on the
// caller's.
Result<Json> parse_tree(std::string_view sql);

} // namespace cordon::sql
