#include "auditd/sinks/jsonl_sink.h"
#include "sink_test_helpers.h"

namespace cordon::audit::test {
namespace {

using Catch::Matchers::Contains;

void write_raw(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << bytes;
}

TEST_CASE("jsonl sink appends each leaf as one line, byte for byte") {
  TempDirectory directory;
  const auto path = directory.path() / "audit.jsonl";
  JsonlSink sink(path);
  const auto entries = make_entries(0, 3);

  REQUIRE(sink.write(0, entries));
  CHECK(read_file(path) == as_lines(entries));
  CHECK(sink.cursor() == 3u);
}

TEST_CASE("jsonl sink creates its file's missing directories") {
  TempDirectory directory;
  const auto path = directory.path() / "customer" / "copies" / "audit.jsonl";
  JsonlSink sink(path);

  CHECK(sink.cursor() == 0u);
  REQUIRE(sink.write(0, make_entries(0, 1)));
  CHECK(read_file(path) == as_lines(make_entries(0, 1)));
}

TEST_CASE("jsonl sink cursor counts the complete lines of an existing file, so a reopen resumes") {
  TempDirectory directory;
  const auto path = directory.path() / "audit.jsonl";
  {
    JsonlSink first(path);
    REQUIRE(first.write(0, make_entries(0, 4)));
  }
  JsonlSink reopened(path);
  CHECK(reopened.cursor() == 4u);
  REQUIRE(reopened.write(4, make_entries(4, 2)));
  CHECK(read_file(path) == as_lines(make_entries(0, 6)));
}

TEST_CASE("jsonl sink truncates a torn last line on open and appends after the complete lines") {
  TempDirectory directory;
  const auto path = directory.path() / "audit.jsonl";
  const auto entries = make_entries(0, 3);
  write_raw(path, entries[0].leaf + "\n" + entries[1].leaf + "\n" + entries[2].leaf.substr(0, 17));

  JsonlSink sink(path);
  CHECK(sink.cursor() == 2u);
  CHECK(read_file(path) == as_lines(make_entries(0, 2)));
  REQUIRE(sink.write(2, std::span(entries).subspan(2)));
  CHECK(read_file(path) == as_lines(entries));
}

TEST_CASE("jsonl sink skips re-sent entries instead of duplicating them") {
  TempDirectory directory;
  const auto path = directory.path() / "audit.jsonl";
  JsonlSink sink(path);
  const auto entries = make_entries(0, 8);

  REQUIRE(sink.write(0, std::span(entries).first(5)));
  REQUIRE(sink.write(2, std::span(entries).subspan(2)));
  REQUIRE(sink.write(0, entries));
  CHECK(read_file(path) == as_lines(entries));
  CHECK(sink.cursor() == 8u);
}

TEST_CASE("jsonl sink refuses a batch that would leave a gap") {
  TempDirectory directory;
  const auto path = directory.path() / "audit.jsonl";
  JsonlSink sink(path);
  REQUIRE(sink.write(0, make_entries(0, 2)));

  const auto written = sink.write(3, make_entries(3, 1));
  REQUIRE_FALSE(written);
  CHECK(written.error().code == Errc::conflict);
  CHECK(read_file(path) == as_lines(make_entries(0, 2)));
}

TEST_CASE("jsonl sink refuses a batch whose indexes are not consecutive") {
  TempDirectory directory;
  JsonlSink sink(directory.path() / "audit.jsonl");
  const std::vector<SinkEntry> entries{make_entry(0), make_entry(2)};

  const auto written = sink.write(0, entries);
  REQUIRE_FALSE(written);
  CHECK(written.error().code == Errc::invalid_argument);
}

TEST_CASE("jsonl sink refuses a leaf containing a newline and writes nothing of its batch") {
  TempDirectory directory;
  const auto path = directory.path() / "audit.jsonl";
  JsonlSink sink(path);
  auto entries = make_entries(0, 2);
  entries[1].leaf = "{\"a\":\n1}";

  const auto written = sink.write(0, entries);
  REQUIRE_FALSE(written);
  CHECK(written.error().code == Errc::invalid_argument);
  CHECK_THAT(written.error().message, Contains("leaf 1 contains a newline"));
  CHECK(sink.cursor() == 0u);
}

TEST_CASE("jsonl sink reports a path it cannot create as an io_error and recovers once it can") {
  TempDirectory directory;
  const auto blocker = directory.path() / "not-a-directory";
  write_raw(blocker, "x");
  JsonlSink sink(blocker / "audit.jsonl");

  const auto cursor = sink.cursor();
  REQUIRE_FALSE(cursor);
  CHECK(cursor.error().code == Errc::io_error);
  std::filesystem::remove(blocker);
  CHECK(sink.cursor() == 0u);
}

} // namespace
} // namespace cordon::audit::test
