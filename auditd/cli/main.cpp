// cordon-audit: the auditor's CLI. Pulls a tenant's ledger over HTTPS, verifies it offline
// against a pinned verifier key, and exports it. Runs anywhere; trusts nothing it is served.
#include <csignal>
#include <fstream>
#include <iostream>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "auditd/auditor/commands.h"
#include "common/ipc/https_client.h"
#include "common/ipc/tls_server.h"

namespace {

using namespace cordon;

int report(const Result<void>& result) {
  if (result) return 0;
  std::cerr << "cordon-audit: " << result.error().message << "\n";
  return result.error().code == Errc::integrity ? 1 : 2;
}

Result<std::string> read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return fail(Errc::not_found, "cannot read " + path);
  return line;
}

// verify maps regular files (ledger::verify_jsonl_files): if one is cut short while it is read,
// the kernel raises SIGBUS. That ends verify with a clear message and status 2, never a pass.
void report_bus_errors() {
  struct sigaction action {};
  action.sa_handler = [](int) {
    static constexpr char message[] =
        "cordon-audit: a ledger file was cut short while it was being verified (SIGBUS), or its "
        "disk failed; nothing was verified: run verify again on files nothing is writing\n";
    [[maybe_unused]] const auto written = ::write(STDERR_FILENO, message, sizeof message - 1);
    ::_exit(2);
  };
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGBUS, &action, nullptr);
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"cordon-audit: pull, verify and export a Cordon audit ledger"};
  app.require_subcommand(1);

  // pull
  auto* pull = app.add_subcommand("pull", "fetch the latest checkpoint and the entries the local copy lacks");
  std::string url, ca, cert, key, token_file, dir;
  pull->add_option("--url", url, "auditor API, https://host:port")->required();
  pull->add_option("--ca", ca, "CA certificate (PEM) pinned for the server")->required();
  pull->add_option("--cert", cert, "client certificate (PEM)");
  pull->add_option("--key", key, "client key (PEM)");
  pull->add_option("--token-file", token_file, "file holding a bearer token");
  pull->add_option("--dir", dir, "local copy directory")->required();

  // verify
  auto* verify = app.add_subcommand("verify", "verify a local copy or ledger files offline");
  auditor::VerifyOptions verify_options;
  std::string key_file;
  verify->add_option("--dir", verify_options.directory, "local copy directory (from pull)");
  verify->add_option("--ledger", verify_options.ledger_files, "JSONL files in order (segments, a sink)");
  verify->add_option("--checkpoint", verify_options.checkpoint_files, "signed checkpoint note files");
  verify->add_option("--key", verify_options.key, "pinned verifier key name+hex8+base64");
  verify->add_option("--key-file", key_file, "file holding the pinned verifier key");
  verify->add_option("--origin", verify_options.origin, "required checkpoint origin");
  verify->add_flag("--canonical", verify_options.canonical, "also check every leaf is canonical JSON");
  verify->add_option("--threads", verify_options.threads, "hashing threads (0: one per CPU)");

  // export
  auto* exporter = app.add_subcommand("export", "write the local copy's events as JSONL or OCSF");
  std::string export_dir, format = "jsonl", out_path;
  exporter->add_option("--dir", export_dir, "local copy directory")->required();
  exporter->add_option("--format", format, "jsonl or ocsf")->check(CLI::IsMember({"jsonl", "ocsf"}));
  exporter->add_option("--out", out_path, "output file (default: standard output)");

  // hmac
  auto* hmac = app.add_subcommand("hmac", "compute the stored form of a value marked sensitive");
  std::string salt_file, value;
  hmac->add_option("--salt-file", salt_file, "the tenant's audit salt")->required();
  hmac->add_option("value", value, "the value")->required();

  // Exit status 1 is kept for evidence of tampering: a usage error is 2, like any other failure.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }

  if (pull->parsed()) {
    if (url.rfind("https://", 0) != 0) return report(fail(Errc::invalid_argument, "--url must be https://host:port"));
    auto host_port = ipc::parse_host_port(url.substr(8, url.find('/', 8) == std::string::npos ? std::string::npos : url.find('/', 8) - 8));
    if (!host_port) return report(tl::unexpected<Error>(host_port.error()));
    ipc::HttpsClientOptions options;
    options.host = host_port->first;
    options.port = host_port->second;
    options.ca_file = ca;
    options.client_cert_file = cert;
    options.client_key_file = key;
    if (!token_file.empty()) {
      auto token = read_first_line(token_file);
      if (!token) return report(tl::unexpected<Error>(token.error()));
      options.bearer_token = *token;
    }
    auto client = ipc::HttpsClient::create(options);
    if (!client) return report(tl::unexpected<Error>(client.error()));
    auditor::Fetch fetch = [&client](const std::string& target) { return client->get(target); };
    return report(auditor::pull(fetch, {dir}, std::cout));
  }
  if (verify->parsed()) {
    if (!key_file.empty()) {
      auto line = read_first_line(key_file);
      if (!line) return report(tl::unexpected<Error>(line.error()));
      verify_options.key = *line;
    }
    if (verify_options.key.empty()) return report(fail(Errc::invalid_argument, "give --key or --key-file"));
    report_bus_errors();
    return report(auditor::verify(verify_options, std::cout));
  }
  if (exporter->parsed()) {
    auditor::ExportOptions options{export_dir, format == "ocsf" ? auditor::ExportFormat::ocsf : auditor::ExportFormat::jsonl};
    if (out_path.empty()) return report(auditor::export_events(options, std::cout));
    std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
    if (!out) return report(fail(Errc::io_error, "cannot write " + out_path));
    return report(auditor::export_events(options, out));
  }
  if (hmac->parsed()) {
    auto mac = auditor::sensitive_value_hmac(salt_file, value);
    if (!mac) return report(tl::unexpected<Error>(mac.error()));
    std::cout << *mac << "\n";
    return 0;
  }
  return 2;
}
