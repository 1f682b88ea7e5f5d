#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agentd/agentd_config.h"
#include "agentd/tools/tool.h"

namespace cordon::agentd {

// An https:// URL as http.request accepts it.
struct HttpsUrl {
  std::string host;   // lowercase
  std::uint16_t port = 443;
  std::string target; // origin form: "/path?query"
};

// Reads `url` strictly: scheme https (any case), no userinfo, a host of [a-z0-9.-] (case
// folded) or an IPv4 address, an optional port, a path and query of printable ASCII without
// spaces, no fragment. Errc::invalid_argument naming what is wrong.
Result<HttpsUrl> parse_https_url(std::string_view url);

// http.request: HTTPS (TLS 1.3, the host's configured CA bundle) to hosts on the allow-list
// only, with at most max_response_bytes of response. Agent headers may not set framing
// (Host, Content-Length, Transfer-Encoding, Connection) or credentials (Authorization,
// Proxy-Authorization, Cookie, the host's credential header): a host's credential is leased
// from secretsd by agentd and injected here, never seen by the agent. The response is untrusted.
std::unique_ptr<Tool> make_http_request(const std::vector<HttpHostConfig>& hosts, std::size_t max_response_bytes);

} // namespace cordon::agentd
