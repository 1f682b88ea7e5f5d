#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cordon {

class WalCheckpointer;

struct SqliteOptions {
  // Checkpoints run on a thread of their own (WalCheckpointer) instead of inside the commit that
  // takes the log past 1,000 pages: for stores whose commits sit on a request's path.
  bool background_checkpoints = false;
};

// A thin RAII layer over one SQLite connection. Every failure is a Result: Errc::io_error for
// the database or disk, Errc::conflict for a constraint violation. Not thread-safe.
class Sqlite {
public:
  class Statement {
  public:
    Statement() = default;
    ~Statement();
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;

    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, std::span<const std::uint8_t> blob);
    Statement& bind(int index, std::int64_t value);
    Statement& bind_null(int index);
    // True while a row is available; false once done. Errors end the statement.
    Result<bool> step();
    Result<void> run(); // steps to completion

    std::string text(int column) const;
    std::span<const std::uint8_t> blob(int column) const;
    std::int64_t integer(int column) const;
    bool is_null(int column) const;

  private:
    friend class Sqlite;
    Statement(sqlite3* db, sqlite3_stmt* statement) : m_db(db), m_statement(statement) {}
    sqlite3* m_db = nullptr;
    sqlite3_stmt* m_statement = nullptr;
  };

  // Opens (creating) the database file with mode 0600, WAL, synchronous=FULL (every commit is
  // durable before it returns), secure_delete=ON (freed pages are zeroed) and foreign keys.
  static Result<std::unique_ptr<Sqlite>> open(const std::filesystem::path& path, SqliteOptions options = {});
  ~Sqlite();
  Sqlite(const Sqlite&) = delete;
  Sqlite& operator=(const Sqlite&) = delete;

  Result<void> execute(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  std::int64_t changes() const;

  // Checkpoints the background checkpointer finished (0 without one).
  std::uint64_t background_checkpoints() const;

private:
  explicit Sqlite(sqlite3* db);
  sqlite3* m_db;
  std::unique_ptr<WalCheckpointer> m_checkpointer; // stopped before m_db closes
};

// Commits on commit(); rolls back on destruction otherwise.
class Transaction {
public:
  static Result<Transaction> begin(Sqlite& db);
  ~Transaction();
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Result<void> commit();

private:
  explicit Transaction(Sqlite* db) : m_db(db) {}
  Sqlite* m_db;
};

} // namespace cordon
