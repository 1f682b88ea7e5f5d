#include "common/secure_bytes.h"

#include <cstring>
#include <utility>

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/crypto.h"

namespace cordon {

namespace {
std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}
} // namespace

Result<SecureBytes> SecureBytes::allocate(std::size_t size) {
  if (size == 0) return SecureBytes();
  const std::size_t page = page_size();
  const std::size_t mapped = (size + page - 1) / page * page;
  void* memory = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return fail(Errc::io_error, "cannot allocate memory for key material");
  ::madvise(memory, mapped, MADV_DONTDUMP);
  ::madvise(memory, mapped, MADV_DONTFORK);
  const bool locked = ::mlock(memory, mapped) == 0;
  return SecureBytes(static_cast<std::uint8_t*>(memory), size, mapped, locked);
}

Result<SecureBytes> SecureBytes::copy_of(std::span<const std::uint8_t> bytes) {
  auto buffer = CORDON_TRY(allocate(bytes.size()));
  if (!bytes.empty()) std::memcpy(buffer.data(), bytes.data(), bytes.size());
  return buffer;
}

Result<SecureBytes> SecureBytes::copy_of(std::string_view text) { return copy_of(as_bytes(text)); }

SecureBytes::~SecureBytes() { release(); }

SecureBytes::SecureBytes(SecureBytes&& other) noexcept
    : m_data(std::exchange(other.m_data, nullptr)), m_size(std::exchange(other.m_size, 0)),
      m_mapped(std::exchange(other.m_mapped, 0)), m_locked(std::exchange(other.m_locked, false)) {}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
  if (this != &other) {
    release();
    m_data = std::exchange(other.m_data, nullptr);
    m_size = std::exchange(other.m_size, 0);
    m_mapped = std::exchange(other.m_mapped, 0);
    m_locked = std::exchange(other.m_locked, false);
  }
  return *this;
}

void SecureBytes::shrink(std::size_t size) {
  if (size >= m_size) return;
  crypto::wipe({m_data + size, m_size - size});
  m_size = size;
}

void SecureBytes::release() noexcept {
  if (!m_data) return;
  crypto::wipe({m_data, m_mapped});
  if (m_locked) ::munlock(m_data, m_mapped);
  ::munmap(m_data, m_mapped);
  m_data = nullptr;
  m_size = m_mapped = 0;
  m_locked = false;
}

Result<void> forbid_core_dumps() {
  const rlimit none{0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0) return fail(Errc::io_error, "cannot set RLIMIT_CORE to 0");
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return fail(Errc::io_error, "cannot clear PR_SET_DUMPABLE");
  return ok();
}

} // namespace cordon
