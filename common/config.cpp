#include "common/config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

namespace cordon {

struct ConfigFile::Document {
  std::string source;
  toml::table root;
};

namespace {

const toml::table& as_table(const void* table) { return *static_cast<const toml::table*>(table); }

std::string_view type_name(toml::node_type type) {
  switch (type) {
  case toml::node_type::none: return "nothing";
  case toml::node_type::table: return "a table";
  case toml::node_type::array: return "an array";
  case toml::node_type::string: return "a string";
  case toml::node_type::integer: return "an integer";
  case toml::node_type::floating_point: return "a floating-point number";
  case toml::node_type::boolean: return "a boolean";
  case toml::node_type::date: return "a date";
  case toml::node_type::time: return "a time";
  case toml::node_type::date_time: return "a date-time";
  }
  return "an unknown value";
}

std::string line_suffix(const toml::node& node) {
  auto line = node.source().begin.line;
  if (line == 0) return {};
  return " (line " + std::to_string(line) + ")";
}

} // namespace

ConfigFile::ConfigFile(std::shared_ptr<const Document> document, const void* table,
                       std::string key_prefix)
    : m_document(std::move(document)), m_table(table), m_key_prefix(std::move(key_prefix)) {}

Result<ConfigFile> ConfigFile::load(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    int error = errno;
    Errc code = error == ENOENT ? Errc::not_found : Errc::io_error;
    return fail(code, path + ": cannot open configuration: " + std::strerror(error));
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) return fail(Errc::io_error, path + ": cannot read configuration");
  return parse(text.str(), path);
}

Result<ConfigFile> ConfigFile::parse(std::string_view text, std::string source_name) {
  auto document = std::make_shared<Document>();
  document->source = std::move(source_name);
  try {
    document->root = toml::parse(text, document->source);
  } catch (const toml::parse_error& error) {
    std::string message = document->source + ":" + std::to_string(error.source().begin.line) +
                          ":" + std::to_string(error.source().begin.column) +
                          ": invalid TOML: " + std::string(error.description());
    return fail(Errc::invalid_argument, std::move(message));
  } catch (const std::exception& error) {
    return fail(Errc::invalid_argument, document->source + ": invalid TOML: " + error.what());
  }
  const void* root = &document->root;
  return ConfigFile(std::move(document), root, "");
}

const std::string& ConfigFile::source() const { return m_document->source; }

const std::string& ConfigFile::key_prefix() const { return m_key_prefix; }

std::string ConfigFile::full_key(std::string_view path) const {
  if (m_key_prefix.empty()) return std::string(path);
  return m_key_prefix + "." + std::string(path);
}

Result<const void*> ConfigFile::find(std::string_view path) const {
  const toml::table* table = &as_table(m_table);
  std::size_t start = 0;
  while (true) {
    std::size_t dot = path.find('.', start);
    std::string_view segment = path.substr(start, dot == std::string_view::npos ? dot : dot - start);
    const toml::node* node = table->get(segment);
    if (dot == std::string_view::npos || node == nullptr) return static_cast<const void*>(node);
    table = node->as_table();
    if (table == nullptr) {
      std::string parent = full_key(path.substr(0, dot));
      return fail(Errc::invalid_argument, source() + ": " + parent + ": expected a table, found " +
                                              std::string(type_name(node->type())) +
                                              line_suffix(*node));
    }
    start = dot + 1;
  }
}

bool ConfigFile::contains(std::string_view path) const {
  auto node = find(path);
  return node && *node != nullptr;
}

std::vector<std::string> ConfigFile::keys() const {
  std::vector<std::string> result;
  for (auto&& [key, node] : as_table(m_table)) {
    (void)node;
    result.emplace_back(key.str());
  }
  return result;
}

namespace {

// Checks the type of a looked-up node; nullptr (absent) passes through.
Result<const toml::node*> checked(const std::string& source, const void* found,
                                  toml::node_type expected, const std::string& key) {
  const auto* node = static_cast<const toml::node*>(found);
  if (node == nullptr || node->type() == expected) return node;
  return fail(Errc::invalid_argument, source + ": " + key + ": expected " +
                                          std::string(type_name(expected)) + ", found " +
                                          std::string(type_name(node->type())) +
                                          line_suffix(*node));
}

} // namespace

