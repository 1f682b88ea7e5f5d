#include "provisioning/network_address.h"

#include <arpa/inet.h>

namespace cordon::provisioning {
namespace {

bool parses_as(int family, std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return false;
  const std::string copy(text);
  unsigned char buffer[sizeof(in6_addr)];
  return ::inet_pton(family, copy.c_str(), buffer) == 1;
}

bool is_label(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
  return label.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string_view::npos;
}

} // namespace

bool is_ipv6_address(std::string_view text) { return parses_as(AF_INET6, text); }

bool is_ip_address(std::string_view text) { return parses_as(AF_INET, text) || parses_as(AF_INET6, text); }

bool is_address_or_prefix(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return is_ip_address(text);
  const std::string_view address = text.substr(0, slash);
  const std::string_view length = text.substr(slash + 1);
  if (length.empty() || length.size() > 3 || length.find_first_not_of("0123456789") != std::string_view::npos)
    return false;
  const int bits = std::stoi(std::string(length));
  if (parses_as(AF_INET, address)) return bits <= 32;
  if (parses_as(AF_INET6, address)) return bits <= 128;
  return false;
}

bool is_dns_name(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  // A name of digits and dots only would read as an (invalid) IPv4 address to most parsers.
  if (text.find_first_not_of("0123456789.") == std::string_view::npos) return false;
  std::size_t start = 0;
  while (true) {
    const auto dot = text.find('.', start);
    if (!is_label(text.substr(start, dot == std::string_view::npos ? dot : dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_host(std::string_view text) { return is_dns_name(text) || is_ip_address(text); }

std::string url_host(std::string_view host) {
  if (is_ipv6_address(host)) return "[" + std::string(host) + "]";
  return std::string(host);
}

} // namespace cordon::provisioning
