#include "approvald/policy/condition.h"

#include <algorithm>

#include "approvald/policy/glob.h"

namespace cordon::approvald {
namespace {

bool scalar_matches(Operator op, const Json& actual, const Json& expected) {
  switch (op) {
  case Operator::equals:
  case Operator::not_equals: return actual == expected; // no implicit conversions: "1" != 1
  case Operator::glob:
  case Operator::not_glob:
    return actual.is_string() && glob_match(expected.get_ref<const std::string&>(), actual.get_ref<const std::string&>());
  case Operator::prefix:
    return actual.is_string() && actual.get_ref<const std::string&>().starts_with(expected.get_ref<const std::string&>());
  case Operator::numeric_lt: return actual.is_number_integer() && actual.get<std::int64_t>() < expected.get<std::int64_t>();
  case Operator::numeric_le: return actual.is_number_integer() && actual.get<std::int64_t>() <= expected.get<std::int64_t>();
  case Operator::numeric_gt: return actual.is_number_integer() && actual.get<std::int64_t>() > expected.get<std::int64_t>();
  case Operator::numeric_ge: return actual.is_number_integer() && actual.get<std::int64_t>() >= expected.get<std::int64_t>();
  case Operator::present:
  case Operator::no_untrusted_data_in: return false;
  }
  return false;
}

bool any_matches(Operator op, const Json& actual, const std::vector<Json>& values) {
  const auto one = [&](const Json& element) {
    return std::any_of(values.begin(), values.end(), [&](const Json& value) { return scalar_matches(op, element, value); });
  };
  if (actual.is_array()) return std::any_of(actual.begin(), actual.end(), one);
  return one(actual);
}

} // namespace

bool condition_holds(const Condition& condition, const FieldLookup& lookup, const std::vector<std::string>& tainted) {
  if (condition.op == Operator::no_untrusted_data_in) {
    return std::none_of(condition.values.begin(), condition.values.end(), [&](const Json& name) {
      return std::find(tainted.begin(), tainted.end(), name.get<std::string>()) != tainted.end();
    });
  }
  const std::optional<Json> actual = lookup(condition.field);
  if (condition.op == Operator::present) return actual.has_value() == condition.values.front().get<bool>();
  if (!actual) return false;
  switch (condition.op) {
  case Operator::not_equals: return !any_matches(Operator::equals, *actual, condition.values);
  case Operator::not_glob: return !any_matches(Operator::glob, *actual, condition.values);
  default: return any_matches(condition.op, *actual, condition.values);
  }
}

} // namespace cordon::approvald
