#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/crypto.h"
#include "common/encoding.h"
#include "common/ipc/https_client.h"
#include "common/ipc/tls_server.h"

using namespace cordon;
using namespace cordon::ipc;
using namespace std::chrono_literals;

namespace {

struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertDeleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using CertPtr = std::unique_ptr<X509, CertDeleter>;

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  REQUIRE(extension != nullptr);
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

// An Ed25519 certificate for `key`, signed by `issuer_key` (self-signed when issuer is null).
CertPtr make_certificate(EVP_PKEY* key, const char* common_name, X509* issuer, EVP_PKEY* issuer_key,
                         bool is_ca, const char* subject_alt_name, const char* extended_key_usage) {
  static std::atomic<long> serial{1};
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  add_extension(cert.get(), signer, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (is_ca) add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  if (subject_alt_name != nullptr) add_extension(cert.get(), signer, NID_subject_alt_name, subject_alt_name);
  if (extended_key_usage != nullptr) add_extension(cert.get(), signer, NID_ext_key_usage, extended_key_usage);
  REQUIRE(X509_sign(cert.get(), issuer_key, nullptr) > 0);
  return cert;
}

KeyPtr make_key() {
  KeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  REQUIRE(key != nullptr);
  return key;
}

void write_pem(const std::string& path, X509* cert) {
  FILE* file = std::fopen(path.c_str(), "w");
  REQUIRE(file != nullptr);
  PEM_write_X509(file, cert);
  std::fclose(file);
}

void write_pem(const std::string& path, EVP_PKEY* key) {
  FILE* file = std::fopen(path.c_str(), "w");
  REQUIRE(file != nullptr);
  PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(file);
}

// A throwaway PKI: a CA, a server certificate for localhost and 127.0.0.1, an auditor client
// certificate, and a second CA with a client certificate of its own.
struct Pki {
  std::string dir;
  std::string ca, server_cert, server_key, client_cert, client_key, stranger_ca, stranger_cert, stranger_key;

  Pki() {
    char pattern[] = "/tmp/cordon-tls-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    dir = pattern;
    ca = dir + "/ca.crt";
    server_cert = dir + "/server.crt";
    server_key = dir + "/server.key";
    client_cert = dir + "/auditor.crt";
    client_key = dir + "/auditor.key";
    stranger_ca = dir + "/stranger-ca.crt";
    stranger_cert = dir + "/stranger.crt";
    stranger_key = dir + "/stranger.key";

    auto ca_key = make_key();
    auto ca_cert = make_certificate(ca_key.get(), "Cordon test CA", nullptr, ca_key.get(), true, nullptr, nullptr);
    write_pem(ca, ca_cert.get());

    auto key = make_key();
    auto cert = make_certificate(key.get(), "localhost", ca_cert.get(), ca_key.get(), false,
                                 "DNS:localhost,IP:127.0.0.1", "serverAuth");
    write_pem(server_cert, cert.get());
    write_pem(server_key, key.get());

    auto auditor_key = make_key();
    auto auditor = make_certificate(auditor_key.get(), "auditor-dev", ca_cert.get(), ca_key.get(), false,
                                    nullptr, "clientAuth");
    write_pem(client_cert, auditor.get());
    write_pem(client_key, auditor_key.get());

    auto other_ca_key = make_key();
    auto other_ca = make_certificate(other_ca_key.get(), "Stranger CA", nullptr, other_ca_key.get(), true,
                                     nullptr, nullptr);
    write_pem(stranger_ca, other_ca.get());
    auto stranger_private = make_key();
    auto stranger = make_certificate(stranger_private.get(), "mallory", other_ca.get(), other_ca_key.get(),
                                     false, "DNS:localhost,IP:127.0.0.1", "clientAuth,serverAuth");
    write_pem(stranger_cert, stranger.get());
    write_pem(stranger_key, stranger_private.get());
  }
  ~Pki() { std::filesystem::remove_all(dir); }
};

const std::string good_token = "3c1f0e2d9b8a7f6e5d4c3b2a19081726354453627180a9b8c7d6e5f4a3b2c1d0";

std::string sha256_hex(std::string_view text) { return to_hex(crypto::sha256(text)); }

struct TlsHarness {
  Pki pki;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  std::shared_ptr<Router> router = std::make_shared<Router>();
  std::unique_ptr<TlsServer> server;
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::vector<std::string> denials;

  explicit TlsHarness(const std::string& host = "127.0.0.1",
                      TlsAuthentication authentication = TlsAuthentication::credentials) {
    router->add(Method::get, "/v1/whoami", {"auditor"}, [](const Request&, const Peer& peer, Responder respond) {
      respond(json_response(200, {{"principal", peer.principal},
                                  {"subject", peer.tls_subject},
                                  {"tls", peer.transport == Transport::tls},
                                  {"remote", peer.remote_address}}));
    });
    // Bodies of `size` bytes, larger than a TLS record (16 KiB) and than one write.
    router->add(Method::get, "/v1/large", {"auditor"}, [](const Request& request, const Peer&, Responder respond) {
      const auto size = std::stoul(std::string(request.query_param("size").value_or("0")));
      std::string body(size, '\0');
      for (std::size_t i = 0; i < size; ++i) body[i] = static_cast<char>('a' + i % 26);
      respond(text_response(200, std::move(body), "application/octet-stream"));
    });
    router->set_denied_hook([this](const Request&, const Peer& peer, std::string_view reason) {
      std::lock_guard lock(mutex);
      denials.push_back(peer.principal + ": " + std::string(reason) +
                        (peer.tls_subject.empty() ? "" : " [" + peer.tls_subject + "]"));
    });
    TlsServerOptions options;
    options.cert_file = pki.server_cert;
    options.key_file = pki.server_key;
    options.client_ca_file = pki.ca;
    options.bearer_token_sha256 = {sha256_hex(good_token)};
    options.authentication = authentication;
    auto bound = TlsServer::bind(io, host, 0, options, router);
    if (!bound) FAIL(bound.error().message);
    server = std::move(*bound);
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }

  ~TlsHarness() {
    server.reset();
    work.reset();
    io.stop();
    for (auto& thread : threads) thread.join();
  }

  HttpsClientOptions client_options(const std::string& host = "127.0.0.1") const {
    HttpsClientOptions options;
    options.host = host;
    options.port = server->port();
    options.ca_file = pki.ca;
    options.client.timeout = 5s;
    return options;
  }
};

HttpsClient make_client(const HttpsClientOptions& options) {
  auto client = HttpsClient::create(options);
  if (!client) FAIL(client.error().message);
  return std::move(*client);
}

// Attempts a raw handshake limited to `max_version`; true if it completes.
bool handshake_with_max_version(std::uint16_t port, int max_version) {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(context, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(context, max_version);
  SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval limit{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  bool completed = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    SSL* ssl = SSL_new(context);
    SSL_set_fd(ssl, fd);
    completed = SSL_connect(ssl) == 1;
    SSL_free(ssl);
  }
  ::close(fd);
  SSL_CTX_free(context);
  return completed;
}

} // namespace

TEST_CASE("TLS listener accepts a client certificate from the configured CA as auditor:<CN>") {
  TlsHarness harness;
  auto options = harness.client_options();
  options.client_cert_file = harness.pki.client_cert;
  options.client_key_file = harness.pki.client_key;
  auto client = make_client(options);
  auto response = client.get("/v1/whoami");
  REQUIRE(response);
  CHECK(response->status == 200);
  auto body = nlohmann::json::parse(response->body);
  CHECK(body["principal"] == "auditor:auditor-dev");
  CHECK(body["subject"] == "CN=auditor-dev");
  CHECK(body["tls"] == true);
  CHECK(body["remote"].get<std::string>().rfind("127.0.0.1:", 0) == 0);
}

TEST_CASE("TLS listener accepts a configured bearer token") {
  TlsHarness harness;
  auto options = harness.client_options();
  options.bearer_token = good_token;
  auto client = make_client(options);
  auto response = client.get("/v1/whoami");
  REQUIRE(response);
  CHECK(response->status == 200);
  auto body = nlohmann::json::parse(response->body);
  CHECK(body["principal"] == "auditor:token-" + sha256_hex(good_token).substr(0, 8));
  CHECK(body["subject"] == "");
}

TEST_CASE("TLS listener answers a request without credentials with 401 and reports it") {
  TlsHarness harness;
  auto client = make_client(harness.client_options());
  auto response = client.get("/v1/whoami");
  REQUIRE(response);
  CHECK(response->status == 401);
  CHECK(response->content_type == "application/problem+json");
  CHECK(response->header("WWW-Authenticate").rfind("Bearer", 0) == 0);
  CHECK(nlohmann::json::parse(response->body)["type"] == "https://cordon.dev/problems/unauthenticated");
  std::lock_guard lock(harness.mutex);
  REQUIRE(harness.denials.size() == 1);
  CHECK(harness.denials[0].rfind("anonymous: ", 0) == 0);
}

TEST_CASE("a TLS listener whose routes authenticate lets a request without credentials through as <role>:<address>") {
  TlsHarness harness("127.0.0.1", TlsAuthentication::by_route);
  auto client = make_client(harness.client_options());
  auto response = client.get("/v1/whoami");
  REQUIRE(response);
  CHECK(response->status == 200);
  const auto principal = nlohmann::json::parse(response->body)["principal"].get<std::string>();
  CHECK(principal.rfind("auditor:127.0.0.1:", 0) == 0);
  std::lock_guard lock(harness.mutex);
  CHECK(harness.denials.empty());
}

TEST_CASE("TLS listener answers a wrong bearer token with 401") {
  TlsHarness harness;
  auto options = harness.client_options();
  options.bearer_token = "not-the-token";
  auto client = make_client(options);
  auto response = client.get("/v1/whoami");
  REQUIRE(response);
  CHECK(response->status == 401);
  CHECK(error_from_response(*response).code == Errc::unauthenticated);
}

TEST_CASE("TLS listener refuses clients limited to TLS 1.2") {
  TlsHarness harness;
  CHECK_FALSE(handshake_with_max_version(harness.server->port(), TLS1_2_VERSION));
  CHECK(handshake_with_max_version(harness.server->port(), TLS1_3_VERSION));
}

TEST_CASE("TLS listener fails the handshake of a client certificate from another CA") {
  TlsHarness harness;
  auto options = harness.client_options();
  options.client_cert_file = harness.pki.stranger_cert;
  options.client_key_file = harness.pki.stranger_key;
  auto client = make_client(options);
  auto response = client.get("/v1/whoami");
  // TLS 1.3 clients learn of the rejection only when they read.
  REQUIRE_FALSE(response);
}

TEST_CASE("TLS listener reports a client certificate it rejected to the denied hook") {
  TlsHarness harness;
  auto options = harness.client_options();
  options.client_cert_file = harness.pki.stranger_cert;
  options.client_key_file = harness.pki.stranger_key;
  auto client = make_client(options);
  REQUIRE_FALSE(client.get("/v1/whoami"));
  // The client may see the alert before the server's handshake handler has run.
  std::vector<std::string> denials;
  for (int i = 0; i < 200 && denials.empty(); ++i) {
    std::this_thread::sleep_for(10ms);
    std::lock_guard lock(harness.mutex);
    denials = harness.denials;
  }
  REQUIRE(denials.size() == 1);
  CHECK(denials[0].rfind("anonymous: client certificate rejected: ", 0) == 0);
  CHECK(denials[0].find("[CN=mallory]") != std::string::npos);
}

TEST_CASE("TLS listener does not report handshakes that present no certificate") {
  TlsHarness harness;
  CHECK_FALSE(handshake_with_max_version(harness.server->port(), TLS1_2_VERSION));
  CHECK(handshake_with_max_version(harness.server->port(), TLS1_3_VERSION));
  std::this_thread::sleep_for(50ms);
  std::lock_guard lock(harness.mutex);
  CHECK(harness.denials.empty());
}

TEST_CASE("HTTPS responses larger than a TLS record arrive whole, on a connection kept alive") {
  TlsHarness harness;
  auto options = harness.client_options();
  options.bearer_token = good_token;
  auto client = make_client(options);
  for (std::size_t size : {16383u, 16384u, 16385u, 100'000u, 3'000'000u, 10u}) {
    INFO(size);
    auto response = client.get("/v1/large?size=" + std::to_string(size));
    REQUIRE(response);
    CHECK(response->status == 200);
    REQUIRE(response->body.size() == size);
    CHECK(response->body.back() == static_cast<char>('a' + (size - 1) % 26));
  }
  CHECK(harness.server->connection_count() == 1);
}

TEST_CASE("TLS listener keeps a connection alive across requests") {
  TlsHarness harness;
  auto options = harness.client_options();
  options.bearer_token = good_token;
  auto client = make_client(options);
  for (int i = 0; i < 50; ++i) {
    auto response = client.get("/v1/whoami");
    REQUIRE(response);
    REQUIRE(response->status == 200);
  }
  CHECK(harness.server->connection_count() == 1);
  CHECK(client.connected());
}

TEST_CASE("HTTPS client refuses a server whose certificate is not from the pinned CA") {
  TlsHarness harness;
  auto options = harness.client_options();
  options.ca_file = harness.pki.stranger_ca;
  options.bearer_token = good_token;
  auto client = make_client(options);
  auto response = client.get("/v1/whoami");
  REQUIRE_FALSE(response);
  CHECK(response.error().code == Errc::integrity);
}

TEST_CASE("HTTPS client refuses a server certificate issued for another address") {
  TlsHarness harness("127.0.0.2");
  auto options = harness.client_options("127.0.0.2");
  options.bearer_token = good_token;
  auto client = make_client(options);
  auto response = client.get("/v1/whoami");
  REQUIRE_FALSE(response);
  CHECK(response.error().code == Errc::integrity);
}

TEST_CASE("HTTPS client verifies a server by DNS name") {
  TlsHarness harness;
  auto options = harness.client_options("localhost");
  options.bearer_token = good_token;
  auto client = make_client(options);
  auto response = client.get("/v1/whoami");
  REQUIRE(response);
  CHECK(response->status == 200);
}

TEST_CASE("TLS listener configuration errors are reported") {
  Pki pki;
  asio::io_context io;
  auto router = std::make_shared<Router>();
  TlsServerOptions options;
  options.cert_file = pki.server_cert;
  options.key_file = pki.server_key;
  auto nobody = TlsServer::bind(io, "127.0.0.1", 0, options, router);
  REQUIRE_FALSE(nobody);
  CHECK(nobody.error().code == Errc::invalid_argument);

  options.bearer_token_sha256 = {"abc"};
  auto bad_digest = TlsServer::bind(io, "127.0.0.1", 0, options, router);
  REQUIRE_FALSE(bad_digest);
  CHECK(bad_digest.error().message.find("bearer_token_sha256") != std::string::npos);

  options.bearer_token_sha256 = {sha256_hex(good_token)};
  options.key_file = pki.client_key;
  auto mismatched = TlsServer::bind(io, "127.0.0.1", 0, options, router);
  REQUIRE_FALSE(mismatched);

  options.key_file = pki.server_key;
  auto not_numeric = TlsServer::bind(io, "example.org", 0, options, router);
  REQUIRE_FALSE(not_numeric);
}

TEST_CASE("listen addresses split into host and port") {
  auto v4 = parse_host_port("127.0.0.1:8443");
  REQUIRE(v4);
  CHECK(v4->first == "127.0.0.1");
  CHECK(v4->second == 8443);
  auto v6 = parse_host_port("[::1]:0");
  REQUIRE(v6);
  CHECK(v6->first == "::1");
  CHECK(v6->second == 0);
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", ":80", "host:65536", "::1:80", "[::1]80", "h:8x"}) {
    INFO(bad);
    CHECK_FALSE(parse_host_port(bad));
  }
}
