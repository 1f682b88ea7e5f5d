#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/json.h"

namespace cordon {

// One table of a loaded TOML configuration file (TOML 1.0, parsed with toml++): the root table
// or a nested one. Daemons build their own typed config structs on top of it, e.g.
//
//   auto file = CORDON_TRY(ConfigFile::load(path));
//   auto auditd = CORDON_TRY(file.table("auditd"));
//   CORDON_TRY_VOID(auditd.require_known_keys({"socket", "state_dir", "origin"}));
//   config.socket = CORDON_TRY(auditd.string("socket"));
//   config.interval_ms = CORDON_TRY(auditd.optional_integer("interval_ms", 1, 60000)).value_or(10000);
//
// Keys are dotted paths relative to this table ("auditor.listen"); a key that itself holds a dot
// cannot be addressed. Every error names the file, the full key and, where known, the line, and
// has code Errc::invalid_argument (wrong type, out of range, malformed file), Errc::not_found (a
// missing required key, a missing file) or Errc::unknown_field (a key the caller does not know).
// Never throws. Copies are cheap and share the parsed document; values are never logged, so a
// config may hold secrets' file paths but should not hold secrets.
class ConfigFile {
public:
  // Reads and parses `path`.
  static Result<ConfigFile> load(const std::string& path);
  // Parses TOML text; `source_name` stands for the file in error messages.
  static Result<ConfigFile> parse(std::string_view text, std::string source_name);

  // The file this table came from, and its dotted key from the root ("" for the root).
  const std::string& source() const;
  const std::string& key_prefix() const;
  // The dotted key of `path` from the root ("approvald.socket"), as messages name it.
  std::string full_key(std::string_view path) const;

  bool contains(std::string_view path) const;
  // The keys of this table, sorted.
  std::vector<std::string> keys() const;

  // Required values: fail with Errc::not_found when absent, Errc::invalid_argument when of the
  // wrong type.
  Result<std::string> string(std::string_view path) const;
  Result<std::int64_t> integer(std::string_view path) const;
  Result<std::int64_t> integer(std::string_view path, std::int64_t min, std::int64_t max) const;
  Result<bool> boolean(std::string_view path) const;
  Result<std::vector<std::string>> string_list(std::string_view path) const;
  Result<ConfigFile> table(std::string_view path) const;
  // An array of tables ([[peers]]).
  Result<std::vector<ConfigFile>> table_list(std::string_view path) const;

  // Optional values: nullopt when absent, an error when present with the wrong type.
  Result<std::optional<std::string>> optional_string(std::string_view path) const;
  Result<std::optional<std::int64_t>> optional_integer(std::string_view path) const;
  Result<std::optional<std::int64_t>> optional_integer(std::string_view path, std::int64_t min,
                                                       std::int64_t max) const;
  Result<std::optional<bool>> optional_boolean(std::string_view path) const;
  Result<std::optional<std::vector<std::string>>> optional_string_list(std::string_view path) const;
  Result<std::optional<ConfigFile>> optional_table(std::string_view path) const;
  Result<std::optional<std::vector<ConfigFile>>> optional_table_list(std::string_view path) const;

  // This table as JSON: tables become objects, arrays arrays, strings, integers and booleans
  // themselves. Floating-point numbers, dates and times are refused (Errc::invalid_argument
  // naming the key and line): JSON holding them has no single canonical form, and documents
  // read this way (the constitution) are digested.
  Result<Json> to_json() const;

  // Fails with Errc::unknown_field naming the first key of this table not in `allowed`: a typo
  // in a config must not silently fall back to a default.
  Result<void> require_known_keys(std::initializer_list<std::string_view> allowed) const;

private:
  struct Document;
  ConfigFile(std::shared_ptr<const Document> document, const void* table, std::string key_prefix);

  // Resolves `path`; nullptr when absent. Fails only if an intermediate key is not a table.
  Result<const void*> find(std::string_view path) const;

  std::shared_ptr<const Document> m_document;
  const void* m_table; // a toml::table inside *m_document; kept opaque to spare includers toml++
  std::string m_key_prefix;
};

// Free-function form of ConfigFile::require_known_keys.
inline Result<void> require_known_keys(const ConfigFile& table,
                                       std::initializer_list<std::string_view> allowed) {
  return table.require_known_keys(allowed);
}

// An octal mode string such as "0660": 1 to 4 octal digits, at most 0777; nullopt otherwise.
// Parsed by hand, since std::stoul would accept leading spaces and signs and wrap values beyond
// 32 bits into range.
std::optional<std::uint32_t> parse_octal_mode(std::string_view text);

// table.<key> as a socket mode: nullopt when absent, Errc::invalid_argument naming the key when
// it is not an octal string parse_octal_mode accepts.
Result<std::optional<std::uint32_t>> optional_socket_mode(const ConfigFile& table, std::string_view key = "socket_mode");

// The root `tenant` key every daemon shares: 1..64 of [a-z0-9-], else Errc::invalid_argument.
Result<std::string> tenant_of(const ConfigFile& file);

} // namespace cordon
