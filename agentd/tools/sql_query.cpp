#include "agentd/tools/sql_query.h"

#include <algorithm>
#include <exception>
#include <regex>
#include <utility>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "common/sql/sql_classifier.h"
#include "common/utf8.h"

namespace cordon::agentd {
namespace {

constexpr char cursor_name[] = "cordon_sql_query";
// How long a transaction may sit idle (agentd stalled between its statements) before the server
// ends the session, beyond the statement_timeout.
constexpr std::int64_t idle_margin_ms = 5000;
constexpr std::size_t max_error_bytes = 512;

// `text` as valid UTF-8: each byte that does not begin a well-formed sequence becomes U+FFFD.
// With client_encoding UTF8 only a SQL_ASCII database hands out such bytes.
std::string valid_utf8(std::string_view text) {
  if (!utf8_first_invalid(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 16);
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      out += "\xef\xbf\xbd";
      ++i;
      continue;
    }
    out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

std::string bounded_message(std::string text) {
  if (text.size() <= max_error_bytes) return text;
  return std::string(utf8_prefix(text, max_error_bytes)) + "…";
}

// A server error as libpq words it under PQERRORS_VERBOSE ("ERROR:  25006: cannot execute
// INSERT in a read-only transaction\nLOCATION:  …"), reduced to its SQLSTATE and primary message:
// the other lines (DETAIL, CONTEXT, QUERY) may quote rows or function bodies. libpqxx 6.4 does
// not reliably hand out the SQLSTATE itself (its per-class exceptions leave sqlstate() empty).
struct ServerError {
  std::string sqlstate; // "" when the text carries none (a connection that broke)
  std::string message;
};

bool is_sqlstate(std::string_view text) {
  return text.size() == 5 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
         });
}

ServerError server_error(std::string_view text) {
  std::string_view line = text.substr(0, text.find('\n'));
  // The severity ("ERROR", "FATAL", or a translation of them) ends with a colon and two spaces.
  if (const auto severity = line.find(":  "); severity != std::string_view::npos && severity <= 16) {
    line.remove_prefix(severity + 3);
  }
  ServerError out;
  if (line.size() > 7 && is_sqlstate(line.substr(0, 5)) && line.substr(5, 2) == ": ") {
    out.sqlstate = std::string(line.substr(0, 5));
    line.remove_prefix(7);
  }
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
  out.message = bounded_message(valid_utf8(line));
  return out;
}

// What a retry may cure is `unavailable`; SQL the server does not take is the caller's.
Errc errc_for(std::string_view state) {
  if (state == "25006" || state == "42501") return Errc::permission_denied;
  const std::string_view category = state.substr(0, 2);
  if (category == "08" || category == "40" || category == "53" || category == "57" || category == "58" ||
      state == "55P03" || state == "25P03") {
    return Errc::unavailable;
  }
  for (const std::string_view caller : {"0A", "21", "22", "2F", "38", "39", "42", "P0"}) {
    if (category == caller) return Errc::invalid_argument;
  }
  if (state == "55000") return Errc::invalid_argument; // e.g. a materialized view never populated
  return Errc::io_error;
}

tl::unexpected<Error> database_failure(ServerError error, std::string_view fallback_state, const ReadLimits& limits) {
  if (error.sqlstate.empty()) error.sqlstate = std::string(fallback_state);
  if (error.sqlstate.empty()) return fail(Errc::io_error, error.message + " (no SQLSTATE)");
  std::string message = fmt::format("{} (SQLSTATE {}", error.message, error.sqlstate);
  if (error.sqlstate == "57014") {
    message += fmt::format("; statement_timeout is {} ms", limits.statement_timeout.count());
  }
  message += ')';
  return fail(errc_for(error.sqlstate), std::move(message));
}

// What libpq says about a connection that failed, without what came from the DSN. libpq quotes
// the socket path, host, database and user ("…"), puts an address in parentheses and the port
// after "port "; those are cut, as is any other DSN value of four characters or more still in
// the text. What remains (No such file or directory, Connection refused, password
// authentication failed for user "…", timeout expired) says why.
std::string connection_reason(std::string_view text, std::string_view dsn) {
  std::string reason;
  bool quoted = false;
  for (const char c : text) {
    if (c == '"') {
      if (!quoted) reason += "\"…\"";
      quoted = !quoted;
    } else if (!quoted) {
      reason += c == '\n' || c == '\t' || c == '\r' ? ' ' : c;
    }
  }
  reason = std::regex_replace(reason, std::regex(R"(\([0-9A-Fa-f:.%]+\))"), "(…)");
  reason = std::regex_replace(reason, std::regex(R"(port [0-9]+)"), "port …");
  reason = std::regex_replace(reason, std::regex(R"(\s+)"), " ");
  static const std::regex separators(R"([\s=&?/:@'",;]+)");
  static const std::regex keyword(R"(^(host|hostaddr|port|dbname|user|password|passfile|options|service|)"
                                  R"(connect_timeout|client_encoding|application_name|sslmode|postgres|)"
                                  R"(postgresql|localhost|require|prefer|disable)$)");
  const std::cregex_token_iterator end;
  for (std::cregex_token_iterator token(dsn.data(), dsn.data() + dsn.size(), separators, -1); token != end; ++token) {
    const std::string value = token->str();
    if (value.size() < 4 || std::regex_match(value, keyword)) continue;
    // Each replacement shortens the text (a value is longer than "…"), so this ends.
    for (auto at = reason.find(value); at != std::string::npos; at = reason.find(value, at)) {
      reason.replace(at, value.size(), "…");
    }
  }
  while (!reason.empty() && reason.back() == ' ') reason.pop_back();
  return bounded_message(valid_utf8(reason));
}

