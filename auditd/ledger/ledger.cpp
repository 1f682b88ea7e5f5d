#include "auditd/ledger/ledger.h"

#include <algorithm>
#include <future>

namespace cordon::ledger {
namespace {

constexpr std::size_t min_salt_bytes = 16;
constexpr unsigned tile_height = 8;
constexpr unsigned tile_width = 1u << tile_height;
// The longest a commit waits to gather the requests it expects (see Ledger).
constexpr std::chrono::microseconds max_gather{1000};
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
  MerkleTree tree;
  SegmentStoreOptions store_options{.segment_bytes = options.segment_bytes, .disk = options.disk};
  auto store = CORDON_TRY(SegmentStore::open(
      directory, store_options,
      [&tree](std::uint64_t, std::string_view, const Hash& hash) { tree.append(hash); }));

  auto ledger = std::unique_ptr<Ledger>(new Ledger(std::move(options), clock, std::move(store)));
  ledger->m_tree = std::move(tree);
  ledger->m_size = ledger->m_tree.size();
  ledger->m_last_hash = ledger->m_store->opened_last_leaf_hash();
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
  ledger->m_commit_thread = std::thread([raw = ledger.get()] { raw->commit_loop(); });
  return ledger;
}

Ledger::~Ledger() {
  {
    std::lock_guard lock(m_queue_mutex);
    m_stopping = true;
  }
  m_queue_changed.notify_one();
  if (m_commit_thread.joinable()) m_commit_thread.join();
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
    m_queue.push_back(Pending{std::move(events), std::move(done)});
    if (m_queue.size() < m_wake_at) return; // the commit thread is gathering a larger group
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
  using std::chrono::steady_clock;
  std::vector<Pending> group;
  std::size_t last_requests = 0;         // requests in the last commit
  steady_clock::duration last_commit{};  // how long it took
  steady_clock::time_point last_end{};   // when it ended
  for (;;) {
    {
      std::unique_lock lock(m_queue_mutex);
      m_queue_changed.wait(lock, [this] { return !m_queue.empty() || m_stopping; });
      if (m_queue.empty()) return; // stopping, and everything queued is committed
      const auto window = std::min<steady_clock::duration>(last_commit, max_gather);
      if (m_queue.size() < last_requests && !m_stopping && steady_clock::now() - last_end < window) {
        m_wake_at = last_requests;
        m_queue_changed.wait_until(lock, last_end + window, [&] {
          return m_queue.size() >= last_requests || m_stopping;
        });
        m_wake_at = 1;
      }
      std::swap(group, m_queue);
      m_queued_events = 0;
    }
    const auto start = steady_clock::now();
    last_requests = group.size();
    commit(group);
    group.clear();
    last_end = steady_clock::now();
    last_commit = last_end - start;
  }
}

std::string Ledger::next_time() {
  const auto now = std::chrono::floor<std::chrono::microseconds>(m_clock.now());
  if (now > m_last_time) m_last_time = now;
  return format_rfc3339_micros(m_last_time);
}

void Ledger::commit(std::vector<Pending>& group) {
  const std::string time = next_time();
  m_batch.clear();
  m_batch_hashes.clear();
  std::size_t bound = 0;
  for (const Pending& pending : group) {
    for (const PreparedEvent& event : pending.events) bound += event.max_leaf_size() + 1;
  }
  m_batch.bytes.reserve(bound);

  std::uint64_t index = m_size; // only this thread changes m_size
  Hash prev = m_last_hash;
  for (const Pending& pending : group) {
    for (const PreparedEvent& event : pending.events) {
      const std::size_t start = m_batch.bytes.size();
      event.compose(m_batch.bytes, index, prev, time);
      const std::size_t length = m_batch.bytes.size() - start;
      prev = ledger::leaf_hash(std::string_view(m_batch.bytes).substr(start, length));
      m_batch.bytes.push_back('\n');
      m_batch.lengths.push_back(static_cast<std::uint32_t>(length));
      m_batch_hashes.push_back(prev);
      ++index;
    }
  }

  auto written = m_store->append(m_batch);
  if (m_batch.bytes.capacity() > kept_batch_capacity) m_batch.bytes = std::string();
  if (!written) {
    for (Pending& pending : group) pending.done(tl::unexpected<Error>(written.error()));
    return;
  }

  const std::uint64_t first = m_size;
  {
    std::unique_lock lock(m_tree_mutex);
    for (const Hash& hash : m_batch_hashes) m_tree.append(hash);
    m_size = index;
  }
  m_last_hash = prev;
  if (m_options.on_commit) m_options.on_commit(index);

  std::uint64_t next = first;
  for (Pending& pending : group) {
    std::vector<Ack> acks;
    acks.reserve(pending.events.size());
    for (std::size_t i = 0; i < pending.events.size(); ++i, ++next) {
      acks.push_back(Ack{next, hash_to_hex(m_batch_hashes[next - first])});
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
