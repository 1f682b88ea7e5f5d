#include "common/sql/sql_classifier.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "common/json.h"
#include "common/sql/denied_functions.h"
#include "common/sql/parse_tree.h"

namespace cordon::sql {
namespace {

// Why a statement that is not a read is refused, for the statements an agent is likely to send;
// any other is refused naming its node type.
struct StatementReason {
  std::string_view node;
  std::string_view reason;
};

constexpr StatementReason statement_reasons[] = {
    {"InsertStmt", "INSERT writes"},
    {"UpdateStmt", "UPDATE writes"},
    {"DeleteStmt", "DELETE writes"},
    {"MergeStmt", "MERGE writes"},
    {"TruncateStmt", "TRUNCATE deletes every row"},
    {"CopyStmt", "COPY moves data between tables and files or programs"},
    {"CreateStmt", "CREATE TABLE changes the schema"},
    {"CreateTableAsStmt", "CREATE TABLE AS creates a table"},
    {"ViewStmt", "CREATE VIEW changes the schema"},
    {"IndexStmt", "CREATE INDEX changes the schema"},
    {"DropStmt", "DROP changes the schema"},
    {"AlterTableStmt", "ALTER TABLE changes the schema"},
    {"RenameStmt", "ALTER … RENAME changes the schema"},
    {"GrantStmt", "GRANT or REVOKE changes privileges"},
    {"GrantRoleStmt", "GRANT or REVOKE changes role membership"},
    {"VariableSetStmt", "SET changes a setting"},
    {"TransactionStmt", "BEGIN, COMMIT, ROLLBACK and SAVEPOINT control the transaction"},
    {"DoStmt", "DO runs procedural code"},
    {"CallStmt", "CALL runs a procedure"},
    {"ListenStmt", "LISTEN subscribes to notifications"},
    {"NotifyStmt", "NOTIFY sends a notification"},
    {"VacuumStmt", "VACUUM or ANALYZE changes a table's storage or statistics"},
    {"LockStmt", "LOCK locks tables"},
    {"PrepareStmt", "PREPARE creates a prepared statement"},
    {"ExecuteStmt", "EXECUTE runs a prepared statement the classifier cannot see"},
    {"DeclareCursorStmt", "DECLARE creates a cursor"},
    {"RefreshMatViewStmt", "REFRESH MATERIALIZED VIEW rewrites a view"},
};

std::string statement_reason(std::string_view node) {
  for (const auto& entry : statement_reasons) {
    if (entry.node == node) return std::string(entry.reason);
  }
  return std::string(node) + " is not a plain read";
}

// A node type key ({"DeleteStmt": {…}}) names a statement; field names start in lower case.
bool is_statement_node(std::string_view key) {
  return !key.empty() && key.front() >= 'A' && key.front() <= 'Z' && key.ends_with("Stmt");
}

std::string lock_reason(std::string_view strength) {
  if (strength == "LCS_FORUPDATE") return "FOR UPDATE locks rows";
  if (strength == "LCS_FORNOKEYUPDATE") return "FOR NO KEY UPDATE locks rows";
  if (strength == "LCS_FORSHARE") return "FOR SHARE locks rows";
  if (strength == "LCS_FORKEYSHARE") return "FOR KEY SHARE locks rows";
  return "a locking clause locks rows";
}

bool equals_ignoring_case(std::string_view text, std::string_view lower) {
  return std::equal(text.begin(), text.end(), lower.begin(), lower.end(), [](char a, char b) {
    return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
  });
}

const Json* member(const Json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  const auto found = object.find(name);
  return found == object.end() ? nullptr : &*found;
}

std::optional<std::string_view> string_member(const Json& object, const char* name) {
  const Json* value = member(object, name);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return value->get_ref<const std::string&>();
}

// The single {"Type": {…}} member of a node.
std::optional<std::pair<std::string_view, const Json*>> node_of(const Json& node) {
  if (!node.is_object() || node.size() != 1) return std::nullopt;
  const auto only = node.begin();
  if (!only->is_object()) return std::nullopt;
  return std::pair<std::string_view, const Json*>(only.key(), &*only);
}

// The text of a String node, {"String":{"sval":"…"}}; libpg_query leaves sval out when empty.
std::optional<std::string_view> string_node(const Json& node) {
  const Json* string = member(node, "String");
  if (string == nullptr || !string->is_object()) return std::nullopt;
  if (member(*string, "sval") == nullptr) return std::string_view();
  return string_member(*string, "sval");
}

// The names of one WITH clause's queries and their positions in it.
using WithNames = std::map<std::string, std::size_t, std::less<>>;

// The names of the WITH queries visible at a point of the tree: a chain of WITH clauses,
// innermost first. A non-recursive WITH query sees only the ones before it.
struct Scope {
  const Scope* outer = nullptr;
  const WithNames* names = nullptr;
  std::size_t visible = 0; // names at positions below this one are visible

