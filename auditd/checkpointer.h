#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "auditd/ledger/checkpoint.h"
#include "auditd/ledger/checkpoint_signer.h"
#include "auditd/ledger/ledger.h"
#include "common/error.h"

namespace cordon::auditd {

// Issues the ledger's signed checkpoints (C2SP tlog-checkpoint + signed-note).
//
// Guarantees: while events arrive, a new checkpoint is signed at least every `interval`; a
// request for the latest checkpoint when the tree has grown since the last one signs a new one
// on demand, so GET /v1/checkpoint always covers every acknowledged event. Each checkpoint issued
// is also written atomically to `<state_dir>/checkpoint` (for cordonctl and offboarding).
// Thread-safe.
class Checkpointer {
public:
  Checkpointer(const ledger::Ledger& ledger, const ledger::CheckpointSigner& signer,
               std::string origin, std::chrono::milliseconds interval,
               std::filesystem::path state_dir);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Runs once, on the checkpointer's thread, when a signer that was not ready becomes ready (and
  // at start for one that is). Set before start().
  void on_signer_ready(std::function<void()> callback) { m_on_signer_ready = std::move(callback); }

  // Starts the periodic thread. Its first job is to get the signer ready (retrying every 200 ms);
  // until then, latest() fails with Errc::unavailable.
  void start();
  void stop();

  // A signed checkpoint of the current tree (signing one if the tree grew).
  Result<std::string> latest();
  // The size of the last checkpoint issued (0 before the first).
  std::uint64_t last_size() const;

private:
  Result<std::string> issue_locked(const ledger::TreeHead& head);
  void run();
  void wait_for_signer(std::unique_lock<std::mutex>& stop_lock);

  const ledger::Ledger& m_ledger;
  const ledger::CheckpointSigner& m_signer;
  std::string m_origin;
  std::chrono::milliseconds m_interval;
  std::filesystem::path m_state_dir;

  mutable std::mutex m_mutex;
  std::string m_note;
  std::uint64_t m_size = 0;
  bool m_have_note = false;
  std::string m_pending_reason = "not tried yet";
  std::function<void()> m_on_signer_ready;

  std::mutex m_stop_mutex;
  std::condition_variable m_stop_changed;
  bool m_stopping = false;
  std::thread m_thread;
};

} // namespace cordon::auditd
