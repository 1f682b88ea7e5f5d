#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <latch>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/side_threads.h"

using cordon::SideThreads;

TEST_CASE("a side task runs beside its caller and hands back its result") {
  SideThreads side(2);
  // The task waits for the caller, so the two can only finish if they run at the same time.
  std::latch both(2);
  auto answer = side.run([&] {
    both.arrive_and_wait();
    return 42;
  });
  both.arrive_and_wait();
  CHECK(answer.get() == 42);
}

TEST_CASE("tasks run on the fixed threads, every one exactly once") {
  SideThreads side(3);
  std::atomic<int> runs{0};
  std::mutex ids_mutex;
  std::set<std::thread::id> ids;
  std::vector<std::future<void>> done;
  for (int i = 0; i < 500; ++i) {
    done.push_back(side.run([&] {
      ++runs;
      std::lock_guard lock(ids_mutex);
      ids.insert(std::this_thread::get_id());
    }));
  }
  for (auto& future : done) future.get();
  CHECK(runs == 500);
  CHECK(ids.size() <= 3);
  CHECK(ids.count(std::this_thread::get_id()) == 0);
}

TEST_CASE("a task's exception reaches its caller, and the threads go on") {
  SideThreads side(1);
  auto failing = side.run([]() -> int { throw std::runtime_error("disk on fire"); });
  CHECK_THROWS_WITH(failing.get(), "disk on fire");
  CHECK(side.run([] { return 7; }).get() == 7);
}

TEST_CASE("the destructor runs what is still queued before it joins") {
  std::atomic<int> runs{0};
  std::vector<std::future<void>> pending;
  {
    std::latch release(1); // outlives `side`, whose thread may still be inside wait()
    SideThreads side(1);
    pending.push_back(side.run([&] { release.wait(); ++runs; }));
    for (int i = 0; i < 10; ++i) pending.push_back(side.run([&] { ++runs; }));
    release.count_down();
  }
  CHECK(runs == 11);
  for (auto& future : pending) CHECK(future.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
}
