#include "common/ipc/http.h"

namespace cordon::ipc {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
  case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
  case '.': case '^': case '_': case '`': case '|': case '~': return true;
  default: return false;
  }
}

Result<void> invalid_target(std::string_view why) {
  return fail(Errc::invalid_argument, "invalid request target: " + std::string(why));
}

Result<void> parse_path(std::string_view raw, std::string& path) {
  path.clear();
  path.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      bool complete = i + 2 < raw.size();
      int high = complete ? hex_value(raw[i + 1]) : -1;
      int low = complete ? hex_value(raw[i + 2]) : -1;
      if (high < 0 || low < 0) return invalid_target("malformed percent escape in path");
      char decoded = static_cast<char>(high * 16 + low);
      if (decoded == '/' || decoded == '\0') {
        return invalid_target("encoded '/' or NUL in path");
      }
      path += decoded;
      i += 2;
    } else {
      path += c;
    }
  }
  // Segments are checked after decoding, so "%2e%2e" is caught as well as "..".
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string_view segment(path.data() + start, end - start);
    if (segment == "." || segment == "..") return invalid_target("dot segment in path");
    start = end + 1;
  }
  return ok();
}

Result<void> parse_query(std::string_view raw, QueryMap& query) {
  query.clear();
  std::size_t start = 0;
  while (start <= raw.size()) {
    std::size_t end = raw.find('&', start);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view pair = raw.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    std::size_t equals = pair.find('=');
    std::string_view raw_key = pair.substr(0, equals);
    std::string_view raw_value =
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    auto key = percent_decode(raw_key, true);
    auto value = percent_decode(raw_value, true);
    if (!key || !value) return invalid_target("malformed percent escape in query");
    if (key->empty()) return invalid_target("empty query parameter name");
    std::string name = *key;
    auto [position, inserted] = query.emplace(std::move(*key), std::move(*value));
    (void)position;
    if (!inserted) return invalid_target("query parameter \"" + name + "\" given twice");
  }
  return ok();
}

} // namespace

std::string_view method_name(Method method) {
  switch (method) {
  case Method::get: return "GET";
  case Method::head: return "HEAD";
  case Method::post: return "POST";
  case Method::put: return "PUT";
  case Method::patch: return "PATCH";
  case Method::delete_: return "DELETE";
  case Method::options: return "OPTIONS";
  case Method::other: return "OTHER";
  }
  return "OTHER";
}

Method method_from_name(std::string_view name) {
  if (name == "GET") return Method::get;
  if (name == "POST") return Method::post;
  if (name == "HEAD") return Method::head;
  if (name == "PUT") return Method::put;
  if (name == "PATCH") return Method::patch;
  if (name == "DELETE") return Method::delete_;
  if (name == "OPTIONS") return Method::options;
  return Method::other;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string_view> HeaderList::find(std::string_view name) const {
  for (const Header& field : *this) {
    if (equals_ignore_case(field.name, name)) return std::string_view(field.value);
  }
  return std::nullopt;
}

std::string_view HeaderList::get(std::string_view name) const {
  return find(name).value_or(std::string_view());
}

void HeaderList::add(std::string_view name, std::string_view value) {
  if (m_size == m_fields.size()) m_fields.emplace_back();
  Header& field = m_fields[m_size++];
  field.name.assign(name);
  field.value.assign(value);
}

std::optional<std::string_view> Request::query_param(std::string_view name) const {
  auto found = query.find(name);
  if (found == query.end()) return std::nullopt;
  return std::string_view(found->second);
}

Result<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      bool complete = i + 2 < text.size();
      int high = complete ? hex_value(text[i + 1]) : -1;
      int low = complete ? hex_value(text[i + 2]) : -1;
      if (high < 0 || low < 0) return fail(Errc::invalid_argument, "malformed percent escape");
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

Result<void> parse_target(std::string_view target, std::string& path, QueryMap& query) {
  if (target.empty() || target.front() != '/') return invalid_target("not in origin form");
  // RFC 3986 has no raw control characters; encoded, a NUL is refused below, so raw ones are too.
  for (const char c : target) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return invalid_target("control character");
  }
  if (target.find('#') != std::string_view::npos) return invalid_target("fragment in target");
  std::size_t question = target.find('?');
  CORDON_TRY_VOID(parse_path(target.substr(0, question), path));
  if (question == std::string_view::npos) {
    query.clear();
    return ok();
  }
  return parse_query(target.substr(question + 1), query);
}

std::string_view Response::header(std::string_view name) const {
  for (const Header& field : headers) {
    if (equals_ignore_case(field.name, name)) return field.value;
  }
  return {};
}

Response json_response(int status, const Json& body) {
  Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return response;
}

Response text_response(int status, std::string body, std::string content_type) {
  Response response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  return response;
}

Response problem_response(const Error& error) {
  return problem_response(http_status(error.code), error.code, error.message);
}

Response problem_response(int status, Errc code, std::string_view detail) {
  Json problem = {
      {"type", problem_type(code)},
      {"title", problem_title(code)},
      {"status", status},
      {"detail", detail},
  };
  Response response = json_response(status, problem);
  response.content_type = "application/problem+json";
  return response;
}

std::string_view reason_phrase(int status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 406: return "Not Acceptable";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 411: return "Length Required";
  case 412: return "Precondition Failed";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 416: return "Range Not Satisfiable";
  case 422: return "Unprocessable Content";
  case 425: return "Too Early";
  case 428: return "Precondition Required";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return "Unknown";
  }
}

bool is_valid_header_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

bool is_valid_header_value(std::string_view value) {
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

} // namespace cordon::ipc
