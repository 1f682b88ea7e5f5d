#include "common/side_threads.h"

namespace cordon {

SideThreads::SideThreads(unsigned threads) {
  m_threads.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) m_threads.emplace_back([this] { serve(); });
}

SideThreads::~SideThreads() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  for (auto& thread : m_threads) thread.join();
}

void SideThreads::serve() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(m_mutex);
      m_wake.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
      if (m_queue.empty()) return; // stopping, and nothing is left to run
      task = std::move(m_queue.front());
      m_queue.pop_front();
    }
    task(); // a packaged_task: what it throws goes to its future
  }
}

} // namespace cordon
