#include "agentd/tools/http_request.h"

#include <algorithm>
#include <charconv>

#include "common/ipc/https_client.h"
#include "common/utf8.h"

namespace cordon::agentd {
namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool reserved_header(const std::string& name, const HttpHostConfig* host) {
  static const char* const reserved[] = {"host", "content-length", "transfer-encoding", "connection",
                                         "authorization", "proxy-authorization", "cookie", "te", "upgrade"};
  const std::string lower = lowercase(name);
  if (std::find(std::begin(reserved), std::end(reserved), lower) != std::end(reserved)) return true;
  return host != nullptr && lower == lowercase(host->credential_header);
}

class HttpRequest final : public Tool {
public:
  HttpRequest(const std::vector<HttpHostConfig>& hosts, std::size_t max_response_bytes)
      : m_hosts(hosts), m_max_response_bytes(max_response_bytes), m_spec(*tools::find_tool("http.request")) {}
  const tools::ToolSpec& spec() const override { return m_spec; }

  Result<std::string> credential_needed(const Json& arguments) const override {
    auto prepared = CORDON_TRY(prepare(arguments));
    const std::string wanted = arguments.value("credential", "");
    if (!wanted.empty() && wanted != prepared.host->credential) {
      return fail(Errc::permission_denied, "credential " + wanted.substr(0, 64) + " is not the one configured for " + prepared.url.host);
    }
    return prepared.host->credential;
  }

  Result<ToolOutput> run(const Json& arguments, const std::string& run_id) override {
    return run_with_credential(arguments, run_id, {});
  }