  bool contains(std::string_view name) const {
    for (const Scope* scope = this; scope != nullptr; scope = scope->outer) {
      if (scope->names == nullptr) continue;
      const auto found = scope->names->find(name);
      if (found != scope->names->end() && found->second < scope->visible) return true;
    }
    return false;
  }
};

// Reasons in the order found, each once.
class Reasons {
public:
  void add(std::string reason) {
    if (m_seen.insert(reason).second) m_list.push_back(std::move(reason));
  }
  std::vector<std::string> take() { return std::move(m_list); }

private:
  std::set<std::string, std::less<>> m_seen;
  std::vector<std::string> m_list;
};

// One walk over the statements of a text, collecting relations and reasons.
class Walker {
public:
  void statement(std::string_view type, const Json& body);

  std::vector<std::string> relations() const { return {m_relations.begin(), m_relations.end()}; }
  std::vector<std::string> reasons() { return m_reasons.take(); }

private:
  void explain(const Json& body);
  void walk(const Json& value, const Scope& scope);
  void walk_object(const Json& object, const Scope& scope);
  void walk_with_queries(const Json& with, const Json& ctes, const Scope& with_scope);
  void inspect(std::string_view key, const Json& value);
  void note_relation(const Json& object, const Scope& scope);
  void check_function(std::optional<std::string_view> name);

