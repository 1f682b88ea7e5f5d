#include "common/tools/tool_catalog.h"

#include <algorithm>

#include "common/crypto.h"
#include "common/encoding.h"

namespace cordon::tools {
namespace {

Json schema(std::string_view text) {
  auto parsed = parse_json(text);
  if (!parsed) std::abort(); // the schemas below are constants; a typo is a build defect
  return std::move(*parsed);
}

std::vector<ToolSpec> make_catalog() {
  std::vector<ToolSpec> tools;
  tools.push_back({"email.send", "Send an email to the given recipients.", schema(R"({
      "type": "object", "additionalProperties": false, "required": ["to", "subject", "body"],
      "properties": {
        "to": {"type": "array", "items": {"type": "string", "maxLength": 320}, "minItems": 1, "maxItems": 100},
        "cc": {"type": "array", "items": {"type": "string", "maxLength": 320}, "maxItems": 100},
        "subject": {"type": "string", "maxLength": 998},
        "body": {"type": "string", "maxLength": 262144}}})"),
                   true, {"to", "cc"}, FloorClass::email});
  tools.push_back({"fs.delete", "Delete a file in the workspace (two-phase: reinstatable for a while).", schema(R"({
      "type": "object", "additionalProperties": false, "required": ["path"],
      "properties": {"path": {"type": "string", "minLength": 1, "maxLength": 4096}}})"),
                   true, {"path"}, FloorClass::none});
  tools.push_back({"fs.read", "Read a file in the workspace.", schema(R"({
      "type": "object", "additionalProperties": false, "required": ["path"],
      "properties": {
        "path": {"type": "string", "minLength": 1, "maxLength": 4096},
        "max_bytes": {"type": "integer", "minimum": 1, "maximum": 1048576}}})"),
                   false, {}, FloorClass::none});
  tools.push_back({"fs.write", "Write a file in the workspace.", schema(R"({
      "type": "object", "additionalProperties": false, "required": ["path", "content"],
      "properties": {
        "path": {"type": "string", "minLength": 1, "maxLength": 4096},
        "content": {"type": "string", "maxLength": 1048576}}})"),
                   false, {"path"}, FloorClass::none});
  tools.push_back({"git.delete_branch", "Delete a branch of a repository.", schema(R"({
      "type": "object", "additionalProperties": false, "required": ["repo", "branch"],
      "properties": {"repo": {"type": "string", "maxLength": 256}, "branch": {"type": "string", "maxLength": 256}}})"),
                   true, {"repo", "branch"}, FloorClass::branch_delete});
  tools.push_back({"git.push", "Push commits to a branch of a repository.", schema(R"({
      "type": "object", "additionalProperties": false, "required": ["repo", "branch", "head"],
      "properties": {
        "repo": {"type": "string", "maxLength": 256}, "branch": {"type": "string", "maxLength": 256},
        "head": {"type": "string", "pattern": "^[0-9a-f]{40}$"}, "force": {"type": "boolean"}}})"),
                   false, {"repo", "branch"}, FloorClass::force_push});
  tools.push_back({"http.request", "Make an HTTP(S) request to an allow-listed host.", schema(R"({
      "type": "object", "additionalProperties": false, "required": ["method", "url"],
      "properties": {
        "method": {"enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]},
        "url": {"type": "string", "maxLength": 8192},
        "headers": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 8192}},
        "body": {"type": "string", "maxLength": 1048576},
        "credential": {"type": "string", "maxLength": 256}}})"),
                   false, {"url", "method", "body"}, FloorClass::http});
  tools.push_back({"secrets.rotate", "Generate or rotate a stored credential.", schema(R"({
      "type": "object", "additionalProperties": false, "required": ["name"],
      "properties": {"name": {"type": "string", "maxLength": 256}}})"),
                   true, {"name"}, FloorClass::credentials});
  tools.push_back({"sql.query", "Run a read-only SQL query against a configured database.", schema(R"({
      "type": "object", "additionalProperties": false, "required": ["database", "sql"],
      "properties": {
        "database": {"type": "string", "minLength": 1, "maxLength": 128},
        "sql": {"type": "string", "minLength": 1, "maxLength": 65536},
        "max_rows": {"type": "integer", "minimum": 1, "maximum": 10000}}})"),
                   false, {"database", "sql"}, FloorClass::sql});
  std::sort(tools.begin(), tools.end(), [](const ToolSpec& a, const ToolSpec& b) { return a.name < b.name; });
  return tools;
}

const std::vector<ToolSpec>& catalog() {
  static const std::vector<ToolSpec> tools = make_catalog();
  return tools;
}

} // namespace

std::span<const ToolSpec> builtin_tools() { return catalog(); }

const ToolSpec* find_tool(std::string_view name) {
  for (const ToolSpec& tool : catalog())
    if (tool.name == name) return &tool;
  return nullptr;
}

Json tool_definition(const ToolSpec& tool) {
  return {{"name", tool.name},
          {"description", tool.description},
          {"input_schema", tool.input_schema},
          {"irreversible", tool.irreversible},
          {"sensitive_arguments", tool.sensitive_arguments}};
}

std::string tool_pin(const ToolSpec& tool) {
  auto canonical = canonical_json(tool_definition(tool));
  if (!canonical) std::abort(); // definitions hold no floats
  return "sha256:" + to_hex(crypto::sha256(*canonical));
}

} // namespace cordon::tools