  Result<ToolOutput> run_with_credential(const Json& arguments, const std::string&, std::string_view credential) override {
    auto prepared = CORDON_TRY(prepare(arguments));
    const HttpHostConfig& host = *prepared.host;
    ipc::HttpsClientOptions options;
    options.host = prepared.url.host;
    options.port = prepared.url.port;
    options.ca_file = host.ca_file;
    options.client.timeout = std::chrono::milliseconds(15'000);
    options.client.max_response_bytes = m_max_response_bytes;
    auto client = CORDON_TRY(ipc::HttpsClient::create(options));
    ipc::ClientRequest request = std::move(prepared.request);
    if (!host.credential.empty()) {
      if (credential.empty()) return fail(Errc::permission_denied, "no credential was leased for " + host.host);
      request.headers.push_back({host.credential_header, host.credential_prefix + std::string(credential)});
    }
    auto response = client.request(request);
    for (auto& header : request.headers) std::fill(header.value.begin(), header.value.end(), '\0');
    if (!response) {
      if (response.error().code == Errc::too_large) {
        return fail(Errc::too_large, "the response is larger than " + std::to_string(m_max_response_bytes) + " bytes");
      }
      return fail(response.error().code, prepared.url.host + " cannot be reached: " + response.error().message);
    }
    ToolOutput out;
    out.untrusted = true;
    const bool text = !utf8_first_invalid(response->body);
    out.text = text ? response->body : "(a binary body of " + std::to_string(response->body.size()) + " bytes, not shown)";
    out.structured = {{"status", response->status}, {"content_type", response->content_type},
                      {"bytes", response->body.size()}, {"text", text}};
    out.audit = {{"method", request.method == ipc::Method::get ? "GET" : std::string(ipc::method_name(request.method))},
                 {"host", prepared.url.host}, {"port", prepared.url.port}, {"status", response->status},
                 {"bytes", response->body.size()}, {"credential", host.credential}};
    return out;
  }

  Result<ToolOutput> simulate(const Json& arguments, const std::string&) override {
    auto prepared = CORDON_TRY(prepare(arguments));
    const std::string method(ipc::method_name(prepared.request.method));
    ToolOutput out;
    out.text = "dry run: would send " + method + " https://" + prepared.url.host + ":" +
               std::to_string(prepared.url.port) + prepared.url.target;
    out.structured = {{"method", method}, {"host", prepared.url.host}, {"port", prepared.url.port},
                      {"target", prepared.url.target}, {"dry_run", true}};
    out.audit = out.structured;
    return out;
  }

private:
  struct Prepared {
    HttpsUrl url;
    const HttpHostConfig* host = nullptr;
    ipc::ClientRequest request;
  };

  Result<Prepared> prepare(const Json& arguments) const {
    Prepared prepared;
    prepared.url = CORDON_TRY(parse_https_url(arguments["url"].get<std::string>()));
    for (const auto& host : m_hosts) {
      if (host.host == prepared.url.host && host.port == prepared.url.port) prepared.host = &host;
    }
    if (prepared.host == nullptr) {
      return fail(Errc::permission_denied, prepared.url.host + ":" + std::to_string(prepared.url.port) +
                                               " is not on agentd's allow-list");
    }
    const std::string method = arguments.value("method", "GET");
    prepared.request.method = ipc::method_from_name(method);
    prepared.request.target = prepared.url.target;
    if (arguments.contains("body")) prepared.request.body = arguments["body"].get<std::string>();
    if (arguments.contains("headers")) {
      for (const auto& [name, value] : arguments["headers"].items()) {
        if (!ipc::is_valid_header_name(name) || !ipc::is_valid_header_value(value.get<std::string>())) {
          return fail(Errc::invalid_argument, "header " + name.substr(0, 64) + " is not a valid header field");
        }
        if (reserved_header(name, prepared.host)) {
          return fail(Errc::permission_denied, "header " + name.substr(0, 64) + " is set by agentd, not by the agent");
        }
        if (lowercase(name) == "content-type") {
          prepared.request.content_type = value.get<std::string>();
        } else {
          prepared.request.headers.push_back({name, value.get<std::string>()});
        }
      }
    }
    return prepared;
  }

  const std::vector<HttpHostConfig>& m_hosts;
  std::size_t m_max_response_bytes;
  const tools::ToolSpec& m_spec;
};

} // namespace

Result<HttpsUrl> parse_https_url(std::string_view url) {
  constexpr std::string_view scheme = "https://";
  if (url.size() < scheme.size() || lowercase(url.substr(0, scheme.size())) != scheme) {
    return fail(Errc::invalid_argument, "url must start with https://");
  }
  std::string_view rest = url.substr(scheme.size());
  const std::size_t end = std::min(rest.find_first_of("/?#"), rest.size());
  const std::string_view authority = rest.substr(0, end);
  std::string_view target = rest.substr(end);
  if (authority.find_first_of("@\\[] ") != std::string_view::npos) {
    return fail(Errc::invalid_argument, "url must not carry userinfo or odd characters in its host");
  }
  HttpsUrl out;
  const std::size_t colon = authority.rfind(':');
  std::string_view host = authority.substr(0, colon);
  if (colon != std::string_view::npos) {
    const std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    const auto [ptr, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || error != std::errc{} || ptr != port.data() + port.size() || value == 0 || value > 65535) {
      return fail(Errc::invalid_argument, "url has a bad port");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  out.host = lowercase(host);
  while (!out.host.empty() && out.host.back() == '.') out.host.pop_back();
  if (out.host.empty() || out.host.size() > 253 ||
      out.host.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != std::string::npos) {
    return fail(Errc::invalid_argument, "url has no valid host");
  }
  if (target.find('#') != std::string_view::npos) return fail(Errc::invalid_argument, "url must not have a fragment");
  for (const char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return fail(Errc::invalid_argument, "url's path and query must be printable ASCII without spaces");
    }
  }
  out.target = target.empty() ? "/" : (target.front() == '?' ? "/" + std::string(target) : std::string(target));
  return out;
}

std::unique_ptr<Tool> make_http_request(const std::vector<HttpHostConfig>& hosts, std::size_t max_response_bytes) {
  return std::make_unique<HttpRequest>(hosts, max_response_bytes);
}

} // namespace cordon::agentd
