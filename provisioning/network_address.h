#pragma once

#include <string>
#include <string_view>

// The address and name forms a bundle may give: numeric addresses for systemd's IP allow-lists,
// host names and addresses for URLs and the TLS certificate.
namespace cordon::provisioning {

// An IPv4 or IPv6 address literal as inet_pton(3) reads it: no brackets, no zone, no prefix.
bool is_ip_address(std::string_view text);
bool is_ipv6_address(std::string_view text);

// An address or a CIDR block ("10.0.0.5", "10.0.0.0/24", "2001:db8::/32"): the numeric forms of
// systemd's IPAddressAllow=. Its symbolic names ("any", "localhost") are refused, since an
// allow-list built from a bundle should say exactly which addresses it opens.
bool is_address_or_prefix(std::string_view text);

// A DNS host name: labels of [a-z0-9-] (1..63 bytes, not starting or ending with '-') joined by
// dots, 253 bytes at most. Lowercase only, so that one name has one spelling in the certificate,
// the URLs and agentd's allow-list.
bool is_dns_name(std::string_view text);

// A DNS host name or an IP address literal.
bool is_host(std::string_view text);

// The host as it stands in a URL: an IPv6 address in brackets, anything else as it is.
std::string url_host(std::string_view host);

} // namespace cordon::provisioning