// Declares `node` (the value at `path`, or nullptr) and `node_key` (its full dotted key).
#define CORDON_CONFIG_LOOKUP(path, type)                                                       \
  const void* found = CORDON_TRY(find(path));                                                  \
  const std::string node_key = full_key(path);                                                 \
  const toml::node* node = CORDON_TRY(checked(source(), found, type, node_key))

Result<std::optional<std::string>> ConfigFile::optional_string(std::string_view path) const {
  CORDON_CONFIG_LOOKUP(path, toml::node_type::string);
  if (node == nullptr) return std::optional<std::string>();
  return std::optional<std::string>(node->as_string()->get());
}

Result<std::optional<std::int64_t>> ConfigFile::optional_integer(std::string_view path) const {
  CORDON_CONFIG_LOOKUP(path, toml::node_type::integer);
  if (node == nullptr) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(node->as_integer()->get());
}

Result<std::optional<std::int64_t>> ConfigFile::optional_integer(std::string_view path,
                                                                 std::int64_t min,
                                                                 std::int64_t max) const {
  CORDON_CONFIG_LOOKUP(path, toml::node_type::integer);
  if (node == nullptr) return std::optional<std::int64_t>();
  std::int64_t value = node->as_integer()->get();
  if (value < min || value > max) {
    return fail(Errc::invalid_argument, source() + ": " + node_key + ": " +
                                            std::to_string(value) + " is out of range " +
                                            std::to_string(min) + ".." + std::to_string(max) +
                                            line_suffix(*node));
  }
  return std::optional<std::int64_t>(value);
}

Result<std::optional<bool>> ConfigFile::optional_boolean(std::string_view path) const {
  CORDON_CONFIG_LOOKUP(path, toml::node_type::boolean);
  if (node == nullptr) return std::optional<bool>();
  return std::optional<bool>(node->as_boolean()->get());
}

Result<std::optional<std::vector<std::string>>>
ConfigFile::optional_string_list(std::string_view path) const {
  CORDON_CONFIG_LOOKUP(path, toml::node_type::array);
  if (node == nullptr) return std::optional<std::vector<std::string>>();
  std::vector<std::string> values;
  const toml::array& array = *node->as_array();
  values.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::node& element = array[i];
    if (!element.is_string()) {
      return fail(Errc::invalid_argument, source() + ": " + node_key + "[" + std::to_string(i) +
                                              "]: expected a string, found " +
                                              std::string(type_name(element.type())) +
                                              line_suffix(element));
    }
    values.push_back(element.as_string()->get());
  }
  return std::optional<std::vector<std::string>>(std::move(values));
}

Result<std::optional<ConfigFile>> ConfigFile::optional_table(std::string_view path) const {
  CORDON_CONFIG_LOOKUP(path, toml::node_type::table);
  if (node == nullptr) return std::optional<ConfigFile>();
  return std::optional<ConfigFile>(ConfigFile(m_document, node->as_table(), node_key));
}

Result<std::optional<std::vector<ConfigFile>>>
ConfigFile::optional_table_list(std::string_view path) const {
  CORDON_CONFIG_LOOKUP(path, toml::node_type::array);
  if (node == nullptr) return std::optional<std::vector<ConfigFile>>();
  std::vector<ConfigFile> tables;
  const toml::array& array = *node->as_array();
  tables.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::node& element = array[i];
    std::string element_key = node_key + "[" + std::to_string(i) + "]";
    if (!element.is_table()) {
      return fail(Errc::invalid_argument, source() + ": " + element_key +
                                              ": expected a table, found " +
                                              std::string(type_name(element.type())) +
                                              line_suffix(element));
    }
    tables.push_back(ConfigFile(m_document, element.as_table(), std::move(element_key)));
  }
  return std::optional<std::vector<ConfigFile>>(std::move(tables));
}

#undef CORDON_CONFIG_LOOKUP

namespace {

template <class T>
Result<T> required(Result<std::optional<T>> value, const ConfigFile& config, std::string_view path) {
  if (!value) return tl::unexpected<Error>(std::move(value.error()));
  if (!*value) {
    std::string key = config.key_prefix().empty()
                          ? std::string(path)
                          : config.key_prefix() + "." + std::string(path);
    return fail(Errc::not_found, config.source() + ": missing required key " + key);
  }
  return std::move(**value);
}

} // namespace