// One connection, for one call. Notices (a function's RAISE NOTICE) are dropped rather than
// written to agentd's stderr: they may quote rows.
struct Session {
  explicit Session(const std::string& dsn) : connection(dsn), quiet(connection) {}
  pqxx::connection connection;
  pqxx::quiet_errorhandler quiet;
};

bool is_uri(std::string_view dsn) { return dsn.starts_with("postgresql://") || dsn.starts_with("postgres://"); }

std::string with_connect_timeout(const std::string& dsn) {
  if (dsn.find("connect_timeout") != std::string::npos) return dsn;
  if (is_uri(dsn)) return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=10";
  return dsn + " connect_timeout=10";
}

Result<std::unique_ptr<Session>> connect(const std::string& dsn) {
  try {
    auto session = std::make_unique<Session>(with_connect_timeout(dsn));
    session->connection.set_verbosity(pqxx::connection_base::verbose);
    // The classifier read the text as UTF-8; so must the server (an encoding such as SJIS could
    // read a quote or backslash as part of a character).
    session->connection.set_client_encoding("UTF8");
    return session;
  } catch (const std::exception& e) {
    return fail(Errc::unavailable, "cannot connect (SQLSTATE 08001): " + connection_reason(e.what(), dsn));
  }
}

std::string session_settings(const ReadLimits& limits) {
  const std::int64_t timeout = std::max<std::int64_t>(1, limits.statement_timeout.count());
  return fmt::format("SET LOCAL statement_timeout = {0}; SET LOCAL lock_timeout = {0}; "
                     "SET LOCAL idle_in_transaction_session_timeout = {1}; "
                     "SET LOCAL standard_conforming_strings = on; "
                     "SET LOCAL application_name = 'cordon-agentd sql.query'",
                     timeout, timeout + idle_margin_ms);
}

QueryRows rows_of(const pqxx::result& result, const ReadLimits& limits) {
  QueryRows out;
  const auto columns = result.columns();
  for (pqxx::row::size_type column = 0; column < columns; ++column) {
    out.columns.push_back(valid_utf8(result.column_name(column)));
  }
  const auto max_rows = static_cast<std::size_t>(std::max<std::int64_t>(0, limits.max_rows));
  std::size_t bytes = 0;
  for (pqxx::result::size_type index = 0; index < result.size(); ++index) {
    if (out.rows.size() == max_rows) {
      out.truncated = true;
      break;
    }
    const pqxx::row row = result[index];
    std::vector<std::optional<std::string>> values;
    values.reserve(columns);
    std::size_t row_bytes = 0;
    for (pqxx::row::size_type column = 0; column < columns; ++column) {
      const pqxx::field field = row[column];
      if (field.is_null()) {
        values.emplace_back();
        continue;
      }
      values.emplace_back(valid_utf8(std::string_view(field.c_str(), field.size())));
      row_bytes += field.size();
    }
    if (bytes + row_bytes > limits.max_bytes) {
      out.truncated = true;
      break;
    }
    bytes += row_bytes;
    out.rows.push_back(std::move(values));
  }
  return out;
}

