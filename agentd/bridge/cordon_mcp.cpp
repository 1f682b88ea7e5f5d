// cordon-mcp: an MCP stdio server that bridges to agentd's socket, so any MCP client can use
// Cordon as its tool server:  cordon-mcp --run r-…   (or CORDON_RUN_ID).
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "agentd/bridge/stdio_bridge.h"

int main(int argc, char** argv) {
  CLI::App app{"cordon-mcp: MCP over stdio, bridged to cordon-agentd"};
  std::string socket = "/run/cordon/agentd.sock";
  std::string run;
  if (const char* value = std::getenv("CORDON_AGENTD_SOCKET")) socket = value;
  if (const char* value = std::getenv("CORDON_RUN_ID")) run = value;
  app.add_option("--socket", socket, "agentd's socket ($CORDON_AGENTD_SOCKET)")->capture_default_str();
  app.add_option("--run", run, "the run this agent works in, registered by an operator ($CORDON_RUN_ID)");
  CLI11_PARSE(app, argc, argv);
  if (run.empty()) {
    std::cerr << "cordon-mcp: no run: pass --run or set CORDON_RUN_ID (POST /v1/runs registers one)\n";
    return 2;
  }
  std::ios::sync_with_stdio(false);
  cordon::agentd::StdioBridge bridge(socket, run);
  return bridge.run(std::cin, std::cout, std::cerr);
}
