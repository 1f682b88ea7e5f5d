#include "approvald/policy/amendment.h"

#include <cctype>

#include "common/tools/tool_catalog.h"

namespace cordon::approvald {
namespace {

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      static constexpr char hex[] = "0123456789ABCDEF";
      out += "\\u00";
      out += hex[byte >> 4];
      out += hex[byte & 0x0f];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string toml_value(const Json& value) {
  if (value.is_string()) return toml_string(value.get_ref<const std::string&>());
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  return value.dump(); // an integer
}

// A scalar (string, integer, boolean) argument; arrays, objects and floats describe no class.
bool scalar(const Json& value) { return value.is_string() || value.is_boolean() || value.is_number_integer(); }

std::string host_of(const std::string& url) {
  std::string_view rest = url;
  const auto scheme = rest.find("://");
  if (scheme != std::string_view::npos) rest = rest.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (rest.starts_with("[")) return std::string(rest.substr(0, rest.find(']') + 1));
  std::string host(rest.substr(0, rest.find(':')));
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host;
}

} // namespace

bool amendable(const Json& cited_rules) {
  bool no_match = false;
  for (const Json& rule : cited_rules) {
    if (rule == "constitution.no_match") no_match = true;
    else if (rule != "floor.dry_run") return false;
  }
  return no_match;
}

Result<std::string> amendment_rule(const Proposal& proposal, const std::string& rule_id, const std::string& description) {
  const auto* tool = tools::find_tool(proposal.tool);
  if (!tool) return fail(Errc::invalid_argument, "no rule can name the unknown tool " + proposal.tool);
  std::vector<std::pair<std::string, std::string>> equals; // field, TOML value
  std::string glob;
  const Json& arguments = proposal.arguments;
  if (proposal.tool.starts_with("fs.")) {
    const std::string path = arguments.value("path", "");
    const auto slash = path.rfind('/');
    const std::string directory = slash == std::string::npos ? "" : path.substr(0, slash);
    if (directory.find_first_of("*?") != std::string::npos)
      return fail(Errc::invalid_argument, "the path's directory holds glob characters; no rule names just this class");
    glob = "conditions.glob = { \"arguments.path\" = " + toml_string(directory.empty() ? "*" : directory + "/*") + " }\n";
  } else if (proposal.tool == "sql.query") {
    equals = {{"arguments.database", toml_value(arguments.value("database", Json("")))}, {"sql.read_only", "true"}};
  } else if (proposal.tool == "http.request") {
    equals = {{"arguments.method", toml_value(arguments.value("method", Json("")))},
              {"resources", toml_string("http:" + host_of(arguments.value("url", "")))}};
  } else {
    for (const auto& [name, value] : arguments.items())
      if (scalar(value)) equals.emplace_back("arguments." + name, toml_value(value));
  }
  std::string rule = "[[rule]]\nid = " + toml_string(rule_id) + "\ndescription = " + toml_string(description) +
                     "\neffect = \"allow\"\ntools = [" + toml_string(proposal.tool) + "]\n";
  if (!equals.empty()) {
    rule += "conditions.equals = { ";
    for (std::size_t i = 0; i < equals.size(); ++i) rule += (i ? ", " : "") + toml_string(equals[i].first) + " = " + equals[i].second;
    rule += " }\n";
  }
  rule += glob;
  if (!tool->sensitive_arguments.empty()) {
    rule += "conditions.no_untrusted_data_in = [";
    for (std::size_t i = 0; i < tool->sensitive_arguments.size(); ++i) rule += (i ? ", " : "") + toml_string(tool->sensitive_arguments[i]);
    rule += "]\n";
  }
  return rule;
}

} // namespace cordon::approvald
