#include "common/sqlite/sqlite.h"

#include <utility>

#include <sqlite3.h>
#include <sys/stat.h>

#include "common/sqlite/wal_checkpointer.h"

namespace cordon {

namespace {
Error database_error(sqlite3* db, std::string_view what) {
  const int code = sqlite3_extended_errcode(db);
  const Errc errc = (code & 0xff) == SQLITE_CONSTRAINT ? Errc::conflict
                    : (code & 0xff) == SQLITE_FULL     ? Errc::unavailable
                                                       : Errc::io_error;
  return Error{errc, std::string(what) + ": " + sqlite3_errmsg(db)};
}
} // namespace

Sqlite::Statement::~Statement() {
  if (m_statement) sqlite3_finalize(m_statement);
}
Sqlite::Statement::Statement(Statement&& other) noexcept
    : m_db(other.m_db), m_statement(std::exchange(other.m_statement, nullptr)) {}
Sqlite::Statement& Sqlite::Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (m_statement) sqlite3_finalize(m_statement);
    m_db = other.m_db;
    m_statement = std::exchange(other.m_statement, nullptr);
  }
  return *this;
}

Sqlite::Statement& Sqlite::Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(m_statement, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}
Sqlite::Statement& Sqlite::Statement::bind(int index, std::span<const std::uint8_t> blob) {
  sqlite3_bind_blob(m_statement, index, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  return *this;
}
Sqlite::Statement& Sqlite::Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(m_statement, index, value);
  return *this;
}
Sqlite::Statement& Sqlite::Statement::bind_null(int index) {
  sqlite3_bind_null(m_statement, index);
  return *this;
}

Result<bool> Sqlite::Statement::step() {
  const int result = sqlite3_step(m_statement);
  if (result == SQLITE_ROW) return true;
  if (result == SQLITE_DONE) return false;
  return tl::unexpected(database_error(m_db, "database statement failed"));
}

Result<void> Sqlite::Statement::run() {
  while (CORDON_TRY(step())) {
  }
  return ok();
}

std::string Sqlite::Statement::text(int column) const {
  const auto* data = sqlite3_column_text(m_statement, column);
  const int size = sqlite3_column_bytes(m_statement, column);
  return data ? std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size)) : std::string();
}
std::span<const std::uint8_t> Sqlite::Statement::blob(int column) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(m_statement, column));
  const int size = sqlite3_column_bytes(m_statement, column);
  return data ? std::span<const std::uint8_t>(data, static_cast<std::size_t>(size)) : std::span<const std::uint8_t>();
}
std::int64_t Sqlite::Statement::integer(int column) const { return sqlite3_column_int64(m_statement, column); }
bool Sqlite::Statement::is_null(int column) const { return sqlite3_column_type(m_statement, column) == SQLITE_NULL; }

Result<std::unique_ptr<Sqlite>> Sqlite::open(const std::filesystem::path& path, SqliteOptions options) {
  const mode_t old_mask = ::umask(077);
  sqlite3* db = nullptr;
  const int result = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  ::umask(old_mask);
  if (result != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return fail(Errc::io_error, "cannot open " + path.string() + ": " + message);
  }
  std::unique_ptr<Sqlite> handle(new Sqlite(db));
  sqlite3_busy_timeout(db, 5000);
  CORDON_TRY_VOID(handle->execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; "
                                  "PRAGMA foreign_keys=ON;"));
  if (options.background_checkpoints) handle->m_checkpointer = CORDON_TRY(WalCheckpointer::start(db, path));
  return handle;
}

Sqlite::Sqlite(sqlite3* db) : m_db(db) {}

Sqlite::~Sqlite() {
  m_checkpointer.reset();
  sqlite3_close(m_db);
}

std::uint64_t Sqlite::background_checkpoints() const { return m_checkpointer ? m_checkpointer->completed() : 0; }

Result<void> Sqlite::execute(std::string_view sql) {
  char* message = nullptr;
  const std::string text(sql);
  if (sqlite3_exec(m_db, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    Error error = database_error(m_db, "database command failed");
    sqlite3_free(message);
    return tl::unexpected(std::move(error));
  }
  return ok();
}

Result<Sqlite::Statement> Sqlite::prepare(std::string_view sql) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(m_db, sql.data(), static_cast<int>(sql.size()), &statement, nullptr) != SQLITE_OK)
    return tl::unexpected(database_error(m_db, "cannot prepare a database statement"));
  return Statement(m_db, statement);
}

std::int64_t Sqlite::changes() const { return sqlite3_changes64(m_db); }

Result<Transaction> Transaction::begin(Sqlite& db) {
  CORDON_TRY_VOID(db.execute("BEGIN IMMEDIATE"));
  return Transaction(&db);
}
Transaction::~Transaction() {
  if (m_db) (void)m_db->execute("ROLLBACK");
}
Transaction::Transaction(Transaction&& other) noexcept : m_db(std::exchange(other.m_db, nullptr)) {}
Result<void> Transaction::commit() {
  auto result = m_db->execute("COMMIT");
  if (result) m_db = nullptr;
  return result;
}

} // namespace cordon
