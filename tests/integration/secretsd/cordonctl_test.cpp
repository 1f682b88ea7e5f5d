// cordonctl secrets against a running secretsd: values from stdin or a file, never argv.
#include <fstream>

#include "tests/integration/secretsd/helpers.h"

using namespace cordon;
using namespace cordon::testing;

namespace {
CommandResult cordonctl(RunningSecretsd& stack, const std::string& arguments, const std::string& stdin_text = "") {
  const auto input = stack.directory / "stdin";
  std::ofstream(input, std::ios::binary) << stdin_text;
  return run_command(binary_path("cordonctl") + " secrets --socket " + stack.secretsd.socket_path() + " " + arguments +
                     " < " + input.string());
}
} // namespace

TEST_CASE("cordonctl secrets put, rotate, list and delete manage a secret without printing its value") {
  RunningSecretsd stack;
  auto put = cordonctl(stack, "put github-token --tools http.request,fs.read", "ghp_from_stdin\n");
  INFO(put.output);
  REQUIRE(put.status == 0);
  CHECK(put.output.find("test/github-token\tversion 1\ttools http.request,fs.read") != std::string::npos);

  // The trailing newline of `echo` is not part of the value.
  const auto action = http_action();
  auto granted = json_of(lease(stack.client, signed_packet(stack.client, action), action, "github-token"), 201);
  CHECK(granted["value_base64"] == to_base64(as_bytes(std::string("ghp_from_stdin"))));

  const auto file = stack.directory / "value";
  std::ofstream(file, std::ios::binary) << "second-value";
  auto rotated = cordonctl(stack, "rotate github-token --from-file " + file.string());
  REQUIRE(rotated.status == 0);
  CHECK(rotated.output.find("version 2") != std::string::npos);

  auto listed = cordonctl(stack, "list");
  REQUIRE(listed.status == 0);
  CHECK(listed.output.find("test/github-token\tversion 2") != std::string::npos);
  CHECK(listed.output.find("second-value") == std::string::npos);

  REQUIRE(cordonctl(stack, "delete github-token").status == 0);
  CHECK(cordonctl(stack, "list").output.empty());
  CHECK(wait_for_event(stack, "secret.deleted", "test/github-token"));
}

TEST_CASE("cordonctl takes no value on the command line and reports secretsd's refusals") {
  RunningSecretsd stack;
  auto no_tools = cordonctl(stack, "put token", "v");
  CHECK(no_tools.status == 2);
  auto value_in_argv = cordonctl(stack, "put token --tools http.request --value hunter2", "v");
  CHECK(value_in_argv.status == 2);
  CHECK(cordonctl(stack, "list").output.empty());
  REQUIRE(cordonctl(stack, "put token --tools http.request", "v").status == 0);
  auto again = cordonctl(stack, "put token --tools http.request", "v");
  CHECK(again.status == 1);
  CHECK(again.output.find("exists") != std::string::npos);
  auto missing = cordonctl(stack, "delete nothing-here");
  CHECK(missing.status == 1);
  CHECK(missing.output.find("no secret named") != std::string::npos);
}
