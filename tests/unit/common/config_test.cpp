#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/config.h"

using namespace cordon;

namespace {

ConfigFile parse(const std::string& text) {
  auto config = ConfigFile::parse(text, "/etc/cordon/test.toml");
  if (!config) FAIL(config.error().message);
  return *config;
}

bool mentions(const Error& error, const std::string& text) {
  return error.message.find(text) != std::string::npos;
}

} // namespace

TEST_CASE("config reads typed values by dotted path") {
  auto config = parse(R"(
tenant = "acme"

[auditd]
socket = "/run/cordon/auditd.sock"
checkpoint_interval_ms = 10000
fsync = true
peers = ["a", "b"]

[auditd.auditor]
listen = "127.0.0.1:0"
)");
  CHECK(*config.string("tenant") == "acme");
  CHECK(*config.string("auditd.socket") == "/run/cordon/auditd.sock");
  CHECK(*config.integer("auditd.checkpoint_interval_ms") == 10000);
  CHECK(*config.boolean("auditd.fsync"));
  CHECK(*config.string_list("auditd.peers") == std::vector<std::string>{"a", "b"});
  auto auditor = config.table("auditd.auditor");
  REQUIRE(auditor);
  CHECK(auditor->key_prefix() == "auditd.auditor");
  CHECK(*auditor->string("listen") == "127.0.0.1:0");
  CHECK(config.contains("auditd.auditor.listen"));
  CHECK_FALSE(config.contains("auditd.auditor.nothing"));
  CHECK(config.keys() == std::vector<std::string>{"auditd", "tenant"});
}

TEST_CASE("config errors name the file and the full key") {
  auto config = parse("[auditd]\nsocket = 5\nroles = [\"a\", 2]\n");
  auto auditd = *config.table("auditd");

  auto wrong_type = auditd.string("socket");
  REQUIRE_FALSE(wrong_type);
  CHECK(wrong_type.error().code == Errc::invalid_argument);
  CHECK(mentions(wrong_type.error(), "/etc/cordon/test.toml"));
  CHECK(mentions(wrong_type.error(), "auditd.socket"));
  CHECK(mentions(wrong_type.error(), "expected a string, found an integer"));
  CHECK(mentions(wrong_type.error(), "line 2"));

  auto missing = auditd.string("state_dir");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::not_found);
  CHECK(mentions(missing.error(), "missing required key auditd.state_dir"));

  auto bad_element = auditd.string_list("roles");
  REQUIRE_FALSE(bad_element);
  CHECK(mentions(bad_element.error(), "auditd.roles[1]"));

  auto not_a_table = config.string("auditd.socket.deeper");
  REQUIRE_FALSE(not_a_table);
  CHECK(mentions(not_a_table.error(), "auditd.socket: expected a table"));
}

TEST_CASE("config optional values are absent, present or wrongly typed") {
  auto config = parse("present = 7\nwrong = \"seven\"\n");
  CHECK(config.optional_integer("absent")->has_value() == false);
  CHECK(**config.optional_integer("present") == 7);
  auto wrong = config.optional_integer("wrong");
  REQUIRE_FALSE(wrong);
  CHECK(mentions(wrong.error(), "wrong: expected an integer, found a string"));
  CHECK(config.optional_string_list("absent")->has_value() == false);
  CHECK(config.optional_table("absent")->has_value() == false);
  CHECK(config.optional_table_list("absent")->has_value() == false);
}

TEST_CASE("config integers can be bounded") {
  auto config = parse("[net]\nport = 70000\n");
  auto port = config.integer("net.port", 0, 65535);
  REQUIRE_FALSE(port);
  CHECK(mentions(port.error(), "net.port: 70000 is out of range 0..65535"));
  CHECK(*config.integer("net.port", 0, 100000) == 70000);
}

TEST_CASE("config rejects unknown keys and names them") {
  auto config = parse("[auditd]\nsocket = \"/s\"\nsockt = \"/typo\"\n");
  auto auditd = *config.table("auditd");
  auto checked = auditd.require_known_keys({"socket", "state_dir"});
  REQUIRE_FALSE(checked);
  CHECK(checked.error().code == Errc::unknown_field);
  CHECK(mentions(checked.error(), "unknown key auditd.sockt"));
  CHECK(mentions(checked.error(), "line 3"));
  CHECK(require_known_keys(auditd, {"socket", "sockt"}));
}

TEST_CASE("config reads arrays of tables with indexed keys") {
  auto config = parse(R"(
[[sinks]]
type = "jsonl"
[[sinks]]
type = 3
)");
  auto sinks = config.table_list("sinks");
  REQUIRE(sinks);
  REQUIRE(sinks->size() == 2);
  CHECK(*(*sinks)[0].string("type") == "jsonl");
  auto wrong = (*sinks)[1].string("type");
  REQUIRE_FALSE(wrong);
  CHECK(mentions(wrong.error(), "sinks[1].type"));
}

TEST_CASE("config reports TOML syntax errors with a position") {
  auto config = ConfigFile::parse("[auditd]\nsocket = \n", "broken.toml");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == Errc::invalid_argument);
  CHECK(mentions(config.error(), "broken.toml:2:"));
}

TEST_CASE("config loads files and reports a missing one") {
  char pattern[] = "/tmp/cordon-config-XXXXXX";
  int fd = ::mkstemp(pattern);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::filesystem::path path = pattern;
  { std::ofstream(path) << "tenant = \"acme\"\n"; }
  auto loaded = ConfigFile::load(path.string());
  std::filesystem::remove(path);
  REQUIRE(loaded);
  CHECK(loaded->source() == path.string());
  CHECK(*loaded->string("tenant") == "acme");

  auto missing = ConfigFile::load("/nonexistent/cordon.toml");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::not_found);
  CHECK(mentions(missing.error(), "/nonexistent/cordon.toml"));
}

TEST_CASE("a config table converts to JSON with its tables, arrays, strings, integers and booleans") {
  auto file = ConfigFile::parse("name = \"x\"\ncount = 3\non = true\nlist = [1, \"two\"]\n[[rule]]\nid = \"a\"\n"
                                "conditions.glob = { \"arguments.path\" = \"src/**\" }\n",
                                "c.toml")
                  .value();
  const Json expected = {{"name", "x"}, {"count", 3}, {"on", true}, {"list", {1, "two"}},
                         {"rule", {{{"id", "a"}, {"conditions", {{"glob", {{"arguments.path", "src/**"}}}}}}}}};
  CHECK(file.to_json().value() == expected);
  CHECK(file.table_list("rule").value()[0].to_json().value() == expected["rule"][0]);
}

TEST_CASE("a config with floats or dates does not convert to JSON, naming the key and line") {
  for (const char* text : {"[a]\nratio = 0.5\n", "[a]\nwhen = 2026-12-01\n", "[a]\nlist = [1, 1.5]\n"}) {
    INFO(text);
    const auto error = ConfigFile::parse(text, "c.toml").value().to_json().error();
    CHECK(error.code == Errc::invalid_argument);
    CHECK_THAT(error.message, Catch::Contains("c.toml: a.") && Catch::Contains("line 2"));
  }
}
