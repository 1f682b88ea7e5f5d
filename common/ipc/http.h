#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/ipc/problem.h"
#include "common/json.h"

// The HTTP messages handlers see. Transport-neutral: no Beast types here, so logic and route code
// compile without Asio.
namespace cordon::ipc {

enum class Method { get, head, post, put, patch, delete_, options, other };

// "GET", "POST", ...; "OTHER" for Method::other.
std::string_view method_name(Method method);
// Case-sensitive, as RFC 9110 defines method names; Method::other for anything unknown.
Method method_from_name(std::string_view name);

struct Header {
  std::string name;
  std::string value;
};

// Header fields in arrival order. Lookups are ASCII case-insensitive. clear() keeps the storage
// of the strings, so a connection reusing one list does not allocate for every request.
class HeaderList {
public:
  // The first field named `name`, nullopt when absent.
  std::optional<std::string_view> find(std::string_view name) const;
  // The first field named `name`, "" when absent.
  std::string_view get(std::string_view name) const;
  void add(std::string_view name, std::string_view value);
  void clear() { m_size = 0; }
  std::size_t size() const { return m_size; }
  bool empty() const { return m_size == 0; }
  const Header* begin() const { return m_fields.data(); }
  const Header* end() const { return m_fields.data() + m_size; }

private:
  std::vector<Header> m_fields;
  std::size_t m_size = 0;
};

// Percent-decoded query parameters. A parameter given twice makes the request invalid (400):
// whichever copy a handler picked, another component might pick the other.
using QueryMap = std::map<std::string, std::string, std::less<>>;

struct Request {
  Method method = Method::get;
  std::string method_text; // as sent, e.g. "GET"; useful when method == Method::other
  std::string target;      // as sent: "/v1/events?from=3&kind=tool.executed"
  std::string path;        // percent-decoded path without the query: "/v1/events"
  QueryMap query;          // percent-decoded; '+' stands for a space
  HeaderList headers;
  std::string body;

  std::string_view header(std::string_view name) const { return headers.get(name); }
  std::string_view content_type() const { return headers.get("content-type"); }
  std::string_view authorization() const { return headers.get("authorization"); }
  std::optional<std::string_view> query_param(std::string_view name) const;
};

// Splits an origin-form request target ("/path?query") into a percent-decoded path and query.
// Fails with Errc::invalid_argument for anything else: a target not starting with '/', a raw
// control character, a bad percent escape, an encoded '/' or NUL in the path, a "." or ".." path
// segment, a fragment, or a repeated query parameter. `path` and `query` are overwritten.
Result<void> parse_target(std::string_view target, std::string& path, QueryMap& query);

// Decodes %XX escapes (and '+' as a space when `plus_is_space`); fails on a malformed escape.
Result<std::string> percent_decode(std::string_view text, bool plus_is_space);

struct Response {
  int status = 200;
  std::string content_type; // omitted from the wire when empty
  std::string body;
  // Further header fields. Servers write Content-Type, Content-Length and Connection
  // themselves; a name or value with CR, LF or NUL makes the server answer 500 instead. On the
  // client side this holds every received field except Content-Type.
  std::vector<Header> headers;

  // The first extra field named `name` (case-insensitive), "" when absent.
  std::string_view header(std::string_view name) const;
};

// `body` serialised as JSON (invalid UTF-8 in strings is replaced, never thrown on).
Response json_response(int status, const Json& body);

Response text_response(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");

// RFC 9457 problem details, `application/problem+json`:
//   {"type": "https://cordon.dev/problems/<errc_name>", "title": "...", "status": N,
//    "detail": error.message}
// with the status from http_status(error.code). Error messages never hold secrets
// (common/error.h), so the detail is safe to send.
Response problem_response(const Error& error);
// The same with an explicit status, for the few statuses no Errc maps to (431, 400 for a
// malformed message).
Response problem_response(int status, Errc code, std::string_view detail);

// The standard reason phrase ("Not Found"); "Unknown" for codes it does not know.
std::string_view reason_phrase(int status);

// True for a field name made of RFC 9110 token characters.
bool is_valid_header_name(std::string_view name);
// True for a field value with no CR, LF or NUL (the characters that would split a message).
bool is_valid_header_value(std::string_view value);

// ASCII case-insensitive equality, as header names compare.
bool equals_ignore_case(std::string_view a, std::string_view b);

} // namespace cordon::ipc
