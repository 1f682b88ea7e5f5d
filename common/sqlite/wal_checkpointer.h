#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "common/error.h"

struct sqlite3;

namespace cordon {

// Copies a WAL database's log back into the database file on a thread of its own, so that no
// commit pays for it. SQLite's default runs that checkpoint inside the commit that takes the log
// past 1,000 pages: a write of every page and an fsync of the database file, about 1.5 ms on
// this kind of disk, landing on one commit in every hundred or two.
//
// Guarantees: durability is untouched (each commit is still synced to the log before it
// returns; a checkpoint only moves what is durable already). Checkpoints are PASSIVE: they never
// wait for, or block, the owner's readers and writers; what they cannot copy now is copied by a
// later one. SQLite rewinds the log only at a transaction that starts once every frame is
// copied, so the thread checkpoints again while commits keep coming; if the log still reaches
// eight times the threshold (writes without a pause), the commit that finds it so waits for the
// thread's checkpoint in progress and then checkpoints itself, as SQLite's default would: no
// writer runs beside it, so every frame is copied and the next transaction rewinds the log,
// which therefore stays bounded. A failed checkpoint (a full disk) is retried at the
// next commit past the threshold. The destructor stops and joins the thread; the owner's
// connection must outlive it.
class WalCheckpointer {
public:
  // Takes over `db`'s WAL hook (which turns its automatic checkpoints off) and opens a second
  // connection on `path` for the checkpoints. `pages`: the log size that triggers one.
  static Result<std::unique_ptr<WalCheckpointer>> start(sqlite3* db, const std::filesystem::path& path, int pages = 1000);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Checkpoints that copied every frame of the log (for tests and status).
  std::uint64_t completed() const { return m_completed.load(); }

private:
  WalCheckpointer(sqlite3* owner, sqlite3* own, int pages) : m_owner(owner), m_own(own), m_pages(pages) {}
  // SQLite's WAL hook: runs in the committing thread after each commit, with the log's size.
  static int on_commit(void* self, sqlite3* db, const char* schema, int pages);
  void serve();

  sqlite3* m_owner;
  sqlite3* m_own; // the checkpoints' connection, used by the thread alone
  int m_pages;
  std::mutex m_checkpointing; // held across every checkpoint call, the thread's and a commit's
  std::mutex m_mutex;         // guards m_due and m_stopping
  std::condition_variable m_wake;
  bool m_due = false;
  bool m_stopping = false;
  std::atomic<std::uint64_t> m_completed{0};
  std::thread m_thread;
};

} // namespace cordon