// exec_params sends the text over the extended query protocol, one statement a message: a
// second statement is refused (42601) rather than run.
QueryRows read(pqxx::dbtransaction& transaction, std::string_view sql, Fetch fetch, const ReadLimits& limits) {
  if (fetch == Fetch::direct) return rows_of(transaction.exec_params(std::string(sql)), limits);
  transaction.exec_params(fmt::format("DECLARE {} NO SCROLL CURSOR FOR {}", cursor_name, sql));
  const std::int64_t count = std::max<std::int64_t>(0, limits.max_rows) + 1;
  return rows_of(transaction.exec_params(fmt::format("FETCH FORWARD {} FROM {}", count, cursor_name)), limits);
}

void append_copy_field(std::string& out, std::string_view value) {
  for (const char c : value) {
    switch (c) {
    case '\\': out += "\\\\"; break;
    case '\t': out += "\\t"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    default: out += c;
    }
  }
}

std::string render_text(const QueryRows& rows) {
  std::string out;
  for (std::size_t i = 0; i < rows.columns.size(); ++i) {
    if (i > 0) out += '\t';
    append_copy_field(out, rows.columns[i]);
  }
  out += '\n';
  for (const auto& row : rows.rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out += '\t';
      if (row[i]) {
        append_copy_field(out, *row[i]);
      } else {
        out += "\\N";
      }
    }
    out += '\n';
  }
  out += fmt::format("({} {}{})", rows.rows.size(), rows.rows.size() == 1 ? "row" : "rows",
                     rows.truncated ? "; truncated, the result has more" : "");
  return out;
}

