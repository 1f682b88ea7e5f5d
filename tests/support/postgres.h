#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "common/error.h"

namespace cordon::testing {

struct TempPostgresOptions {
  // The database created for the tests, owned by `role` (so the role may create its schema).
  std::string database = "cordon";
  // An ordinary role: not a superuser, no BYPASSRLS, so row-level security applies to it.
  std::string role = "cordon_sink";
  // Extra server settings, each "name=value", passed as `-c` after the defaults below.
  std::vector<std::string> settings;
  // Where initdb and postgres live; empty: $CORDON_PG_BINDIR, else the newest
  // /usr/lib/postgresql/<version>/bin.
  std::filesystem::path bin_directory;
};

enum class StopMode {
  fast,      // SIGINT: clients are disconnected, the server shuts down cleanly
  immediate, // SIGQUIT: like a crash; the next start() runs crash recovery
};

// A real, private PostgreSQL server for tests and benchmarks: initdb into a fresh directory under
// /tmp, a server listening only on a Unix socket in that directory, with fsync=on and
// synchronous_commit=on, a database and a non-superuser role. Running as root (as the test suite
// does), initdb and postgres run as the `postgres` system user, since PostgreSQL refuses root.
//
// The server is a child of this process, tied to the thread that (re)started it by
// PR_SET_PDEATHSIG, so a crashed test leaves no server behind. The destructor stops the server
// and removes the directory.
//
//   auto pg = cordon::testing::TempPostgres::create().value();
//   pqxx::connection session(pg->dsn());   // as the ordinary role, database `cordon`
//   pg->stop();                            // an outage: connections break, connects fail
//   pg->start();                           // back, same data, same DSN
class TempPostgres {
public:
  static Result<std::unique_ptr<TempPostgres>> create(TempPostgresOptions options = {});
  ~TempPostgres();
  TempPostgres(const TempPostgres&) = delete;
  TempPostgres& operator=(const TempPostgres&) = delete;

  // libpq key=value connection strings.
  std::string dsn() const;           // options.role on options.database
  std::string superuser_dsn() const; // role `postgres` on options.database
  std::string dsn_for(std::string_view role, std::string_view database) const;

  // Holds the data directory (`data/`), the socket and the server log (`postgres.log`).
  const std::filesystem::path& directory() const { return m_directory; }
  int port() const { return m_port; }
  bool running() const { return m_pid > 0; }

  // Stops the server and waits for it to exit (SIGKILL after 30 s).
  Result<void> stop(StopMode mode = StopMode::fast);
  // Starts the stopped server again and waits until it accepts connections.
  Result<void> start();

  // The end of the server log, for failure messages.
  std::string log_tail(std::size_t max_bytes = 4000) const;

private:
  TempPostgres() = default;
  Result<void> initialise();
  Result<void> wait_until_ready();
  Result<void> create_role_and_database();

  TempPostgresOptions m_options;
  std::filesystem::path m_bin_directory;
  std::filesystem::path m_directory;
  int m_port = 0;
  pid_t m_pid = -1;
  // The user initdb and postgres run as; -1 when running as ourselves (not root).
  uid_t m_uid = static_cast<uid_t>(-1);
  gid_t m_gid = static_cast<gid_t>(-1);
};

} // namespace cordon::testing