  std::set<std::string, std::less<>> m_relations;
  Reasons m_reasons;
};

void Walker::statement(std::string_view type, const Json& body) {
  if (type == "SelectStmt") return walk(body, Scope{});
  if (type == "ExplainStmt") return explain(body);
  if (type == "VariableShowStmt") return;
  m_reasons.add(statement_reason(type));
  walk(body, Scope{});
}

// EXPLAIN ANALYZE runs its statement. EXPLAIN (ANALYZE false) would not, but it is refused
// too: failing closed on any ANALYZE option costs nothing. The statement explained must itself
// be a read.
void Walker::explain(const Json& body) {
  if (const Json* options = member(body, "options"); options != nullptr && options->is_array()) {
    for (const Json& option : *options) {
      const Json* element = member(option, "DefElem");
      const auto name = element != nullptr ? string_member(*element, "defname") : std::nullopt;
      if (!name || equals_ignoring_case(*name, "analyze") || equals_ignoring_case(*name, "analyse")) {
        m_reasons.add("EXPLAIN ANALYZE executes the statement");
      }
    }
  }
  const Json* query = member(body, "query");
  const auto inner = query != nullptr ? node_of(*query) : std::nullopt;
  if (!inner) return m_reasons.add("EXPLAIN of a statement the classifier cannot read is not a plain read");
  statement(inner->first, *inner->second);
}

void Walker::walk(const Json& value, const Scope& scope) {
  if (value.is_array()) {
    for (const Json& element : value) walk(element, scope);
  } else if (value.is_object()) {
    walk_object(value, scope);
  }
}

WithNames with_query_names(const Json* ctes) {
  WithNames names;
  if (ctes == nullptr) return names;
  for (const Json& cte : *ctes) {
    const Json* expression = member(cte, "CommonTableExpr");
    const auto name = expression != nullptr ? string_member(*expression, "ctename") : std::nullopt;
    if (name) names.emplace(*name, names.size());
  }
  return names;
}

void Walker::walk_object(const Json& object, const Scope& scope) {
  note_relation(object, scope);
  const Json* with = member(object, "withClause");
  const Json* ctes = with != nullptr ? member(*with, "ctes") : nullptr;
  if (ctes != nullptr && !ctes->is_array()) ctes = nullptr;
  const WithNames names = with_query_names(ctes);
  const Scope with_scope{&scope, &names, SIZE_MAX};
  const Scope& body_scope = ctes != nullptr ? with_scope : scope;
  if (ctes != nullptr) walk_with_queries(*with, *ctes, with_scope);
  for (const auto& [key, child] : object.get_ref<const Json::object_t&>()) {
    if (key == "withClause") continue;
    // FOR UPDATE OF names FROM items again, by alias as often as not.
    if (key == "lockedRels") continue;
    inspect(key, child);
    // The target of INSERT, UPDATE, DELETE and MERGE is a table even when a WITH query has
    // its name.
    walk(child, key == "relation" ? Scope{} : body_scope);
  }
}

// Walks each WITH query seeing the ones before it, or all of them under WITH RECURSIVE.
void Walker::walk_with_queries(const Json& with, const Json& ctes, const Scope& with_scope) {
  const Json* recursive = member(with, "recursive");
  const bool all_visible = recursive != nullptr && recursive->is_boolean() && recursive->get<bool>();
  for (std::size_t i = 0; i < ctes.size(); ++i) {
    const Scope before_this{with_scope.outer, with_scope.names, i};
    walk(ctes[i], all_visible ? with_scope : before_this);
  }
}

// Judges one member of a node: the checks that need no context beyond the member itself.
void Walker::inspect(std::string_view key, const Json& value) {
  if (key == "FuncCall") {
    const Json* names = member(value, "funcname");
    const bool readable = names != nullptr && names->is_array() && !names->empty();
    return check_function(readable ? string_node(names->back()) : std::nullopt);
  }
  // PostgreSQL's attribute syntax calls a function of one argument: ('s'::regclass).nextval
  // is nextval('s'), and so may t.nextval be.
  if (key == "A_Indirection") {
    if (const Json* path = member(value, "indirection"); path != nullptr && path->is_array()) {
      for (const Json& step : *path) {
        if (const auto name = string_node(step)) check_function(name);
      }
    }
    return;
  }
  if (key == "ColumnRef") {
    const Json* fields = member(value, "fields");
    if (fields != nullptr && fields->is_array() && fields->size() >= 2) {
      if (const auto name = string_node(fields->back())) check_function(name);
    }
    return;
  }
  if (key == "lockingClause" && value.is_array()) {
    for (const Json& clause : value) {
      const Json* locking = member(clause, "LockingClause");
      const auto strength = locking != nullptr ? string_member(*locking, "strength") : std::nullopt;
      m_reasons.add(lock_reason(strength.value_or("")));
    }
    return;
  }
  if (key == "intoClause") return m_reasons.add("SELECT INTO creates a table");
  if (is_statement_node(key) && key != "SelectStmt") m_reasons.add(statement_reason(key));
}

void Walker::note_relation(const Json& object, const Scope& scope) {
  const auto name = string_member(object, "relname");
  if (!name) return;
  const auto schema = string_member(object, "schemaname");
  const auto catalog = string_member(object, "catalogname");
  if (!schema && !catalog && scope.contains(*name)) return;
  std::string relation;
  if (catalog) relation.append(*catalog).push_back('.');
  if (schema) relation.append(*schema).push_back('.');
  relation.append(*name);
  m_relations.insert(std::move(relation));
}

void Walker::check_function(std::optional<std::string_view> name) {
  if (!name) return m_reasons.add("a function call whose name the classifier cannot read is not a plain read");
  if (const auto effect = side_effect_of(*name)) {
    m_reasons.add(std::string(*name) + " is a function with side effects: it " + std::string(*effect));
  }
}

} // namespace

Result<Classification> classify(std::string_view sql) {
  const Json tree = CORDON_TRY(parse_tree(sql));
  const Json* statements = member(tree, "stmts");
  if (statements == nullptr || !statements->is_array() || statements->empty()) {
    return fail(Errc::invalid_argument, "SQL text holds no statement");
  }
  Classification out;
  Walker walker;
  for (const Json& raw : *statements) {
    const Json* statement = member(raw, "stmt");
    const auto node = statement != nullptr ? node_of(*statement) : std::nullopt;
    if (!node) return fail(Errc::internal, "libpg_query wrote a statement of an unknown shape");
    out.statements.emplace_back(node->first);
    walker.statement(node->first, *node->second);
  }
  out.relations = walker.relations();
  out.reasons = walker.reasons();
  out.read_only = out.reasons.empty();
  return out;
}

} // namespace cordon::sql