std::string joined(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

Result<std::string> string_argument(const Json& arguments, const char* name) {
  const auto found = arguments.find(name);
  if (found == arguments.end() || !found->is_string()) {
    return fail(Errc::invalid_argument, fmt::format("sql.query needs `{}` (a string)", name));
  }
  return found->get<std::string>();
}

class SqlQuery final : public Tool {
public:
  explicit SqlQuery(std::vector<DatabaseConfig> databases)
      : m_databases(std::move(databases)), m_spec(*tools::find_tool("sql.query")) {}
  const tools::ToolSpec& spec() const override { return m_spec; }

  Result<ToolOutput> run(const Json& arguments, const std::string&) override {
    const Plan plan = CORDON_TRY(plan_of(arguments));
    auto rows = run_read_only(plan.database->dsn, plan.sql, plan.fetch, plan.limits);
    if (!rows) {
      return fail(rows.error().code, fmt::format("database '{}': {}", plan.database->name, rows.error().message));
    }
    return output_of(plan, std::move(*rows));
  }

  // Nothing is sent to the database: the dry run is the classification and the plan.
  Result<ToolOutput> simulate(const Json& arguments, const std::string&) override {
    const Plan plan = CORDON_TRY(plan_of(arguments));
    ToolOutput out;
    out.structured = summary(plan);
    out.structured["would_run"] = true;
    out.audit = summary(plan);
    out.audit["simulated"] = true;
    const auto& relations = plan.classification.relations;
    out.text = fmt::format("would run one read-only {} on database '{}' ({}) in a READ ONLY transaction with a "
                           "statement_timeout of {} ms, returning at most {} rows; nothing was sent to the database",
                           plan.classification.statements.front(), plan.database->name,
                           relations.empty() ? std::string("naming no table") : "reading " + joined(relations, ", "),
                           plan.limits.statement_timeout.count(), plan.limits.max_rows);
    return out;
  }

private:
  struct Plan {
    const DatabaseConfig* database = nullptr;
    std::string sql;
    sql::Classification classification;
    Fetch fetch = Fetch::cursor;
    ReadLimits limits;
  };

  const DatabaseConfig* find(std::string_view name) const {
    for (const auto& database : m_databases) {
      if (database.name == name) return &database;
    }
    return nullptr;
  }

  std::string configured_names() const {
    std::vector<std::string> names;
    for (const auto& database : m_databases) names.push_back("'" + database.name + "'");
    return names.empty() ? "none is configured" : "configured: " + joined(names, ", ");
  }

  Result<Plan> plan_of(const Json& arguments) const {
    Plan plan;
    const std::string name = CORDON_TRY(string_argument(arguments, "database"));
    plan.database = find(name);
    if (plan.database == nullptr) {
      return fail(Errc::not_found, fmt::format("sql.query has no database '{}' ({})", name, configured_names()));
    }
    plan.sql = CORDON_TRY(string_argument(arguments, "sql"));
    auto classification = sql::classify(plan.sql);
    if (!classification) {
      return fail(classification.error().code, "the SQL was not read: " + classification.error().message);
    }
    plan.classification = std::move(*classification);
    if (!plan.classification.read_only) {
      return fail(Errc::permission_denied, "sql.query runs only plain reads (SELECT without locking or writes, "
                                           "EXPLAIN without ANALYZE, SHOW); refused: " +
                                               joined(plan.classification.reasons, "; "));
    }
    const auto& statements = plan.classification.statements;
    if (statements.size() != 1) {
      return fail(Errc::invalid_argument,
                  fmt::format("sql.query runs one statement a call; the SQL holds {}", statements.size()));
    }
    if (statements.front() == "SelectStmt") {
      plan.fetch = Fetch::cursor;
    } else if (statements.front() == "ExplainStmt" || statements.front() == "VariableShowStmt") {
      plan.fetch = Fetch::direct;
    } else {
      return fail(Errc::internal, "the classifier called a " + statements.front() + " read-only");
    }
    std::int64_t max_rows = plan.database->max_rows;
    if (const auto found = arguments.find("max_rows"); found != arguments.end() && found->is_number_integer()) {
      max_rows = std::min(max_rows, found->get<std::int64_t>());
    }
    plan.limits.max_rows = std::max<std::int64_t>(1, max_rows);
    plan.limits.statement_timeout = plan.database->statement_timeout;
    return plan;
  }

  static Json summary(const Plan& plan) {
    return {{"database", plan.database->name},
            {"statement", plan.classification.statements.front()},
            {"relations", plan.classification.relations},
            {"max_rows", plan.limits.max_rows},
            {"statement_timeout_ms", plan.limits.statement_timeout.count()}};
  }

  static ToolOutput output_of(const Plan& plan, QueryRows rows) {
    ToolOutput out;
    out.untrusted = true;
    out.text = render_text(rows);
    Json values = Json::array();
    for (auto& row : rows.rows) {
      Json fields = Json::array();
      for (auto& value : row) fields.push_back(value ? Json(std::move(*value)) : Json(nullptr));
      values.push_back(std::move(fields));
    }
    out.audit = summary(plan);
    out.audit["columns"] = rows.columns.size();
    out.audit["row_count"] = values.size();
    out.audit["truncated"] = rows.truncated;
    out.structured = {{"columns", std::move(rows.columns)},
                      {"row_count", values.size()},
                      {"truncated", rows.truncated},
                      {"rows", std::move(values)}};
    return out;
  }

  std::vector<DatabaseConfig> m_databases;
  const tools::ToolSpec& m_spec;
};

} // namespace

Result<QueryRows> run_read_only(const std::string& dsn, std::string_view sql, Fetch fetch, const ReadLimits& limits) {
  auto session = CORDON_TRY(connect(dsn));
  try {
    pqxx::read_transaction transaction(session->connection);
    transaction.exec(session_settings(limits));
    QueryRows rows = read(transaction, sql, fetch, limits);
    transaction.abort();
    return rows;
  } catch (const pqxx::broken_connection& e) {
    return database_failure(server_error(e.what()), "08006", limits);
  } catch (const pqxx::failure& e) {
    return database_failure(server_error(e.what()), "", limits);
  } catch (const std::exception& e) {
    return fail(Errc::io_error, bounded_message(valid_utf8(e.what())));
  }
}

std::unique_ptr<Tool> make_sql_query(const std::vector<DatabaseConfig>& databases) {
  return std::make_unique<SqlQuery>(databases);
}

} // namespace cordon::agentd
