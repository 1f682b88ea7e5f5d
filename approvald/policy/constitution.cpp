#include "approvald/policy/constitution.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <set>
#include <sstream>

#include "common/config.h"
#include "common/crypto.h"
#include "common/encoding.h"

namespace cordon::approvald {
namespace {

constexpr std::size_t max_files = 256;
constexpr std::size_t max_file_bytes = 1 << 20;
constexpr std::size_t max_rules = 10000;
constexpr std::size_t max_id_bytes = 64;

constexpr std::array operators{
    std::pair{Operator::equals, "equals"},         std::pair{Operator::not_equals, "not_equals"},
    std::pair{Operator::glob, "glob"},             std::pair{Operator::not_glob, "not_glob"},
    std::pair{Operator::prefix, "prefix"},         std::pair{Operator::numeric_lt, "numeric_lt"},
    std::pair{Operator::numeric_le, "numeric_le"}, std::pair{Operator::numeric_gt, "numeric_gt"},
    std::pair{Operator::numeric_ge, "numeric_ge"}, std::pair{Operator::present, "present"},
    std::pair{Operator::no_untrusted_data_in, "no_untrusted_data_in"},
};

// Fields a condition may name. Values are what the evaluator derives (policy-guide.md lists
// them): a rule naming anything else is a typo that must not silently never match.
constexpr std::array exact_fields{
    std::string_view{"agent"},          std::string_view{"tool"},
    std::string_view{"run_id"},         std::string_view{"confidence_bp"},
    std::string_view{"mode"},           std::string_view{"citations"},
    std::string_view{"resources"},      std::string_view{"tags"},
    std::string_view{"sql.read_only"},  std::string_view{"sql.relations"},
    std::string_view{"observed.untrusted_spans"}, std::string_view{"observed.injection_flags"},
    std::string_view{"observed.tainted_arguments"}, std::string_view{"tool.irreversible"},
};
constexpr std::array prefix_fields{std::string_view{"arguments."}, std::string_view{"target."}};

bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= max_id_bytes &&
         id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") == std::string_view::npos;
}

struct Where {
  std::string file;
  std::string rule; // "" outside rules
  std::string at(std::string_view key) const {
    std::string text = file + ": ";
    if (!rule.empty()) text += "rule \"" + rule + "\": ";
    return text + std::string(key);
  }
};

Result<void> known_keys(const Json& object, std::initializer_list<std::string_view> allowed, const Where& where,
                        std::string_view what) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) != allowed.end()) continue;
    std::string list;
    for (std::string_view name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
    return fail(Errc::unknown_field, where.at(std::string(what) + " has an unknown key \"" + it.key() +
                                              "\"; known keys: " + list));
  }
  return ok();
}

Result<std::string> string_member(const Json& object, const char* key, const Where& where, bool required,
                                  std::size_t max_bytes = 4096) {
  if (!object.contains(key)) {
    if (required) return fail(Errc::invalid_argument, where.at(std::string(key) + " is required"));
    return std::string();
  }
  const Json& value = object[key];
  if (!value.is_string() || value.get_ref<const std::string&>().size() > max_bytes)
    return fail(Errc::invalid_argument, where.at(std::string(key) + " must be a string of at most " +
                                                 std::to_string(max_bytes) + " bytes"));
  return value.get<std::string>();
}

