#include <cstdio>
#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

using namespace cordon;

TEST_CASE("log lines put the level, the message and key=value fields on one line") {
  CHECK(log::format_line(log::Level::info, "listening", {{"path", "/run/cordon/auditd.sock"}, {"mode", "0660"}}) ==
        "info listening path=/run/cordon/auditd.sock mode=0660");
  CHECK(log::format_line(log::Level::error, "failed", {}) == "error failed");
}

TEST_CASE("journald's MESSAGE is the line without its level, so journalctl shows the reason") {
  CHECK(log::format_message("cannot start", {{"error", "cannot open the workspace's trash"}}) ==
        "cannot start error=\"cannot open the workspace's trash\"");
  CHECK(log::format_message("serving", {}) == "serving");
}

TEST_CASE("log lines escape control characters and quote awkward values") {
  CHECK(log::format_line(log::Level::warn, "two\nlines", {{"reason", "has space"}, {"empty", ""}}) ==
        "warn two\\nlines reason=\"has space\" empty=\"\"");
  CHECK(log::format_line(log::Level::info, "m", {{"value", "a=b\"c\x01"}}) ==
        "info m value=\"a=b\\\"c\\x01\"");
}

TEST_CASE("journald field names are CORDON_ and the upper-cased key") {
  CHECK(log::journal_field_name("path") == "CORDON_PATH");
  CHECK(log::journal_field_name("peer_uid") == "CORDON_PEER_UID");
  CHECK(log::journal_field_name("a-b.c") == "CORDON_A_B_C");
}

TEST_CASE("stderr is the journal only when JOURNAL_STREAM names its device and inode") {
  char path[] = "/tmp/cordon-log-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  struct stat status {};
  REQUIRE(::fstat(fd, &status) == 0);
  std::string matching = std::to_string(status.st_dev) + ":" + std::to_string(status.st_ino);
  std::string other = std::to_string(status.st_dev) + ":" + std::to_string(status.st_ino + 1);
  CHECK(log::is_journal_stream(matching.c_str(), fd));
  CHECK_FALSE(log::is_journal_stream(other.c_str(), fd));
  CHECK_FALSE(log::is_journal_stream("garbage", fd));
  CHECK_FALSE(log::is_journal_stream((matching + "x").c_str(), fd));
  CHECK_FALSE(log::is_journal_stream(nullptr, fd));
  ::close(fd);
  ::unlink(path);
}

TEST_CASE("log records below the level are dropped and the rest reach stderr") {
  if (std::getenv("JOURNAL_STREAM") != nullptr) {
    WARN("stderr may be the journal here; the stderr form is checked by the format tests");
    return;
  }
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  int saved = ::dup(STDERR_FILENO);
  ::dup2(pipe_fds[1], STDERR_FILENO);

  log::set_level(log::Level::warn);
  log::info("hidden");
  log::warn("shown", {{"key", "value"}});
  log::set_level(log::Level::info);

  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(pipe_fds[1]);
  std::string output;
  char buffer[256];
  ssize_t count = 0;
  while ((count = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) {
    output.append(buffer, static_cast<std::size_t>(count));
  }
  ::close(pipe_fds[0]);
  CHECK(output == "warn shown key=value\n");
  CHECK(log::enabled(log::Level::info));
  CHECK_FALSE(log::enabled(log::Level::debug));
}
