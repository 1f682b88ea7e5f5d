#include <catch2/catch.hpp>

#include "agentd/run_store.h"
#include "tests/support/temp_dir.h"

using namespace cordon;
using namespace cordon::agentd;

TEST_CASE("runs, their spans and flags survive reopening") {
  testing::TempDir dir{"cordon-runs"};
  std::string id;
  {
    auto store = std::move(*RunStore::open(dir.path() / "runs.db"));
    auto run = store->register_run("support-bot", "Answer ticket 42", "alice", "2026-12-02T10:00:00.000000Z");
    REQUIRE(run);
    id = run->id;
    CHECK(id.size() == 34);
    REQUIRE(store->add_span(id, "fs.read", "first"));
    REQUIRE(store->add_span(id, "http.request", "second"));
    REQUIRE(store->flag(id, "prompt_injection_suspected"));
    REQUIRE(store->flag(id, "prompt_injection_suspected")); // idempotent
  }
  auto store = std::move(*RunStore::open(dir.path() / "runs.db"));
  auto run = store->find(id);
  REQUIRE(run);
  CHECK(run->agent == "support-bot");
  CHECK(run->task == "Answer ticket 42");
  CHECK(run->registered_by == "alice");
  CHECK(run->untrusted_spans == 2);
  CHECK(run->flags == std::vector<std::string>{"prompt_injection_suspected"});
  CHECK(*store->spans(id) == std::vector<std::string>{"first", "second"});
  CHECK(store->find("r-unknown").error().code == Errc::not_found);
  CHECK(store->add_span("r-unknown", "fs.read", "x").error().code == Errc::not_found);
}

TEST_CASE("a run refuses a bad agent id or task") {
  testing::TempDir dir{"cordon-runs"};
  auto store = std::move(*RunStore::open(dir.path() / "runs.db"));
  CHECK(store->register_run("Support Bot", "t", "a", "now").error().code == Errc::invalid_argument);
  CHECK(store->register_run("", "t", "a", "now").error().code == Errc::invalid_argument);
  CHECK(store->register_run("bot", "", "a", "now").error().code == Errc::invalid_argument);
  CHECK(store->register_run("bot", std::string(RunStore::max_task_bytes + 1, 'x'), "a", "now").error().code ==
        Errc::invalid_argument);
}

TEST_CASE("past the span bound, spans are not kept and the run is flagged") {
  testing::TempDir dir{"cordon-runs"};
  auto store = std::move(*RunStore::open(dir.path() / "runs.db"));
  const auto run = *store->register_run("bot", "task", "a", "now");
  const std::string big(RunStore::max_span_bytes / 2 + 1, 'x');
  REQUIRE(store->add_span(run.id, "fs.read", big));
  REQUIRE(store->add_span(run.id, "fs.read", big)); // over the bound
  CHECK(store->spans(run.id)->size() == 1);
  CHECK(store->find(run.id)->flags == std::vector<std::string>{"untrusted_overflow"});
}
