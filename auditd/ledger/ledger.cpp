#include "auditd/ledger/ledger.h"

#include <algorithm>
#include <future>
#include <utility>

namespace cordon::ledger {
namespace {

constexpr std::size_t min_salt_bytes = 16;
constexpr unsigned tile_height = 8;
constexpr unsigned tile_width = 1u << tile_height;
// After a very large group, the batch buffer is released rather than kept at its peak size.
constexpr std::size_t kept_batch_capacity = std::size_t{16} << 20;

// The escaped contents (no quotes) of `value` as a canonical JSON string, which is how
// LeafFields hold strings: equal values have equal escaped forms.
std::string escaped(std::string_view value) {
  std::string quoted;
  append_canonical_string(quoted, value);
  return quoted.substr(1, quoted.size() - 2);
}

Result<void> check_tile_request(unsigned level, std::uint64_t index, unsigned width) {
  if (width == 0 || width > tile_width) {
    return fail(Errc::invalid_argument, "tile width must be 1..256");
  }
  if (level * tile_height >= 64 || index > (UINT64_MAX - width) / tile_width) {
    return fail(Errc::invalid_argument, "tile level or index out of range");
  }
  return ok();
}

} // namespace

Ledger::Ledger(LedgerOptions options, const Clock& clock, std::unique_ptr<SegmentStore> store)
    : m_options(std::move(options)), m_clock(clock), m_store(std::move(store)) {}

Result<std::unique_ptr<Ledger>> Ledger::open(const std::filesystem::path& directory,
                                             LedgerOptions options, const Clock& clock) {
  if (options.tenant.empty() || options.tenant.size() > max_tenant_bytes) {
    return fail(Errc::invalid_argument, "the ledger's tenant must be 1..128 bytes");
  }
  if (options.salt.size() < min_salt_bytes) {
    return fail(Errc::invalid_argument, "the tenant salt must be at least 16 bytes");
  }
  if (options.sync_depth == 0 || options.sync_depth > SegmentStore::max_sync_slots) {
    return fail(Errc::invalid_argument,
                "the sync depth must be 1.." + std::to_string(SegmentStore::max_sync_slots));
  }
  MerkleTree tree;
  SegmentStoreOptions store_options{
      .segment_bytes = options.segment_bytes, .disk = options.disk, .sync_slots = options.sync_depth};
  auto store = CORDON_TRY(SegmentStore::open(
      directory, store_options,
      [&tree](std::uint64_t, std::string_view, const Hash& hash) { tree.append(hash); }));

  auto ledger = std::unique_ptr<Ledger>(new Ledger(std::move(options), clock, std::move(store)));
  ledger->m_tree = std::move(tree);
  ledger->m_size = ledger->m_tree.size();
  ledger->m_last_hash = ledger->m_store->opened_last_leaf_hash();
  ledger->m_write_index = ledger->m_size;
  ledger->m_write_prev = ledger->m_last_hash;
  if (ledger->m_size > 0) {
    // New events are never stamped earlier than the last one on disk.
    const std::string last = CORDON_TRY(ledger->m_store->read_leaf(ledger->m_size - 1));
    const auto fields = extract_leaf_fields(last);
    const auto time = fields ? parse_rfc3339(fields->time) : tl::unexpected<Error>(fields.error());
    if (!time) {
      return fail(Errc::integrity, "ledger entry " + std::to_string(ledger->m_size - 1) +
                                       " has no valid time: " + time.error().message);
    }
    ledger->m_last_time = std::chrono::floor<std::chrono::microseconds>(*time);
  }
  const unsigned depth = ledger->m_options.sync_depth;
  ledger->m_slot_jobs.assign(depth, nullptr);
  for (unsigned slot = 0; slot < depth; ++slot) {
    ledger->m_syncers.emplace_back([raw = ledger.get(), slot] { raw->sync_loop(slot); });
  }
  ledger->m_commit_thread = std::thread([raw = ledger.get()] { raw->commit_loop(); });
  return ledger;
}

Ledger::~Ledger() {
  {
    std::lock_guard lock(m_queue_mutex);
    m_stopping = true;
  }
  m_queue_changed.notify_one();
  if (m_commit_thread.joinable()) m_commit_thread.join(); // commits whatever is queued
  {
    std::lock_guard lock(m_queue_mutex);
    m_syncers_stopping = true;
  }
  m_sync_wanted.notify_all();
  for (std::thread& syncer : m_syncers) syncer.join();
}

EventContext Ledger::context(std::string_view source) const {
  return EventContext{m_options.tenant, source, m_options.salt};
}

void Ledger::append(std::vector<PreparedEvent> events, AppendCallback done) {
  if (!done) done = [](Result<std::vector<Ack>>) {};
  {
    std::unique_lock lock(m_queue_mutex);
    if (m_stopping) {
      lock.unlock();
      done(fail(Errc::unavailable, "the ledger is closing"));
      return;
    }
    if (m_queued_events + events.size() > m_options.max_queued_events) {
      lock.unlock();
      done(fail(Errc::unavailable, "the ledger's commit queue is full; retry later"));
      return;
    }
    m_queued_events += events.size();
    for (const PreparedEvent& event : events) m_queued_bytes += event.max_leaf_size() + 1;
    m_queue.push_back(Pending{std::move(events), std::move(done)});
    // The commit thread waits for a request only when the queue is empty; otherwise it is busy
    // or waiting for a sync, and takes this request with the others.
    if (m_queue.size() > 1) return;
  }
  m_queue_changed.notify_one();
}

Result<std::vector<Ack>> Ledger::append_and_wait(std::vector<PreparedEvent> events) {
  std::promise<Result<std::vector<Ack>>> outcome;
  auto future = outcome.get_future();
  append(std::move(events), [&outcome](Result<std::vector<Ack>> result) {
    outcome.set_value(std::move(result));
  });
  return future.get();
}

void Ledger::commit_loop() {
  std::unique_lock lock(m_queue_mutex);
  for (;;) {
    // A group whose events would start a new segment waits until nothing is in flight.
    const auto can_write = [this] {
      return !m_queue.empty() && !m_failed_in_flight && m_in_flight.size() < m_options.sync_depth &&
             (m_in_flight.empty() || !m_store->needs_rotation(m_queued_bytes));
    };
    m_queue_changed.wait(lock, [&] {
      return front_synced() || can_write() ||
             (m_stopping && m_queue.empty() && m_in_flight.empty());
    });
    if (front_synced()) {
      settle_front(lock);
    } else if (can_write()) {
      write_next(lock);
    } else {
      return; // stopping, and everything queued is committed
    }
  }
}

void Ledger::sync_loop(unsigned slot) {
  std::unique_lock lock(m_queue_mutex);
  for (;;) {
    m_sync_wanted.wait(lock, [&] { return m_slot_jobs[slot] != nullptr || m_syncers_stopping; });
    Batch* batch = m_slot_jobs[slot];
    if (batch == nullptr) return;
    lock.unlock();
    Result<void> synced = m_store->sync(slot);
    lock.lock();
    if (!synced) m_failed_in_flight = true;
    batch->synced = std::move(synced);
    m_slot_jobs[slot] = nullptr;
    m_queue_changed.notify_one();
  }
}

std::string Ledger::next_time() {
  const auto now = std::chrono::floor<std::chrono::microseconds>(m_clock.now());
  if (now > m_last_time) m_last_time = now;
  return format_rfc3339_micros(m_last_time);
}

void Ledger::write_next(std::unique_lock<std::mutex>& lock) {
  Batch batch;
  std::swap(batch.group, m_queue);
  m_queued_events = 0;
  const std::uint64_t bound = std::exchange(m_queued_bytes, 0);
  lock.unlock();

  const std::string time = next_time();
  m_batch.clear();
  m_batch.bytes.reserve(bound);
  batch.first = m_write_index;
  std::uint64_t index = m_write_index;
  Hash prev = m_write_prev;
  for (const Pending& pending : batch.group) {
    for (const PreparedEvent& event : pending.events) {
      const std::size_t start = m_batch.bytes.size();
      event.compose(m_batch.bytes, index, prev, time);
      const std::size_t length = m_batch.bytes.size() - start;
      prev = ledger::leaf_hash(std::string_view(m_batch.bytes).substr(start, length));
      m_batch.bytes.push_back('\n');
      m_batch.lengths.push_back(static_cast<std::uint32_t>(length));
      batch.hashes.push_back(prev);
      ++index;
    }
  }

  Result<SegmentStore::Written> written =
      m_batch.empty() ? Result<SegmentStore::Written>{} : m_store->write(m_batch);
  if (m_batch.bytes.capacity() > kept_batch_capacity) m_batch.bytes = std::string();
  lock.lock();
  if (!written) {
    // Settled with the groups before it, which may still be syncing.
    batch.synced = tl::unexpected<Error>(written.error());
    m_failed_in_flight = true;
    m_in_flight.push_back(std::move(batch));
    return;
  }
  batch.written = std::move(*written);
  m_write_index = index;
  m_write_prev = prev;
  m_in_flight.push_back(std::move(batch));
  Batch& queued = m_in_flight.back();
  if (queued.hashes.empty()) {
    queued.synced = Result<void>{}; // nothing to make durable
    return;
  }
  const auto slot = std::find(m_slot_jobs.begin(), m_slot_jobs.end(), nullptr);
  *slot = &queued; // fewer batches in flight than slots, so one is free
  m_sync_wanted.notify_all();
}

void Ledger::settle_front(std::unique_lock<std::mutex>& lock) {
  if (*m_in_flight.front().synced) {
    std::vector<Batch> ready;
    while (front_synced() && *m_in_flight.front().synced) {
      ready.push_back(std::move(m_in_flight.front()));
      m_in_flight.pop_front();
    }
    lock.unlock();
    for (Batch& batch : ready) publish(batch);
    lock.lock();
    return;
  }
  // Every group in flight chains onto the failed one: wait for their syncs, then fail them all.
  m_queue_changed.wait(lock, [this] {
    return std::all_of(m_in_flight.begin(), m_in_flight.end(),
                       [](const Batch& batch) { return batch.synced.has_value(); });
  });
  std::deque<Batch> failed;
  std::swap(failed, m_in_flight);
  m_failed_in_flight = false;
  lock.unlock();
  Error error = failed.front().synced->error();
  if (auto cut = m_store->discard_unpublished(); !cut) error.message += "; " + cut.error().message;
  m_write_index = m_size; // only this thread changes m_size
  m_write_prev = m_last_hash;
  for (Batch& batch : failed) {
    for (Pending& pending : batch.group) pending.done(tl::unexpected<Error>(error));
  }
  lock.lock();
}

void Ledger::publish(Batch& batch) {
  if (!batch.hashes.empty()) {
    m_store->publish(batch.written);
    const std::uint64_t end = batch.first + batch.hashes.size();
    {
      std::unique_lock lock(m_tree_mutex);
      for (const Hash& hash : batch.hashes) m_tree.append(hash);
      m_size = end;
    }
    m_last_hash = batch.hashes.back();
    if (m_options.on_commit) m_options.on_commit(end);
  }
  std::uint64_t next = batch.first;
  for (Pending& pending : batch.group) {
    std::vector<Ack> acks;
    acks.reserve(pending.events.size());
    for (std::size_t i = 0; i < pending.events.size(); ++i, ++next) {
      acks.push_back(Ack{next, hash_to_hex(batch.hashes[next - batch.first])});
    }
    pending.done(std::move(acks));
  }
}

std::uint64_t Ledger::size() const {
  std::shared_lock lock(m_tree_mutex);
  return m_size;
}

TreeHead Ledger::head() const {
  std::shared_lock lock(m_tree_mutex);
  return TreeHead{m_size, m_tree.root()};
}

Result<Hash> Ledger::root(std::uint64_t tree_size) const {
  std::shared_lock lock(m_tree_mutex);
  return m_tree.root(tree_size);
}

Result<std::vector<Hash>> Ledger::inclusion_proof(std::uint64_t index, std::uint64_t tree_size) const {
  std::shared_lock lock(m_tree_mutex);
  return m_tree.inclusion_proof(index, tree_size);
}

Result<std::vector<Hash>> Ledger::consistency_proof(std::uint64_t old_size,
                                                    std::uint64_t new_size) const {
  std::shared_lock lock(m_tree_mutex);
  return m_tree.consistency_proof(old_size, new_size);
}

Result<Hash> Ledger::leaf_hash(std::uint64_t index) const {
  std::shared_lock lock(m_tree_mutex);
  auto hash = m_tree.stored_hash(0, index);
  if (!hash) return fail(Errc::not_found, "no entry " + std::to_string(index));
  return *hash;
}

Result<EventPage> Ledger::events(std::uint64_t from, std::uint64_t to, const EventFilter& filter,
                                 std::size_t limit, std::size_t max_bytes) const {
  const std::uint64_t size = this->size();
  if (from > size) {
    return fail(Errc::invalid_argument, "from " + std::to_string(from) +
                                            " is beyond the ledger's size " + std::to_string(size));
  }
  if (from > to) return fail(Errc::invalid_argument, "from is larger than to");
  to = std::min(to, size);

  const std::optional<std::string> kind = filter.kind ? std::optional(escaped(*filter.kind)) : std::nullopt;
  const std::optional<std::string> run_id =
      filter.run_id ? std::optional(escaped(*filter.run_id)) : std::nullopt;
  const std::optional<std::string> source =
      filter.source ? std::optional(escaped(*filter.source)) : std::nullopt;

  EventPage page;
  page.next = to;
  std::size_t page_bytes = 0;
  std::optional<Error> problem;
  CORDON_TRY_VOID(m_store->read(from, to, [&](std::uint64_t index, std::string_view leaf) {
    if (page.entries.size() == limit ||
        (!page.entries.empty() && page_bytes + leaf.size() > max_bytes)) {
      page.next = index;
      return false;
    }
    const Hash hash = ledger::leaf_hash(leaf);
    const auto expected = [&] {
      std::shared_lock lock(m_tree_mutex);
      return m_tree.stored_hash(0, index);
    }();
    if (!expected || *expected != hash) {
      problem = Error{Errc::integrity, "ledger entry " + std::to_string(index) +
                                           " changed on disk after it was committed"};
      return false;
    }
    const auto fields = extract_leaf_fields(leaf);
    if (!fields) {
      problem = Error{Errc::integrity, "ledger entry " + std::to_string(index) + ": " +
                                           fields.error().message};
      return false;
    }
    if (kind && fields->kind != *kind) return true;
    if (source && fields->source != *source) return true;
    if (run_id && (!fields->run_id || *fields->run_id != *run_id)) return true;
    page_bytes += leaf.size() + 1;
    page.entries.push_back(LedgerEntry{index, std::string(leaf), hash});
    return true;
  }));
  if (problem) return tl::unexpected<Error>(*problem);
  return page;
}

Result<std::string> Ledger::tile(unsigned level, std::uint64_t index, unsigned width) const {
  CORDON_TRY_VOID(check_tile_request(level, index, width));
  const unsigned tree_level = level * tile_height;
  const std::uint64_t first = index * tile_width;
  std::string out;
  out.reserve(std::size_t{width} * 32);
  std::shared_lock lock(m_tree_mutex);
  for (std::uint64_t i = first; i < first + width; ++i) {
    const auto hash = m_tree.stored_hash(tree_level, i);
    if (!hash) {
      return fail(Errc::not_found, "tile " + std::to_string(level) + "/" + std::to_string(index) +
                                       " of width " + std::to_string(width) + " is not complete");
    }
    out.append(reinterpret_cast<const char*>(hash->data()), hash->size());
  }
  return out;
}

Result<std::string> Ledger::entry_bundle(std::uint64_t index, unsigned width) const {
  CORDON_TRY_VOID(check_tile_request(0, index, width));
  const std::uint64_t first = index * tile_width;
  if (first + width > size()) {
    return fail(Errc::not_found, "entry bundle " + std::to_string(index) + " of width " +
                                     std::to_string(width) + " is not complete");
  }
  std::string out;
  std::optional<Error> problem;
  CORDON_TRY_VOID(m_store->read(first, first + width, [&](std::uint64_t i, std::string_view leaf) {
    const auto expected = [&] {
      std::shared_lock lock(m_tree_mutex);
      return m_tree.stored_hash(0, i);
    }();
    if (!expected || *expected != ledger::leaf_hash(leaf)) {
      problem = Error{Errc::integrity, "ledger entry " + std::to_string(i) +
                                           " changed on disk after it was committed"};
      return false;
    }
    out.push_back(static_cast<char>(leaf.size() >> 8));
    out.push_back(static_cast<char>(leaf.size() & 0xff));
    out.append(leaf);
    return true;
  }));
  if (problem) return tl::unexpected<Error>(*problem);
  return out;
}

} // namespace cordon::ledger
