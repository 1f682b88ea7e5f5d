#include "approvald/policy/proposal.h"

namespace cordon::approvald {
namespace {

constexpr std::size_t max_name_bytes = 128;
constexpr std::size_t max_rationale_bytes = 4096;
constexpr std::size_t max_list_items = 64;

Result<std::string> bounded_string(const Json& body, const char* key, std::size_t max_bytes, bool required) {
  if (!body.contains(key)) {
    if (required) return fail(Errc::invalid_argument, std::string("the proposal needs ") + key);
    return std::string();
  }
  const Json& value = body[key];
  if (!value.is_string()) return fail(Errc::invalid_argument, std::string(key) + " must be a string");
  const auto& text = value.get_ref<const std::string&>();
  if ((required && text.empty()) || text.size() > max_bytes)
    return fail(Errc::invalid_argument, std::string(key) + " must be 1.." + std::to_string(max_bytes) + " bytes");
  return text;
}

Result<std::vector<std::string>> bounded_list(const Json& value, const std::string& key) {
  if (!value.is_array() || value.size() > max_list_items)
    return fail(Errc::invalid_argument, key + " must be a list of at most 64 strings");
  std::vector<std::string> out;
  for (const Json& item : value) {
    if (!item.is_string() || item.get_ref<const std::string&>().empty() ||
        item.get_ref<const std::string&>().size() > max_name_bytes)
      return fail(Errc::invalid_argument, key + " must hold strings of 1..128 bytes");
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<Observed> parse_observed(const Json& value) {
  if (!value.is_object()) return fail(Errc::invalid_argument, "observed must be an object");
  CORDON_TRY_VOID(require_known_fields(value, {"untrusted_spans", "injection_flags", "tainted_arguments"}));
  Observed observed;
  if (value.contains("untrusted_spans")) {
    const Json& spans = value["untrusted_spans"];
    if (!spans.is_number_integer() || spans.get<std::int64_t>() < 0)
      return fail(Errc::invalid_argument, "observed.untrusted_spans must be a non-negative integer");
    observed.untrusted_spans = spans.get<std::int64_t>();
  }
  if (value.contains("injection_flags"))
    observed.injection_flags = CORDON_TRY(bounded_list(value["injection_flags"], "observed.injection_flags"));
  if (value.contains("tainted_arguments"))
    observed.tainted_arguments = CORDON_TRY(bounded_list(value["tainted_arguments"], "observed.tainted_arguments"));
  return observed;
}

} // namespace

Json Proposal::action() const {
  return {{"tool", tool}, {"tool_pin", tool_pin}, {"arguments", arguments}, {"target", target}};
}

Result<Proposal> parse_proposal(const Json& body) {
  if (!body.is_object()) return fail(Errc::invalid_argument, "the proposal must be a JSON object");
  CORDON_TRY_VOID(require_known_fields(body, {"run_id", "agent", "tool", "tool_pin", "arguments", "target",
                                              "confidence_bp", "rationale", "citations", "observed"}));
  if (contains_float(body))
    return fail(Errc::invalid_argument, "the proposal holds a floating-point number; digested values and confidence "
                                        "are integers (confidence in basis points)");
  Proposal proposal;
  proposal.run_id = CORDON_TRY(bounded_string(body, "run_id", max_name_bytes, true));
  proposal.agent = CORDON_TRY(bounded_string(body, "agent", max_name_bytes, true));
  proposal.tool = CORDON_TRY(bounded_string(body, "tool", max_name_bytes, true));
  proposal.tool_pin = CORDON_TRY(bounded_string(body, "tool_pin", max_name_bytes, true));
  if (!body.contains("arguments") || !body["arguments"].is_object())
    return fail(Errc::invalid_argument, "arguments must be an object");
  proposal.arguments = body["arguments"];
  if (body.contains("target") && !body["target"].is_null()) {
    const Json& target = body["target"];
    if (!target.is_object() || target.size() > 16) return fail(Errc::invalid_argument, "target must be null or an object of strings");
    for (const auto& [key, value] : target.items())
      if (!value.is_string() || key.size() > max_name_bytes || value.get_ref<const std::string&>().size() > 1024)
        return fail(Errc::invalid_argument, "target must be null or an object of strings");
    proposal.target = target;
  }
  if (!body.contains("confidence_bp") || !body["confidence_bp"].is_number_integer() ||
      body["confidence_bp"].get<std::int64_t>() < 0 || body["confidence_bp"].get<std::int64_t>() > 10000)
    return fail(Errc::invalid_argument, "confidence_bp must be an integer 0..10000 (basis points)");
  proposal.confidence_bp = body["confidence_bp"].get<std::int64_t>();
  proposal.rationale = CORDON_TRY(bounded_string(body, "rationale", max_rationale_bytes, false));
  if (body.contains("citations")) proposal.citations = CORDON_TRY(bounded_list(body["citations"], "citations"));
  if (body.contains("observed")) proposal.observed = CORDON_TRY(parse_observed(body["observed"]));
  return proposal;
}

Json proposal_json(const Proposal& proposal) {
  return {{"run_id", proposal.run_id},
          {"agent", proposal.agent},
          {"tool", proposal.tool},
          {"tool_pin", proposal.tool_pin},
          {"arguments", proposal.arguments},
          {"target", proposal.target},
          {"confidence_bp", proposal.confidence_bp},
          {"rationale", proposal.rationale},
          {"citations", proposal.citations},
          {"observed", {{"untrusted_spans", proposal.observed.untrusted_spans},
                        {"injection_flags", proposal.observed.injection_flags},
                        {"tainted_arguments", proposal.observed.tainted_arguments}}}};
}

} // namespace cordon::approvald
