#include "auditd/checkpointer.h"

#include "common/files.h"
#include "common/log.h"

namespace cordon::auditd {

Checkpointer::Checkpointer(const ledger::Ledger& ledger, const ledger::CheckpointSigner& signer,
                           std::string origin, std::chrono::milliseconds interval,
                           std::filesystem::path state_dir)
    : m_ledger(ledger), m_signer(signer), m_origin(std::move(origin)), m_interval(interval),
      m_state_dir(std::move(state_dir)) {}

Checkpointer::~Checkpointer() { stop(); }

void Checkpointer::start() {
  std::lock_guard lock(m_stop_mutex);
  if (m_thread.joinable()) return;
  m_stopping = false;
  m_thread = std::thread([this] { run(); });
}

void Checkpointer::stop() {
  {
    std::lock_guard lock(m_stop_mutex);
    m_stopping = true;
  }
  m_stop_changed.notify_all();
  if (m_thread.joinable()) m_thread.join();
}

Result<std::string> Checkpointer::latest() {
  const auto head = m_ledger.head();
  std::lock_guard lock(m_mutex);
  if (m_have_note && m_size >= head.size) return m_note;
  return issue_locked(head);
}

std::uint64_t Checkpointer::last_size() const {
  std::lock_guard lock(m_mutex);
  return m_size;
}

Result<std::string> Checkpointer::issue_locked(const ledger::TreeHead& head) {
  if (!m_signer.ready()) return fail(Errc::unavailable, "the checkpoint key is not available yet: " + m_pending_reason);
  const ledger::Checkpoint checkpoint{m_origin, head.size, head.root};
  auto note = CORDON_TRY(ledger::sign_checkpoint(checkpoint, m_signer));
  m_note = note;
  m_size = head.size;
  m_have_note = true;
  if (auto written = write_file_atomically(m_state_dir / "checkpoint", note); !written)
    log::warn("cannot persist the latest checkpoint", {{"error", written.error().message}});
  return note;
}

void Checkpointer::run() {
  std::unique_lock stop_lock(m_stop_mutex);
  wait_for_signer(stop_lock);
  while (!m_stopping) {
    m_stop_changed.wait_for(stop_lock, m_interval, [this] { return m_stopping; });
    if (m_stopping) break;
    const auto head = m_ledger.head();
    std::lock_guard lock(m_mutex);
    if (m_have_note && m_size >= head.size) continue;
    if (auto issued = issue_locked(head); !issued)
      log::error("cannot sign a checkpoint", {{"error", issued.error().message}});
  }
}

void Checkpointer::wait_for_signer(std::unique_lock<std::mutex>& stop_lock) {
  bool warned = false;
  std::string last_reason;
  while (!m_stopping && !m_signer.ready()) {
    stop_lock.unlock();
    auto prepared = m_signer.prepare();
    stop_lock.lock();
    if (prepared) break;
    {
      std::lock_guard lock(m_mutex);
      m_pending_reason = prepared.error().message;
    }
    // Each new reason is logged once: a retry every 200 ms must not flood the journal.
    if (prepared.error().message != last_reason)
      log::warn("waiting for the checkpoint key", {{"error", prepared.error().message}});
    last_reason = prepared.error().message;
    warned = true;
    m_stop_changed.wait_for(stop_lock, std::chrono::milliseconds(200), [this] { return m_stopping; });
  }
  if (m_stopping || !m_signer.ready()) return;
  if (warned) log::info("the checkpoint key is available", {{"verifier_key", m_signer.verifier_key().to_string()}});
  if (m_on_signer_ready) m_on_signer_ready();
}

} // namespace cordon::auditd