Result<std::vector<std::string>> string_list(const Json& value, const Where& where, std::string_view key) {
  if (!value.is_array() || value.empty())
    return fail(Errc::invalid_argument, where.at(std::string(key) + " must be a non-empty list of strings"));
  std::vector<std::string> out;
  for (const Json& item : value) {
    if (!item.is_string() || item.get_ref<const std::string&>().empty())
      return fail(Errc::invalid_argument, where.at(std::string(key) + " must be a non-empty list of strings"));
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<Effect> parse_effect(const Json& rule, const Where& where) {
  const auto effect = CORDON_TRY(string_member(rule, "effect", where, true));
  if (effect == "allow") return Effect::allow;
  if (effect == "require_approval") return Effect::require_approval;
  if (effect == "deny") return Effect::deny;
  return fail(Errc::invalid_argument, where.at("effect must be allow, require_approval or deny, not \"" + effect + "\""));
}

Result<Operator> parse_operator(std::string_view name, const Where& where) {
  for (const auto& [op, text] : operators)
    if (name == text) return op;
  std::string list;
  for (const auto& entry : operators) list += (list.empty() ? "" : ", ") + std::string(entry.second);
  return fail(Errc::unknown_field, where.at("conditions." + std::string(name) + " is not an operator; operators: " + list));
}

// Checks one value against what its operator compares.
Result<void> check_value(Operator op, const Json& value, const Where& where, const std::string& key) {
  switch (op) {
  case Operator::glob:
  case Operator::not_glob:
  case Operator::prefix:
    if (value.is_string()) return ok();
    return fail(Errc::invalid_argument, where.at(key + " compares strings: give a string or a list of strings"));
  case Operator::numeric_lt:
  case Operator::numeric_le:
  case Operator::numeric_gt:
  case Operator::numeric_ge:
    if (value.is_number_integer()) return ok();
    return fail(Errc::invalid_argument, where.at(key + " compares integers: give an integer"));
  case Operator::present:
    if (value.is_boolean()) return ok();
    return fail(Errc::invalid_argument, where.at(key + " takes true or false"));
  case Operator::equals:
  case Operator::not_equals:
    if (value.is_string() || value.is_number_integer() || value.is_boolean()) return ok();
    return fail(Errc::invalid_argument, where.at(key + " compares a string, an integer or a boolean"));
  case Operator::no_untrusted_data_in: break;
  }
  return ok();
}

Result<std::vector<Condition>> parse_conditions(const Json& conditions, const Where& where) {
  if (!conditions.is_object()) return fail(Errc::invalid_argument, where.at("conditions must be a table"));
  std::vector<Condition> out;
  for (auto it = conditions.begin(); it != conditions.end(); ++it) {
    const Operator op = CORDON_TRY(parse_operator(it.key(), where));
    const std::string key = "conditions." + it.key();
    if (op == Operator::no_untrusted_data_in) {
      auto names = CORDON_TRY(string_list(it.value(), where, key));
      Condition condition{op, "", {}};
      for (auto& name : names) condition.values.emplace_back(std::move(name));
      out.push_back(std::move(condition));
      continue;
    }
    if (!it.value().is_object() || it.value().empty())
      return fail(Errc::invalid_argument, where.at(key + " must be a table of field = value"));
    for (auto field = it.value().begin(); field != it.value().end(); ++field) {
      const std::string field_key = key + ".\"" + field.key() + "\"";
      if (!is_condition_field(field.key()))
        return fail(Errc::unknown_field, where.at(field_key + ": no such field (see policy-guide.md, \"Fields\")"));
      Condition condition{op, field.key(), {}};
      const bool list = field.value().is_array() && op != Operator::present;
      if (list && field.value().empty()) return fail(Errc::invalid_argument, where.at(field_key + " is an empty list"));
      for (const Json& value : list ? field.value() : Json::array({field.value()})) {
        CORDON_TRY_VOID(check_value(op, value, where, field_key));
        condition.values.push_back(value);
      }
      out.push_back(std::move(condition));
    }
  }
  return out;
}

Result<ApprovalRequirement> parse_approval(const Json& approval, const Where& where) {
  if (!approval.is_object()) return fail(Errc::invalid_argument, where.at("approval must be a table"));
  CORDON_TRY_VOID(known_keys(approval, {"count", "group", "bind"}, where, "approval"));
  ApprovalRequirement requirement;
  if (approval.contains("count")) {
    const Json& count = approval["count"];
    if (!count.is_number_integer() || count.get<std::int64_t>() < 1 || count.get<std::int64_t>() > 10)
      return fail(Errc::invalid_argument, where.at("approval.count must be an integer 1..10"));
    requirement.count = count.get<std::int64_t>();
  }
  if (approval.contains("group")) {
    requirement.group = CORDON_TRY(string_member(approval, "group", where, true, max_id_bytes));
    if (!valid_id(requirement.group)) return fail(Errc::invalid_argument, where.at("approval.group must be 1..64 of [a-z0-9._-]"));
  }
  if (approval.contains("bind")) {
    requirement.bind = CORDON_TRY(string_list(approval["bind"], where, "approval.bind"));
    for (const auto& field : requirement.bind)
      if (!field.starts_with("target.") && !field.starts_with("arguments."))
        return fail(Errc::invalid_argument, where.at("approval.bind names target.* or arguments.* fields, not \"" + field + "\""));
  }
  return requirement;
}

Result<Rule> parse_rule(const Json& value, const std::string& file, std::size_t position) {
  Where where{file, "#" + std::to_string(position + 1)};
  if (!value.is_object()) return fail(Errc::invalid_argument, where.at("must be a table"));
  const std::string id = CORDON_TRY(string_member(value, "id", where, true, max_id_bytes));
  if (!valid_id(id)) return fail(Errc::invalid_argument, where.at("id must be 1..64 of [a-z0-9._-]"));
  if (id.starts_with("floor.") || id.starts_with("constitution."))
    return fail(Errc::invalid_argument, where.at("id \"" + id + "\" is reserved: floor.* and constitution.* are the code's"));
  where.rule = id;
  CORDON_TRY_VOID(known_keys(value, {"id", "description", "effect", "tools", "conditions", "approval"}, where, "the rule"));
  Rule rule;
  rule.id = id;
  rule.file = file;
  rule.description = CORDON_TRY(string_member(value, "description", where, true));
  rule.effect = CORDON_TRY(parse_effect(value, where));
  if (!value.contains("tools")) return fail(Errc::invalid_argument, where.at("tools is required (\"*\" for every tool)"));
  rule.tools = CORDON_TRY(string_list(value["tools"], where, "tools"));
  if (value.contains("conditions")) rule.conditions = CORDON_TRY(parse_conditions(value["conditions"], where));
  if (value.contains("approval")) {
    if (rule.effect != Effect::require_approval)
      return fail(Errc::invalid_argument, where.at("approval is only for rules with effect require_approval"));
    rule.approval = CORDON_TRY(parse_approval(value["approval"], where));
  }
  return rule;
}

Result<void> parse_file(const std::string& name, const Json& document, Constitution& constitution,
                        bool& have_settings) {
  const Where where{name, ""};
  CORDON_TRY_VOID(known_keys(document, {"description", "rule", "resource", "settings"}, where, "the file"));
  if (document.contains("description")) CORDON_TRY(string_member(document, "description", where, true));
  if (document.contains("rule")) {
    const Json& rules = document["rule"];
    if (!rules.is_array()) return fail(Errc::invalid_argument, where.at("rule must be an array of tables ([[rule]])"));
    for (std::size_t i = 0; i < rules.size(); ++i) constitution.rules.push_back(CORDON_TRY(parse_rule(rules[i], name, i)));
  }
  if (document.contains("resource")) {
    const Json& resources = document["resource"];
    if (!resources.is_array()) return fail(Errc::invalid_argument, where.at("resource must be an array of tables ([[resource]])"));
    for (const Json& resource : resources) {
      if (!resource.is_object()) return fail(Errc::invalid_argument, where.at("each [[resource]] must be a table"));
      CORDON_TRY_VOID(known_keys(resource, {"match", "tags"}, where, "[[resource]]"));
      ResourceTag tag;
      tag.pattern = CORDON_TRY(string_member(resource, "match", where, true));
      if (!resource.contains("tags")) return fail(Errc::invalid_argument, where.at("[[resource]] needs tags"));
      tag.tags = CORDON_TRY(string_list(resource["tags"], where, "[[resource]].tags"));
      constitution.resources.push_back(std::move(tag));
    }
  }
  if (document.contains("settings")) {
    if (have_settings) return fail(Errc::invalid_argument, where.at("[settings] is already set by another file"));
    have_settings = true;
    const Json& settings = document["settings"];
    CORDON_TRY_VOID(known_keys(settings, {"confidence_threshold_bp"}, where, "[settings]"));
    if (settings.contains("confidence_threshold_bp")) {
      const Json& threshold = settings["confidence_threshold_bp"];
      if (!threshold.is_number_integer() || threshold.get<std::int64_t>() < 4000 || threshold.get<std::int64_t>() > 10000)
        return fail(Errc::invalid_argument, where.at("settings.confidence_threshold_bp must be an integer 4000..10000 (basis points)"));
      constitution.confidence_threshold_bp = threshold.get<std::int64_t>();
    }
  }
  return ok();
}

} // namespace

std::string_view effect_name(Effect effect) {
  switch (effect) {
  case Effect::allow: return "allow";
  case Effect::require_approval: return "require_approval";
  case Effect::deny: return "deny";
  }
  return "deny";
}

std::string_view operator_name(Operator op) {
  for (const auto& [known, text] : operators)
    if (known == op) return text;
  return "unknown";
}

bool is_condition_field(std::string_view field) {
  if (std::find(exact_fields.begin(), exact_fields.end(), field) != exact_fields.end()) return true;
  for (std::string_view prefix : prefix_fields)
    if (field.size() > prefix.size() && field.starts_with(prefix)) return true;
  return false;
}

Result<Constitution> parse_constitution(std::span<const ConstitutionFile> files) {
  if (files.empty()) return fail(Errc::invalid_argument, "the constitution has no files: there is no policy to apply");
  if (files.size() > max_files) return fail(Errc::too_large, "the constitution has more than 256 files");
  std::vector<const ConstitutionFile*> ordered;
  for (const auto& file : files) ordered.push_back(&file);
  std::sort(ordered.begin(), ordered.end(), [](auto* a, auto* b) { return a->name < b->name; });

  Constitution constitution;
  Json documents = Json::object();
  bool have_settings = false;
  for (const ConstitutionFile* file : ordered) {
    if (file->name.empty() || file->name.find('/') != std::string::npos)
      return fail(Errc::invalid_argument, "a constitution file name must be a plain name, not \"" + file->name + "\"");
    if (documents.contains(file->name)) return fail(Errc::invalid_argument, file->name + ": named twice");
    if (file->text.size() > max_file_bytes) return fail(Errc::too_large, file->name + ": over 1 MiB");
    auto parsed = CORDON_TRY(ConfigFile::parse(file->text, file->name));
    Json document = CORDON_TRY(parsed.to_json());
    CORDON_TRY_VOID(parse_file(file->name, document, constitution, have_settings));
    documents[file->name] = std::move(document);
    constitution.files.push_back(file->name);
  }
  if (constitution.rules.size() > max_rules) return fail(Errc::too_large, "the constitution has more than 10000 rules");
  std::set<std::string> ids;
  for (const Rule& rule : constitution.rules)
    if (!ids.insert(rule.id).second)
      return fail(Errc::invalid_argument, rule.file + ": rule \"" + rule.id + "\" is defined twice");

  const auto canonical = CORDON_TRY(canonical_json(documents));
  constitution.version = "sha256:" + to_hex(crypto::sha256(canonical));
  constitution.canonical = std::move(documents);
  return constitution;
}

Result<Constitution> load_constitution(const std::filesystem::path& directory) {
  std::error_code error;
  std::vector<ConstitutionFile> files;
  std::filesystem::directory_iterator entries(directory, error);
  if (error) return fail(Errc::not_found, "cannot read the constitution directory " + directory.string() + ": " + error.message());
  for (const auto& entry : entries) {
    if (entry.path().extension() != ".toml" || !entry.is_regular_file(error)) continue;
    if (entry.file_size(error) > max_file_bytes) return fail(Errc::too_large, entry.path().string() + ": over 1 MiB");
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in && !in.eof()) return fail(Errc::io_error, "cannot read " + entry.path().string());
    files.push_back({entry.path().filename().string(), text.str()});
  }
  if (files.empty()) return fail(Errc::not_found, directory.string() + " holds no *.toml: there is no constitution");
  return parse_constitution(files);
}

} // namespace cordon::approvald
