#pragma once

#include <optional>
#include <string_view>

// Functions a plain read must not call (DESIGN.md §6.2): they change state, block, or reach
// outside the database although the statement calling them is a SELECT.
namespace cordon::sql {

// What the function named `name` does that a read must not, e.g. "advances a sequence", or
// nullopt when it is not on the deny-list. `name` is the last part of a possibly
// schema-qualified name; it is compared case-insensitively, so `PG_CATALOG.PG_SLEEP` and a
// quoted "Nextval" are caught too (PostgreSQL would call the latter only if someone created it,
// and refusing it costs nothing).
std::optional<std::string_view> side_effect_of(std::string_view name);

} // namespace cordon::sql
