#pragma once

#include <iosfwd>
#include <string>

#include "common/ipc/unix_client.h"
#include "common/json.h"

namespace cordon::agentd {

// cordon-mcp's work: MCP's stdio transport (one JSON-RPC message per line on stdin, answers
// one per line on stdout, nothing else on stdout) bridged to agentd's Streamable HTTP endpoint.
// It adds Cordon-Run-Id to every message, keeps the Mcp-Session-Id and negotiated
// MCP-Protocol-Version initialize answered, and turns transport failures (agentd unreachable,
// a refused peer, a line over the limit) into JSON-RPC errors for requests, so the client is
// never left waiting.
class StdioBridge {
public:
  static constexpr std::size_t max_line_bytes = 2 << 20;

  StdioBridge(std::string socket, std::string run_id);

  // Bridges until `in` ends. Returns the process exit status (0).
  int run(std::istream& in, std::ostream& out, std::ostream& log);

  // One message; the line to write back, or "" for none.
  std::string forward(const std::string& line);

private:
  ipc::UnixClient m_client;
  std::string m_run_id;
  std::string m_session;
  std::string m_protocol_version;
};

} // namespace cordon::agentd
