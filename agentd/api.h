#pragma once

#include <cstddef>

// agentd's contract (DESIGN.md §6). On the Unix socket /run/cordon/agentd.sock, every request
// attributed by SO_PEERCRED; errors outside /mcp are RFC 9457 problems.
//
//   POST   /mcp           agent        one JSON-RPC 2.0 message of MCP 2025-11-25 (or
//                                      2025-06-18). initialize needs the header
//                                      Cordon-Run-Id naming a registered run and answers
//                                      Mcp-Session-Id, which every later message carries.
//                                      Requests are answered 200 application/json (JSON-RPC
//                                      errors included); notifications and responses 202.
//                                      tools/call takes params._meta "cordon/confidence"
//                                      (0..1), "cordon/rationale" and "cordon/citations".
//   DELETE /mcp           agent        ends the session (204; 404 if unknown)
//   POST   /v1/runs       admin, integration  {"agent", "task"} -> 201 {"run_id", "agent",
//                                      "task", "registered_by", "created_at", "flags",
//                                      "untrusted_spans"}; recorded as run.registered
//   GET    /v1/runs/{id}  admin, integration  the same object, flags as they are now
//   GET    /v1/status     any mapped   {"sessions"}
//
// Every tools/call is recorded: action.refused, action.held, action.signature_rejected, or
// tool.started and then tool.executed, each with the decision id when there is one.
namespace cordon::agentd {

// Bodies outside /mcp; an MCP message may be larger (its own bound is in mcp_server.cpp).
inline constexpr std::size_t max_request_body_bytes = 256 << 10;
// The socket's body limit, for /mcp too.
inline constexpr std::size_t max_socket_body_bytes = 2 << 20;

} // namespace cordon::agentd
