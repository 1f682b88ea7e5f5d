#include <catch2/catch.hpp>

#include "common/program.h"

using namespace cordon;

TEST_CASE("run_program answers a program's exit status and its output, stdout and stderr") {
  auto echoed = run_program({"sh", "-c", "echo out; echo err >&2; exit 3"});
  REQUIRE(echoed);
  CHECK(echoed->exit_status == 3);
  CHECK(echoed->output == "out\nerr\n");
  auto quiet = run_program({"true"});
  REQUIRE(quiet);
  CHECK(quiet->exit_status == 0);
  CHECK(quiet->output.empty());
}

TEST_CASE("run_program gives the program no stdin and no shell") {
  auto read = run_program({"cat"});
  REQUIRE(read);
  CHECK(read->exit_status == 0);
  CHECK(read->output.empty());
  auto literal = run_program({"echo", "$HOME; rm -rf /"});
  REQUIRE(literal);
  CHECK(literal->output == "$HOME; rm -rf /\n");
}

TEST_CASE("run_program refuses an empty command and reports one that cannot start") {
  CHECK_FALSE(run_program({}));
  auto missing = run_program({"cordon-no-such-program"});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("cordon-no-such-program") != std::string::npos);
  auto killed = run_program({"sh", "-c", "kill -9 $$"});
  REQUIRE(killed);
  CHECK(killed->exit_status == 128 + 9);
}
