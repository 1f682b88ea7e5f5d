#include "secretsd/kek/tpm_connection.h"

namespace cordon::secretsd::tpm {

// The TPM's own error code without the handle, session or parameter number of format-one codes.
TSS2_RC tpm_code(TSS2_RC rc) {
  if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER) return rc;
  return (rc & TPM2_RC_FMT1) != 0 ? (rc & (TPM2_RC_FMT1 | 0x3F)) : rc;
}

// The transport failed: the TCTI or a resource manager, not the TPM, answered.
bool is_transport_failure(TSS2_RC rc) {
  const TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
  return layer == TSS2_TCTI_RC_LAYER || layer == TSS2_RESMGR_RC_LAYER;
}

// A TPM warning (busy, out of memory, retry): the same request may succeed later.
bool is_tpm_warning(TSS2_RC rc) {
  return (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && (rc & TPM2_RC_FMT1) == 0 &&
         (rc & TPM2_RC_WARN) == TPM2_RC_WARN;
}

// A parameter the TPM refused as malformed or failing its integrity check (format one, not a
// warning): for a blob being loaded, that means the blob is damaged or not ours.
bool is_parameter_failure(TSS2_RC rc) {
  return (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && (rc & TPM2_RC_FMT1) != 0;
}


Result<std::unique_ptr<Connection>> Connection::connect(const std::string& tcti) {
  std::unique_ptr<Connection> connection(new Connection(tcti));
  TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti.c_str(), &connection->m_tcti);
  if (rc != TSS2_RC_SUCCESS) {
    connection->m_tcti = nullptr;
    return tl::unexpected(connection->unreachable(rc));
  }
  rc = Esys_Initialize(&connection->m_esys, connection->m_tcti, nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    connection->m_esys = nullptr;
    return tl::unexpected(connection->unreachable(rc));
  }
  // ESYS sends nothing on initialization; this is the first command, and whatever its failure
  // (no listener, TPM not started) the TPM cannot serve us.
  TPMI_YES_NO more = TPM2_NO;
  EsysOutput<TPMS_CAPABILITY_DATA> capabilities;
  rc = Esys_GetCapability(connection->esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                          TPM2_CAP_TPM_PROPERTIES, TPM2_PT_MANUFACTURER, 1, &more,
                          capabilities.out());
  if (rc != TSS2_RC_SUCCESS) return tl::unexpected(connection->unreachable(rc));
  return connection;
}

} // namespace cordon::secretsd::tpm
