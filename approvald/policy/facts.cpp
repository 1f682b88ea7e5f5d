#include "approvald/policy/facts.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "approvald/policy/glob.h"
#include "common/sql/sql_classifier.h"

namespace cordon::approvald {
namespace {

// Headers that carry credentials. agentd injects leased credentials itself; an agent writing
// one into a request is transmitting a credential it got from somewhere.
constexpr std::array credential_header_names{
    std::string_view{"authorization"}, std::string_view{"proxy-authorization"}, std::string_view{"cookie"},
    std::string_view{"x-api-key"},     std::string_view{"x-auth-token"},        std::string_view{"api-key"},
};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<std::string> string_argument(const Proposal& proposal, const char* name) {
  const Json& arguments = proposal.arguments;
  if (!arguments.contains(name) || !arguments[name].is_string())
    return fail(Errc::invalid_argument, proposal.tool + " needs the string argument " + name);
  return arguments[name].get<std::string>();
}

// The host of an http(s) URL, lower-cased, without port or credentials.
Result<std::string> url_host(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("https://")) rest = url.substr(8);
  else if (url.starts_with("http://")) rest = url.substr(7);
  else return fail(Errc::invalid_argument, "http.request takes http:// or https:// URLs only");
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (rest.find('@') != std::string_view::npos)
    return fail(Errc::invalid_argument, "http.request URLs may not carry user information");
  if (rest.starts_with("[")) rest = rest.substr(0, rest.find(']') + 1);
  else rest = rest.substr(0, rest.find(':'));
  if (rest.empty()) return fail(Errc::invalid_argument, "the URL has no host");
  return lower(rest);
}

Result<void> sql_facts(const Proposal& proposal, Facts& facts) {
  const auto database = CORDON_TRY(string_argument(proposal, "database"));
  const auto text = CORDON_TRY(string_argument(proposal, "sql"));
  auto classified = sql::classify(text);
  if (!classified) return fail(Errc::invalid_argument, "the SQL does not parse: " + classified.error().message);
  facts.sql_read_only = classified->read_only;
  facts.sql_relations = classified->relations;
  facts.sql_reasons = classified->reasons;
  facts.resources.push_back("sql:" + database);
  for (const auto& relation : classified->relations) facts.resources.push_back("sql:" + database + "/" + relation);
  return ok();
}

Result<void> http_facts(const Proposal& proposal, Facts& facts) {
  const auto url = CORDON_TRY(string_argument(proposal, "url"));
  facts.resources.push_back("http:" + CORDON_TRY(url_host(url)));
  if (proposal.arguments.contains("headers")) {
    const Json& headers = proposal.arguments["headers"];
    if (!headers.is_object()) return fail(Errc::invalid_argument, "http.request headers must be an object");
    for (const auto& [name, value] : headers.items()) {
      const std::string folded = lower(name);
      if (std::find(credential_header_names.begin(), credential_header_names.end(), folded) != credential_header_names.end())
        facts.credential_headers.push_back(folded);
    }
  }
  return ok();
}

Result<void> email_facts(const Proposal& proposal, Facts& facts) {
  for (const char* field : {"to", "cc"}) {
    if (!proposal.arguments.contains(field)) continue;
    const Json& list = proposal.arguments[field];
    if (!list.is_array()) return fail(Errc::invalid_argument, std::string("email.send ") + field + " must be a list");
    for (const Json& address : list) {
      if (!address.is_string()) return fail(Errc::invalid_argument, std::string("email.send ") + field + " holds addresses");
      facts.resources.push_back("mail:" + lower(address.get<std::string>()));
      ++facts.recipients;
    }
  }
  return ok();
}

Result<void> git_facts(const Proposal& proposal, Facts& facts) {
  const auto repo = CORDON_TRY(string_argument(proposal, "repo"));
  const auto branch = CORDON_TRY(string_argument(proposal, "branch"));
  facts.resources.push_back("git:" + repo);
  facts.resources.push_back("git:" + repo + "/" + branch);
  if (proposal.arguments.contains("force")) {
    if (!proposal.arguments["force"].is_boolean()) return fail(Errc::invalid_argument, "git.push force must be a boolean");
    facts.force = proposal.arguments["force"].get<bool>();
  }
  return ok();
}

} // namespace

Result<Facts> derive_facts(const Proposal& proposal, const Constitution& constitution) {
  Facts facts;
  facts.tool = tools::find_tool(proposal.tool);
  if (!facts.tool) {
    std::string known;
    for (const auto& tool : tools::builtin_tools()) known += (known.empty() ? "" : ", ") + tool.name;
    return fail(Errc::invalid_argument, "unknown tool \"" + proposal.tool + "\"; known tools: " + known);
  }
  const std::string pin = tools::tool_pin(*facts.tool);
  if (proposal.tool_pin != pin)
    return fail(Errc::invalid_argument, "tool_pin " + proposal.tool_pin + " is not the definition of " + proposal.tool +
                                            " that approvald knows (" + pin + ")");
  switch (facts.tool->floor) {
  case tools::FloorClass::sql: CORDON_TRY_VOID(sql_facts(proposal, facts)); break;
  case tools::FloorClass::http: CORDON_TRY_VOID(http_facts(proposal, facts)); break;
  case tools::FloorClass::email: CORDON_TRY_VOID(email_facts(proposal, facts)); break;
  case tools::FloorClass::force_push:
  case tools::FloorClass::branch_delete: CORDON_TRY_VOID(git_facts(proposal, facts)); break;
  case tools::FloorClass::credentials:
  case tools::FloorClass::none: break;
  }
  if (proposal.tool.starts_with("fs.")) facts.resources.push_back("fs:" + CORDON_TRY(string_argument(proposal, "path")));

  for (const auto& resource : facts.resources)
    for (const auto& tagged : constitution.resources)
      if (glob_match(tagged.pattern, resource)) facts.tags.insert(facts.tags.end(), tagged.tags.begin(), tagged.tags.end());
  std::sort(facts.tags.begin(), facts.tags.end());
  facts.tags.erase(std::unique(facts.tags.begin(), facts.tags.end()), facts.tags.end());
  return facts;
}

} // namespace cordon::approvald
