#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/error.h"

namespace cordon {

// A buffer for key material and secret values. Its pages are private anonymous memory, locked
// into RAM (mlock, so they never reach swap), excluded from core dumps (MADV_DONTDUMP) and not
// inherited by a child (MADV_DONTFORK); they are overwritten before they are unmapped. Move-only,
// so a secret is never silently copied into ordinary heap memory.
//
// If the RLIMIT_MEMLOCK budget is exhausted the buffer still works, unlocked, and locked()
// says so; the daemons log that once. Allocation failure is Errc::io_error.
class SecureBytes {
public:
  SecureBytes() = default;
  static Result<SecureBytes> allocate(std::size_t size);
  static Result<SecureBytes> copy_of(std::span<const std::uint8_t> bytes);
  static Result<SecureBytes> copy_of(std::string_view text);

  ~SecureBytes();
  SecureBytes(SecureBytes&& other) noexcept;
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;

  std::uint8_t* data() { return m_data; }
  const std::uint8_t* data() const { return m_data; }
  std::size_t size() const { return m_size; }
  bool empty() const { return m_size == 0; }
  bool locked() const { return m_locked; }

  std::span<std::uint8_t> span() { return {m_data, m_size}; }
  std::span<const std::uint8_t> span() const { return {m_data, m_size}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(m_data), m_size}; }

  // Shortens the buffer to `size` bytes (no larger than now), wiping the rest.
  void shrink(std::size_t size);

private:
  SecureBytes(std::uint8_t* data, std::size_t size, std::size_t mapped, bool locked)
      : m_data(data), m_size(size), m_mapped(mapped), m_locked(locked) {}
  void release() noexcept;

  std::uint8_t* m_data = nullptr;
  std::size_t m_size = 0;
  std::size_t m_mapped = 0;
  bool m_locked = false;
};

// Makes this process non-dumpable (no core dumps, no ptrace attach by same-uid processes) and
// sets RLIMIT_CORE to 0. secretsd calls it first thing in main.
Result<void> forbid_core_dumps();

} // namespace cordon