Result<std::string> ConfigFile::string(std::string_view path) const {
  return required(optional_string(path), *this, path);
}

Result<std::int64_t> ConfigFile::integer(std::string_view path) const {
  return required(optional_integer(path), *this, path);
}

Result<std::int64_t> ConfigFile::integer(std::string_view path, std::int64_t min,
                                         std::int64_t max) const {
  return required(optional_integer(path, min, max), *this, path);
}

Result<bool> ConfigFile::boolean(std::string_view path) const {
  return required(optional_boolean(path), *this, path);
}

Result<std::vector<std::string>> ConfigFile::string_list(std::string_view path) const {
  return required(optional_string_list(path), *this, path);
}

Result<ConfigFile> ConfigFile::table(std::string_view path) const {
  return required(optional_table(path), *this, path);
}

Result<std::vector<ConfigFile>> ConfigFile::table_list(std::string_view path) const {
  return required(optional_table_list(path), *this, path);
}

namespace {

Result<Json> node_to_json(const toml::node& node, const std::string& source, const std::string& key) {
  if (auto* table = node.as_table()) {
    Json object = Json::object();
    for (auto&& [name, child] : *table) {
      const std::string child_key = key.empty() ? std::string(name.str()) : key + "." + std::string(name.str());
      object[std::string(name.str())] = CORDON_TRY(node_to_json(child, source, child_key));
    }
    return object;
  }
  if (auto* array = node.as_array()) {
    Json list = Json::array();
    for (std::size_t i = 0; i < array->size(); ++i)
      list.push_back(CORDON_TRY(node_to_json(*array->get(i), source, key + "[" + std::to_string(i) + "]")));
    return list;
  }
  if (auto* text = node.as_string()) return Json(text->get());
  if (auto* number = node.as_integer()) return Json(number->get());
  if (auto* flag = node.as_boolean()) return Json(flag->get());
  return fail(Errc::invalid_argument, source + ": " + key + line_suffix(node) + " is " +
                                          std::string(type_name(node.type())) +
                                          ", which this file may not hold (use integers and strings)");
}

} // namespace

Result<Json> ConfigFile::to_json() const { return node_to_json(as_table(m_table), source(), m_key_prefix); }

Result<void> ConfigFile::require_known_keys(std::initializer_list<std::string_view> allowed) const {
  for (auto&& [key, node] : as_table(m_table)) {
    bool known = false;
    for (std::string_view name : allowed) known = known || key.str() == name;
    if (known) continue;
    std::string list;
    for (std::string_view name : allowed) {
      if (!list.empty()) list += ", ";
      list += name;
    }
    return fail(Errc::unknown_field, source() + ": unknown key " + full_key(key.str()) +
                                         line_suffix(node) + "; known keys: " +
                                         (list.empty() ? "none" : list));
  }
  return ok();
}

std::optional<std::uint32_t> parse_octal_mode(std::string_view text) {
  if (text.empty() || text.size() > 4 || text.find_first_not_of("01234567") != std::string_view::npos)
    return std::nullopt;
  std::uint32_t mode = 0;
  for (char digit : text) mode = mode * 8 + static_cast<std::uint32_t>(digit - '0');
  if (mode > 0777) return std::nullopt;
  return mode;
}

Result<std::optional<std::uint32_t>> optional_socket_mode(const ConfigFile& table, std::string_view key) {
  const auto text = CORDON_TRY(table.optional_string(key));
  if (!text) return std::optional<std::uint32_t>();
  const auto mode = parse_octal_mode(*text);
  if (!mode) {
    return fail(Errc::invalid_argument, table.source() + ": " + table.full_key(key) +
                                            " must be an octal string such as \"0660\"");
  }
  return mode;
}

Result<std::string> tenant_of(const ConfigFile& file) {
  auto tenant = CORDON_TRY(file.string("tenant"));
  if (tenant.empty() || tenant.size() > 64 ||
      tenant.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
    return fail(Errc::invalid_argument, file.source() + ": tenant must be 1..64 of [a-z0-9-]");
  return tenant;
}

} // namespace cordon
