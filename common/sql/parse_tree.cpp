#include "common/sql/parse_tree.h"

#include <cstdint>
#include <cstring>
#include <string>

#include <pg_query.h>
#include <pthread.h>

#include "common/utf8.h"

namespace cordon::sql {
namespace {

// The parser thread's stack: a base for the grammar and PostgreSQL's error handling, plus
// twice what the worst text measured (a chain of "+1") needs per byte.
constexpr std::size_t base_stack_bytes = std::size_t{16} << 20;
constexpr std::size_t stack_bytes_per_sql_byte = 128;

// The major version of the parse trees the walkers read; a tree of another version may name
// its nodes differently, and a walker that misses a node fails open.
constexpr std::int64_t supported_major_version = 15;

// Owns libpg_query's result, which is malloc'd and so may be freed on any thread.
class ParseResult {
public:
  ParseResult() = default;
  ~ParseResult() { pg_query_free_parse_result(m_result); }
  ParseResult(const ParseResult&) = delete;
  ParseResult& operator=(const ParseResult&) = delete;

  void set(PgQueryParseResult result) { m_result = result; }
  const PgQueryParseResult* operator->() const { return &m_result; }

private:
  PgQueryParseResult m_result{};
};

struct ParseJob {
  const char* sql;
  ParseResult* result;
};

void* run_parser(void* argument) {
  const auto* job = static_cast<const ParseJob*>(argument);
  job->result->set(pg_query_parse(job->sql));
  return nullptr;
}

// Runs pg_query_parse on a thread whose stack fits `sql`. No pg_query_exit: libpg_query frees
// a thread's memory context when the thread ends, and freeing it first makes that a double free.
Result<void> parse_on_own_stack(const std::string& sql, ParseResult& result) {
  pthread_attr_t attributes;
  if (pthread_attr_init(&attributes) != 0) return fail(Errc::unavailable, "cannot start the SQL parser's thread");
  const std::size_t stack = base_stack_bytes + stack_bytes_per_sql_byte * sql.size();
  ParseJob job{sql.c_str(), &result};
  pthread_t thread;
  const bool started = pthread_attr_setstacksize(&attributes, stack) == 0 &&
                       pthread_create(&thread, &attributes, run_parser, &job) == 0;
  pthread_attr_destroy(&attributes);
  if (!started) {
    return fail(Errc::unavailable, "cannot start the SQL parser's thread with a " +
                                       std::to_string(stack >> 20) + " MiB stack");
  }
  pthread_join(thread, nullptr);
  return ok();
}

Result<void> check_text(std::string_view sql) {
  if (sql.size() > max_sql_bytes) {
    return fail(Errc::invalid_argument,
                "SQL text is " + std::to_string(sql.size()) + " bytes, over the limit of 1 MiB");
  }
  if (const auto nul = sql.find('\0'); nul != std::string_view::npos) {
    return fail(Errc::invalid_argument, "SQL text holds a NUL byte at offset " + std::to_string(nul));
  }
  if (const auto invalid = utf8_first_invalid(sql)) {
    return fail(Errc::invalid_argument, "SQL text is not UTF-8 at offset " + std::to_string(*invalid));
  }
  return ok();
}

Error parser_error(const PgQueryError& error) {
  std::string message = "SQL does not parse";
  if (error.cursorpos > 0) message += " at character " + std::to_string(error.cursorpos);
  message += ": ";
  message += error.message != nullptr ? error.message : "unknown error";
  return Error{Errc::invalid_argument, std::move(message)};
}

Result<void> check_version(const Json& tree) {
  const auto version = tree.find("version");
  if (version == tree.end() || !version->is_number_integer() ||
      version->get<std::int64_t>() / 10000 != supported_major_version) {
    return fail(Errc::internal, "libpg_query wrote a parse tree of a PostgreSQL version other than 15");
  }
  return ok();
}

} // namespace

Result<Json> parse_tree(std::string_view sql) {
  CORDON_TRY_VOID(check_text(sql));
  ParseResult result;
  CORDON_TRY_VOID(parse_on_own_stack(std::string(sql), result));
  if (result->error != nullptr) return tl::unexpected(parser_error(*result->error));
  if (result->parse_tree == nullptr) return fail(Errc::internal, "libpg_query returned neither a tree nor an error");
  const std::string_view json(result->parse_tree, std::strlen(result->parse_tree));
  if (json.size() > max_tree_bytes) {
    return fail(Errc::invalid_argument, "SQL text is too large to classify: its parse tree is " +
                                            std::to_string(json.size() >> 20) + " MiB, over 16 MiB");
  }
  auto tree = parse_json(json, JsonLimits{.max_bytes = max_tree_bytes, .max_depth = max_tree_depth});
  if (!tree) {
    return fail(Errc::invalid_argument, "the parse tree of this SQL cannot be read: " + tree.error().message);
  }
  if (!tree->is_object()) return fail(Errc::internal, "libpg_query wrote a parse tree that is not an object");
  CORDON_TRY_VOID(check_version(*tree));
  return tree;
}

} // namespace cordon::sql
