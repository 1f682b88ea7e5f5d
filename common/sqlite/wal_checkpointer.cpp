#include "common/sqlite/wal_checkpointer.h"

#include <sqlite3.h>

#include "common/log.h"

namespace cordon {
namespace {

// A log this many times the threshold means the thread cannot keep up: commits checkpoint
// themselves until it is rewound.
constexpr int hard_limit_factor = 8;
// Checkpoints run back to back, at most, to catch up with commits that keep coming.
constexpr int max_rounds = 16;

} // namespace

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::start(sqlite3* db, const std::filesystem::path& path, int pages) {
  sqlite3* own = nullptr;
  if (sqlite3_open_v2(path.c_str(), &own, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    std::string message = own ? sqlite3_errmsg(own) : "out of memory";
    sqlite3_close(own);
    return fail(Errc::io_error, "cannot open " + path.string() + " for its checkpoints: " + message);
  }
  // The checkpoint's own sync of the database file, as the owner's would be.
  if (sqlite3_exec(own, "PRAGMA synchronous=FULL;", nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::string message = sqlite3_errmsg(own);
    sqlite3_close(own);
    return fail(Errc::io_error, "cannot set up " + path.string() + " for its checkpoints: " + message);
  }
  auto checkpointer = std::unique_ptr<WalCheckpointer>(new WalCheckpointer(db, own, pages));
  checkpointer->m_thread = std::thread([raw = checkpointer.get()] { raw->serve(); });
  sqlite3_wal_hook(db, &WalCheckpointer::on_commit, checkpointer.get());
  return checkpointer;
}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_hook(m_owner, nullptr, nullptr);
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_one();
  m_thread.join();
  sqlite3_close(m_own);
}

int WalCheckpointer::on_commit(void* self, sqlite3* db, const char*, int pages) {
  auto& checkpointer = *static_cast<WalCheckpointer*>(self);
  if (pages < checkpointer.m_pages) return SQLITE_OK;
  if (pages >= hard_limit_factor * checkpointer.m_pages) {
    // The thread has not caught up (writes without a pause): this commit checkpoints itself, as
    // SQLite's default would, so that the log stays bounded. It first waits for the thread's
    // checkpoint in progress (beside which its own would only answer SQLITE_BUSY); no writer
    // runs beside it then, so every frame is copied and the next transaction rewinds the log.
    std::lock_guard checkpointing(checkpointer.m_checkpointing);
    (void)sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  {
    std::lock_guard lock(checkpointer.m_mutex);
    checkpointer.m_due = true;
  }
  checkpointer.m_wake.notify_one();
  return SQLITE_OK;
}

void WalCheckpointer::serve() {
  for (;;) {
    {
      std::unique_lock lock(m_mutex);
      m_wake.wait(lock, [this] { return m_due || m_stopping; });
      if (m_stopping) return;
      m_due = false;
    }
    // The log is rewound by the first transaction that starts once every frame is copied, so
    // checkpoint again while commits keep adding frames, until one finds nothing new.
    int previous = -1;
    for (int round = 0; round < max_rounds; ++round) {
      int log_frames = 0;
      int copied = 0;
      int result = SQLITE_OK;
      {
        std::lock_guard checkpointing(m_checkpointing);
        result = sqlite3_wal_checkpoint_v2(m_own, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied);
      }
      if (result == SQLITE_BUSY) break; // another connection is checkpointing
      if (result != SQLITE_OK) {
        log::warn("a database checkpoint failed; the next commit past the threshold tries again",
                  {{"error", sqlite3_errmsg(m_own)}});
        break;
      }
      if (copied == log_frames) ++m_completed;
      if (log_frames == previous || log_frames < m_pages) break; // caught up, or rewound
      previous = log_frames;
    }
  }
}

} // namespace cordon
