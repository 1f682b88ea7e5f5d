#pragma once

#include <memory>

#include "agentd/mcp/mcp_server.h"
#include "agentd/run_store.h"
#include "agentd/tools/two_phase.h"
#include "common/audit/audit_client.h"
#include "common/ipc/router.h"

namespace cordon::agentd {

// agentd's Unix-socket API:
//   POST /mcp            agent        MCP over Streamable HTTP (one JSON-RPC message per POST)
//   DELETE /mcp          agent        ends the session named by Mcp-Session-Id
//   POST /v1/runs        admin, integration   registers a run {agent, task}
//   GET /v1/runs/{id}    admin, integration   a run and its flags
//   GET /v1/pending      admin        two-phase deletes and their state
//   POST /v1/pending/{id}/reinstate  admin  puts a pending delete back (tool.reinstated)
// The agent's role never registers runs: the trusted task text never comes from the agent.
std::shared_ptr<ipc::Router> make_router(mcp::McpServer& mcp, RunStore& runs, TwoPhaseDeletes& deletes, AuditClient& audit);

} // namespace cordon::agentd
