#pragma once

// The ESYS layer under TpmKek: a connection to a TPM through a TCTI, RAII for what ESYS
// allocates and for TPM handles, and the reading of response codes. Internal to secretsd/kek.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "common/crypto.h"
#include "common/error.h"

namespace cordon::secretsd::tpm {

inline constexpr unsigned max_pcr_index = 23;
inline constexpr std::uint32_t owner_persistent_first = TPM2_PERSISTENT_FIRST;
inline constexpr std::uint32_t owner_persistent_last = TPM2_PLATFORM_PERSISTENT - 1;

inline std::string errno_text(int error) { return std::generic_category().message(error); }

inline std::string handle_text(std::uint32_t handle) { return fmt::format("{:#010x}", handle); }

inline std::string pcr_list(const std::vector<unsigned>& pcrs) {
  return fmt::format("{}", fmt::join(pcrs, ","));
}

// "PCR 7" or "PCRs 7,11".
inline std::string pcr_phrase(const std::vector<unsigned>& pcrs) {
  return (pcrs.size() == 1 ? "PCR " : "PCRs ") + pcr_list(pcrs);
}

inline std::string decode(TSS2_RC rc) { return Tss2_RC_Decode(rc); }

template <class T>
void wipe_object(T& object) {
  crypto::wipe({reinterpret_cast<std::uint8_t*>(&object), sizeof(T)});
}

// The TPM's own error code without the handle, session or parameter number of format-one codes.
TSS2_RC tpm_code(TSS2_RC rc);

// The transport failed: the TCTI or a resource manager, not the TPM, answered.
bool is_transport_failure(TSS2_RC rc);

// A TPM warning (busy, out of memory, retry): the same request may succeed later.
bool is_tpm_warning(TSS2_RC rc);

// A parameter the TPM refused as malformed or failing its integrity check (format one, not a
// warning): for a blob being loaded, that means the blob is damaged or not ours.
bool is_parameter_failure(TSS2_RC rc);

// An ESYS context over a TCTI. Both are finalized on destruction, ESYS first.
class Connection {
public:
  // Connects and sends a first command; any failure is Errc::unavailable naming the TCTI.
  static Result<std::unique_ptr<Connection>> connect(const std::string& tcti);
  ~Connection() {
    if (m_esys != nullptr) Esys_Finalize(&m_esys);
    if (m_tcti != nullptr) Tss2_TctiLdr_Finalize(&m_tcti);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  ESYS_CONTEXT* esys() const { return m_esys; }

  // The error for a failed command; `what` completes "the TPM failed to ...".
  Error failure(std::string_view what, TSS2_RC rc) const {
    if (is_transport_failure(rc)) return unreachable(rc);
    if (is_tpm_warning(rc)) {
      return Error{Errc::unavailable,
                   fmt::format("the TPM at {} cannot {} now: {}", m_tcti_text, what, decode(rc))};
    }
    return Error{Errc::crypto, fmt::format("the TPM failed to {}: {}", what, decode(rc))};
  }
  Error unreachable(TSS2_RC rc) const {
    return Error{Errc::unavailable,
                 fmt::format("cannot reach the TPM at {}: {}", m_tcti_text, decode(rc))};
  }

private:
  explicit Connection(std::string tcti) : m_tcti_text(std::move(tcti)) {}

  std::string m_tcti_text;
  TSS2_TCTI_CONTEXT* m_tcti = nullptr;
  ESYS_CONTEXT* m_esys = nullptr;
};

// An ESYS-allocated output structure, wiped (it may hold key material) and freed with Esys_Free.
template <class T>
class EsysOutput {
public:
  EsysOutput() = default;
  ~EsysOutput() {
    if (m_value == nullptr) return;
    wipe_object(*m_value);
    Esys_Free(m_value);
  }
  EsysOutput(const EsysOutput&) = delete;
  EsysOutput& operator=(const EsysOutput&) = delete;
  T** out() { return &m_value; }
  T* operator->() const { return m_value; }
  T& operator*() const { return *m_value; }
  explicit operator bool() const { return m_value != nullptr; }

private:
  T* m_value = nullptr;
};

// An ESYS_TR owned by a scope. A transient object or a session is flushed from the TPM on
// destruction; for a persistent object only ESYS's record is closed and the object stays.
class TpmHandle {
public:
  enum class Disposal { flush, close };
  TpmHandle() = default;
  TpmHandle(ESYS_CONTEXT* esys, ESYS_TR handle, Disposal disposal)
      : m_esys(esys), m_handle(handle), m_disposal(disposal) {}
  ~TpmHandle() { reset(); }
  TpmHandle(TpmHandle&& other) noexcept
      : m_esys(other.m_esys), m_handle(std::exchange(other.m_handle, ESYS_TR_NONE)),
        m_disposal(other.m_disposal) {}
  TpmHandle& operator=(TpmHandle&& other) noexcept {
    if (this != &other) {
      reset();
      m_esys = other.m_esys;
      m_handle = std::exchange(other.m_handle, ESYS_TR_NONE);
      m_disposal = other.m_disposal;
    }
    return *this;
  }
  TpmHandle(const TpmHandle&) = delete;
  TpmHandle& operator=(const TpmHandle&) = delete;

  ESYS_TR get() const { return m_handle; }
  void reset() {
    if (m_handle == ESYS_TR_NONE) return;
    if (m_disposal == Disposal::flush) {
      Esys_FlushContext(m_esys, m_handle);
    } else {
      Esys_TR_Close(m_esys, &m_handle);
    }
    m_handle = ESYS_TR_NONE;
  }

private:
  ESYS_CONTEXT* m_esys = nullptr;
  ESYS_TR m_handle = ESYS_TR_NONE;
  Disposal m_disposal = Disposal::flush;
};

} // namespace cordon::secretsd::tpm
