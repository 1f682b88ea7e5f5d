#include "auditd/ledger/event.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <concepts>
#include <cstring>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/detail/json_scan.h"
#include "common/encoding.h"
#include "common/utf8.h"

namespace cordon::ledger {
namespace {

// Room kept in every prepared event for the decimal index, so that the size bound holds for
// any index the commit thread assigns.
constexpr std::size_t max_index_digits = 20;
constexpr std::size_t fixed_leaf_bytes = max_index_digits + 64 + event_time_bytes + 2; // + "}

constexpr std::string_view hmac_prefix = "hmac-sha256:";

tl::unexpected<Error> invalid(std::string message) {
  return fail(Errc::invalid_argument, std::move(message));
}

Result<ActorType> actor_type_from_name(std::string_view name) {
  if (name == "agent") return ActorType::agent;
  if (name == "human") return ActorType::human;
  if (name == "system") return ActorType::system;
  return invalid("actor.type must be \"agent\", \"human\" or \"system\"");
}

// --- reading requests ----------------------------------------------------------------------
//
// A request is validated once, by the templates below, whether it was read as an nlohmann tree
// (prepare_event(const Json&)) or as a JsonDocument (prepare_event(JsonValue)). They see a
// value through a handle, `const Json*` or JsonValue (or `Json*` for the copy of data the
// nlohmann path rewrites), and these overloads.

template <class T>
concept RequestValue = std::same_as<T, const Json*> || std::same_as<T, Json*> || std::same_as<T, JsonValue>;

bool is_object(const Json* value) { return value->is_object(); }
bool is_array(const Json* value) { return value->is_array(); }
bool is_string(const Json* value) { return value->is_string(); }
bool is_null(const Json* value) { return value->is_null(); }
std::string_view string_of(const Json* value) { return value->get_ref<const std::string&>(); }
std::size_t size_of(const Json* value) { return value->size(); }

template <class J>
std::optional<J*> member(J* object, std::string_view name) {
  const auto it = object->find(name);
  if (it == object->end()) return std::nullopt;
  return &*it;
}

template <class J>
std::optional<J*> element(J* array, std::size_t index) {
  return &(*array)[index];
}

template <class Visit>
Result<void> for_each_element(const Json* array, Visit&& visit) {
  std::size_t index = 0;
  for (const Json& value : *array) CORDON_TRY_VOID(visit(&value, index++));
  return ok();
}

Result<void> known_fields(const Json* object, std::initializer_list<std::string_view> allowed) {
  return require_known_fields(*object, allowed);
}

bool is_object(JsonValue value) { return value.is_object(); }
bool is_array(JsonValue value) { return value.is_array(); }
bool is_string(JsonValue value) { return value.is_string(); }
bool is_null(JsonValue value) { return value.is_null(); }
std::string_view string_of(JsonValue value) { return value.string(); }
std::size_t size_of(JsonValue value) { return value.size(); }
std::optional<JsonValue> member(JsonValue object, std::string_view name) { return object.find(name); }
std::optional<JsonValue> element(JsonValue array, std::size_t index) { return array.at(index); }

template <class Visit>
Result<void> for_each_element(JsonValue array, Visit&& visit) {
  std::size_t index = 0;
  for (const JsonValue value : array.elements()) CORDON_TRY_VOID(visit(value, index++));
  return ok();
}

Result<void> known_fields(JsonValue object, std::initializer_list<std::string_view> allowed) {
  return require_known_fields(object, allowed);
}

// A string member that must be present, non-empty and at most max_bytes long.
template <RequestValue Value>
Result<std::string_view> required_string(Value object, std::string_view name, std::string_view label,
                                         std::size_t max_bytes) {
  const auto found = member(object, name);
  if (!found) return invalid(std::string(label) + " is required");
  if (!is_string(*found)) return invalid(std::string(label) + " must be a string");
  const std::string_view value = string_of(*found);
  if (value.empty()) return invalid(std::string(label) + " must not be empty");
  if (value.size() > max_bytes) {
    return invalid(std::string(label) + " is longer than " + std::to_string(max_bytes) + " bytes");
  }
  return value;
}

Result<void> check_context_string(std::string_view value, std::string_view label,
                                  std::size_t max_bytes) {
  if (value.empty() || value.size() > max_bytes) {
    return fail(Errc::internal, std::string(label) + " must be 1.." + std::to_string(max_bytes) +
                                    " bytes");
  }
  return ok();
}

// Unescapes one RFC 6901 reference token: "~1" is '/', "~0" is '~', any other '~' is an error.
Result<std::string> unescape_pointer_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] != '~') {
      out.push_back(token[i]);
      continue;
    }
    if (i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
      out.push_back(token[i + 1] == '0' ? '~' : '/');
      ++i;
      continue;
    }
    return invalid("'~' in a JSON pointer must be followed by 0 or 1");
  }
  return out;
}

// Resolves an RFC 6901 pointer inside `root`. Array elements are named by decimal indexes
// without leading zeros; "-" (past the end) names nothing.
template <RequestValue Value>
Result<Value> resolve_pointer(Value root, std::string_view pointer) {
  if (pointer.empty()) return invalid("sensitive pointer \"\" names all of data, not a string");
  if (pointer.front() != '/') return invalid("a sensitive pointer must start with '/'");
  Value node = root;
  std::size_t position = 1;
  for (;;) {
    std::size_t end = pointer.find('/', position);
    if (end == std::string_view::npos) end = pointer.size();
    const std::string token = CORDON_TRY(unescape_pointer_token(pointer.substr(position, end - position)));
    if (is_object(node)) {
      const auto found = member(node, token);
      if (!found) return invalid("sensitive pointer names no member of data");
      node = *found;
    } else if (is_array(node)) {
      const bool digits = !token.empty() && std::all_of(token.begin(), token.end(), [](char c) {
        return c >= '0' && c <= '9';
      });
      if (!digits || (token.size() > 1 && token[0] == '0')) {
        return invalid("sensitive pointer has a bad array index");
      }
      std::size_t index = 0;
      const auto parsed = std::from_chars(token.data(), token.data() + token.size(), index);
      if (parsed.ec != std::errc() || index >= size_of(node)) {
        return invalid("sensitive pointer names no element of data");
      }
      node = *element(node, index);
    } else {
      return invalid("sensitive pointer goes through a value that is not an object or array");
    }
    if (end == pointer.size()) return node;
    position = end + 1;
  }
}

// A string of data named by `sensitive`, and what the ledger stores instead.
template <class Value>
struct SensitiveValue {
  Value target;
  std::string replacement;
};

// Locates the strings named by `pointers` in `data` and computes their salted HMAC. Distinct
// valid pointers name distinct values, so resolving them all before replacing any is the same
// as replacing one by one.
template <RequestValue Value, RequestValue Pointers>
Result<std::vector<SensitiveValue<Value>>> sensitive_values(Value data, Pointers pointers,
                                                            std::span<const std::uint8_t> salt) {
  if (!is_array(pointers)) return invalid("sensitive must be an array of JSON pointers");
  if (size_of(pointers) > max_sensitive_pointers) {
    return invalid("sensitive lists more than " + std::to_string(max_sensitive_pointers) +
                   " pointers");
  }
  if (size_of(pointers) != 0 && salt.empty()) {
    return fail(Errc::internal, "no tenant salt is configured for sensitive values");
  }
  std::vector<std::string_view> seen;
  std::vector<SensitiveValue<Value>> values;
  const auto add = [&](Pointers pointer, std::size_t) -> Result<void> {
    if (!is_string(pointer)) return invalid("sensitive must be an array of JSON pointers");
    const std::string_view text = string_of(pointer);
    if (std::find(seen.begin(), seen.end(), text) != seen.end()) {
      return invalid("sensitive lists a pointer twice");
    }
    seen.push_back(text);
    const Value target = CORDON_TRY(resolve_pointer(data, text));
    if (!is_string(target)) return invalid("a sensitive pointer must name a string value");
    const auto mac = crypto::hmac_sha256(salt, as_bytes(string_of(target)));
    values.push_back({target, std::string(hmac_prefix) + to_hex(mac)});
    return ok();
  };
  CORDON_TRY_VOID(for_each_element(pointers, add));
  return values;
}

// Appends the canonical form of data (or {} when absent) with its sensitive values replaced.
// The nlohmann path rewrites a copy of data; the JsonDocument path writes replacements in place.
Result<void> append_data(std::string& out, std::optional<const Json*> data,
                         std::optional<const Json*> sensitive, std::span<const std::uint8_t> salt) {
  static const Json empty_object = Json::object();
  const Json* source = data ? *data : &empty_object;
  Result<void> written;
  if (sensitive) {
    Json copy = *source;
    for (auto& value : CORDON_TRY(sensitive_values(&copy, *sensitive, salt))) {
      *value.target = std::move(value.replacement);
    }
    written = append_canonical_json(out, copy);
  } else {
    written = append_canonical_json(out, *source);
  }
  if (!written) return invalid("data cannot be written as canonical JSON: " + written.error().message);
  return ok();
}

Result<void> append_data(std::string& out, std::optional<JsonValue> data,
                         std::optional<JsonValue> sensitive, std::span<const std::uint8_t> salt) {
  static const JsonDocument empty_object = JsonDocument::parse("{}").value();
  const JsonValue source = data ? *data : empty_object.root();
  if (!sensitive) {
    append_canonical(out, source);
    return ok();
  }
  std::vector<JsonReplacement> replacements;
  for (auto& value : CORDON_TRY(sensitive_values(source, *sensitive, salt))) {
    replacements.push_back({value.target.id(), std::move(value.replacement)});
  }
  std::sort(replacements.begin(), replacements.end(),
            [](const JsonReplacement& a, const JsonReplacement& b) { return a.node < b.node; });
  append_canonical(out, source, replacements);
  return ok();
}

// The members after run_id, the same for every event of a request:
// ,"source":…,"tenant":…,"time":"
std::string context_members(const EventContext& context) {
  std::string out;
  out.reserve(32 + context.source.size() + context.tenant.size());
  out.append(",\"source\":");
  append_canonical_string(out, context.source);
  out.append(",\"tenant\":");
  append_canonical_string(out, context.tenant);
  out.append(",\"time\":\"");
  return out;
}

} // namespace

// Validates a request and writes its PreparedEvent.
class EventBuilder {
public:
  // `context_tail` is context_members(context).
  template <RequestValue Value>
  static Result<PreparedEvent> build(Value input, const EventContext& context, std::string_view context_tail);
};

namespace {

// --- reading leaves ------------------------------------------------------------------------

// A cursor over leaf bytes. Every check returns false and records a static message on the
// first mismatch, so the scan allocates nothing unless it fails.
class LeafScanner {
public:
  explicit LeafScanner(std::string_view text, std::size_t position = 0)
      : m_text(text), m_position(position) {}

  std::size_t position() const { return m_position; }
  bool at_end() const { return m_position == m_text.size(); }

  Error error() const {
    return Error{Errc::invalid_argument, std::string("malformed event: ") + m_error + " at byte " +
                                             std::to_string(m_position)};
  }

  // Consumes `literal` (a string literal, so the comparison is inlined) if it comes next.
  template <std::size_t N>
  bool consume(const char (&literal)[N]) {
    constexpr std::size_t length = N - 1;
    if (m_text.size() - m_position < length ||
        std::memcmp(m_text.data() + m_position, literal, length) != 0) {
      return false;
    }
    m_position += length;
    return true;
  }

  template <std::size_t N>
  bool expect(const char (&literal)[N], const char* what) {
    return consume(literal) || failed(what);
  }

  // A JSON string; `contents` receives the raw bytes between the quotes. Plain ASCII is skipped
  // eight bytes at a time; only quotes, backslashes, control characters and non-ASCII bytes
  // are looked at one by one.
  bool string(std::string_view& contents) {
    if (m_position >= m_text.size() || m_text[m_position] != '"') return failed("expected a string");
    const std::size_t start = ++m_position;
    const std::size_t size = m_text.size();
    const char* const data = m_text.data();
    std::size_t position = m_position;
    for (;;) {
      position = detail::skip_plain_string_bytes(m_text, position);
      if (position >= size) break;
      const auto c = static_cast<unsigned char>(data[position]);
      if (c == '"') {
        contents = m_text.substr(start, position - start);
        m_position = position + 1;
        return true;
      }
      m_position = position;
      if (c == '\\') {
        if (!escape()) return false;
        position = m_position;
        continue;
      }
      if (c < 0x20) return failed("control character in a string");
      const std::size_t length = utf8_sequence_length(m_text, position);
      if (length == 0) return failed("invalid UTF-8 in a string");
      position += length;
    }
    m_position = size;
    return failed("unterminated string");
  }

  // Any JSON value without whitespace, nested at most to max_leaf_depth.
  bool value(int depth) {
    if (m_position >= m_text.size()) return failed("expected a value");
    switch (m_text[m_position]) {
    case '{': return object(depth + 1);
    case '[': return array(depth + 1);
    case '"': {
      std::string_view ignored;
      return string(ignored);
    }
    case 't': return expect("true", "expected a value");
    case 'f': return expect("false", "expected a value");
    case 'n': return expect("null", "expected a value");
    default: return number();
    }
  }

  bool object(int depth) {
    if (depth > max_leaf_depth) return failed("nested too deeply");
    if (!expect("{", "expected an object")) return false;
    if (consume("}")) return true;
    for (;;) {
      std::string_view key;
      if (!string(key) || !expect(":", "expected ':'") || !value(depth)) return false;
      if (consume("}")) return true;
      if (!expect(",", "expected ',' or '}'")) return false;
    }
  }

  bool array(int depth) {
    if (depth > max_leaf_depth) return failed("nested too deeply");
    if (!expect("[", "expected an array")) return false;
    if (consume("]")) return true;
    for (;;) {
      if (!value(depth)) return false;
      if (consume("]")) return true;
      if (!expect(",", "expected ',' or ']'")) return false;
    }
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool number() {
    consume("-");
    if (consume("0")) {
    } else if (digit_here() && m_text[m_position] != '0') {
      skip_digits();
    } else {
      return failed("expected a value");
    }
    if (consume(".")) {
      if (!digit_here()) return failed("expected a digit");
      skip_digits();
    }
    if (consume("e") || consume("E")) {
      if (!consume("+")) consume("-");
      if (!digit_here()) return failed("expected a digit");
      skip_digits();
    }
    return true;
  }

  // A decimal uint64 without leading zeros.
  bool unsigned_integer(std::uint64_t& out) {
    const std::size_t start = m_position;
    skip_digits();
    const std::size_t length = m_position - start;
    if (length == 0) return failed("expected an index");
    if (length > 1 && m_text[start] == '0') return failed("index has a leading zero");
    const auto parsed = std::from_chars(m_text.data() + start, m_text.data() + m_position, out);
    if (parsed.ec != std::errc()) return failed("index out of range");
    return true;
  }

  // 64 lowercase hex digits, eight at a time: each byte is checked to be in '0'..'9' or
  // 'a'..'f' and turned into its value without a branch per digit.
  bool lowercase_hash(Hash& out) {
    if (m_text.size() - m_position < 64) return failed("prev is not 64 hex digits");
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    const char* digits = m_text.data() + m_position;
    bool valid = true;
    for (std::size_t word_index = 0; word_index < 8; ++word_index) {
      std::uint64_t word;
      std::memcpy(&word, digits + 8 * word_index, sizeof word);
      // Bytes below 0x80 never carry into their neighbours when 0x50 or less is added.
      const std::uint64_t at_least_0 = (word + ones * (0x80 - '0')) & highs;
      const std::uint64_t at_most_9 = ~(word + ones * (0x80 - '9' - 1)) & highs;
      const std::uint64_t at_least_a = (word + ones * (0x80 - 'a')) & highs;
      const std::uint64_t at_most_f = ~(word + ones * (0x80 - 'f' - 1)) & highs;
      const std::uint64_t hex = (at_least_0 & at_most_9) | (at_least_a & at_most_f);
      valid &= (word & highs) == 0 && hex == highs;
      // '0'..'9' are 0x30..0x39 and 'a'..'f' 0x61..0x66: the low nibble, plus 9 for letters.
      const std::uint64_t values = (word & (ones * 0x0f)) + 9 * ((word >> 6) & ones);
      const std::uint64_t pairs =
          ((values & 0x00ff00ff00ff00ffULL) << 4) | ((values >> 8) & 0x00ff00ff00ff00ffULL);
      for (std::size_t k = 0; k < 4; ++k) {
        out[4 * word_index + k] = static_cast<std::uint8_t>(pairs >> (16 * k));
      }
    }
    if (!valid) return failed("prev is not 64 lowercase hex digits");
    m_position += 64;
    return true;
  }

  bool failed(const char* message) {
    if (m_error == nullptr) m_error = message;
    return false;
  }

private:
  bool digit_here() const {
    return m_position < m_text.size() && m_text[m_position] >= '0' && m_text[m_position] <= '9';
  }
  void skip_digits() {
    while (digit_here()) ++m_position;
  }
  bool escape() {
    if (m_position + 1 >= m_text.size()) return failed("unterminated string");
    const char kind = m_text[m_position + 1];
    if (kind == 'u') {
      if (m_position + 6 > m_text.size()) return failed("bad \\u escape");
      for (std::size_t i = 2; i < 6; ++i) {
        const char c = m_text[m_position + i];
        const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex) return failed("bad \\u escape");
      }
      m_position += 6;
      return true;
    }
    if (std::string_view("\"\\/bfnrt").find(kind) == std::string_view::npos) {
      return failed("bad escape in a string");
    }
    m_position += 2;
    return true;
  }

  std::string_view m_text;
  std::size_t m_position;
  const char* m_error = nullptr;
};

bool two_digits_at_most(std::string_view text, std::size_t at, int low, int high) {
  const int value = (text[at] - '0') * 10 + (text[at + 1] - '0');
  return value >= low && value <= high;
}

// "YYYY-MM-DDTHH:MM:SS.ffffffZ" with plausible field ranges; parse_leaf checks the real date.
bool is_event_time_layout(std::string_view time) {
  static constexpr std::string_view layout = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (time.size() != layout.size()) return false;
  for (std::size_t i = 0; i < layout.size(); ++i) {
    if (layout[i] == 'd' ? (time[i] < '0' || time[i] > '9') : time[i] != layout[i]) return false;
  }
  return two_digits_at_most(time, 5, 1, 12) && two_digits_at_most(time, 8, 1, 31) &&
         two_digits_at_most(time, 11, 0, 23) && two_digits_at_most(time, 14, 0, 59) &&
         two_digits_at_most(time, 17, 0, 59);
}

// Parses `,"index":N,"kind":…,"time":"…"}` from the scanner's position to the end of the leaf.
Result<LeafFields> scan_tail(LeafScanner& scanner) {
  LeafFields fields;
  std::string_view run_id;
  const bool parsed =
      scanner.expect(",\"index\":", "expected \"index\"") && scanner.unsigned_integer(fields.index) &&
      scanner.expect(",\"kind\":", "expected \"kind\"") && scanner.string(fields.kind) &&
      (is_valid_kind(fields.kind) || scanner.failed("kind is not a dotted lowercase name")) &&
      scanner.expect(",\"prev\":\"", "expected \"prev\"") && scanner.lowercase_hash(fields.prev) &&
      scanner.expect("\",\"run_id\":", "expected \"run_id\"") &&
      (scanner.consume("null") || (scanner.string(run_id) && (fields.run_id = run_id, true))) &&
      scanner.expect(",\"source\":", "expected \"source\"") && scanner.string(fields.source) &&
      scanner.expect(",\"tenant\":", "expected \"tenant\"") && scanner.string(fields.tenant) &&
      scanner.expect(",\"time\":", "expected \"time\"") && scanner.string(fields.time) &&
      (is_event_time_layout(fields.time) || scanner.failed("time is not YYYY-MM-DDTHH:MM:SS.ffffffZ")) &&
      scanner.expect("}", "expected the end of the event") &&
      (scanner.at_end() || scanner.failed("trailing bytes after the event"));
  if (!parsed) return tl::unexpected<Error>(scanner.error());
  return fields;
}

// `{"actor":{"id":…,"type":"…"},"data":`, leaving the scanner at data's value.
bool scan_head(LeafScanner& scanner) {
  std::string_view actor_id;
  return scanner.expect("{\"actor\":{\"id\":", "expected {\"actor\":{\"id\":") &&
         scanner.string(actor_id) && (!actor_id.empty() || scanner.failed("actor.id is empty")) &&
         scanner.expect(",\"type\":\"", "expected actor.type") &&
         (scanner.consume("agent") || scanner.consume("human") || scanner.consume("system") ||
          scanner.failed("actor.type is not agent, human or system")) &&
         scanner.expect("\"},\"data\":", "expected \"data\"");
}

// The position of the last `,"index":` in the leaf. Only the few commas of the members after
// "index" are tried, walking back from the end.
std::size_t find_last_index_member(std::string_view leaf) {
  static constexpr char member[] = ",\"index\":";
  constexpr std::size_t length = sizeof member - 1;
  std::size_t end = leaf.size();
  while (end > 0) {
    const void* comma = ::memrchr(leaf.data(), ',', end);
    if (comma == nullptr) return std::string_view::npos;
    const auto at = static_cast<std::size_t>(static_cast<const char*>(comma) - leaf.data());
    if (leaf.size() - at >= length && std::memcmp(leaf.data() + at, member, length) == 0) return at;
    end = at;
  }
  return std::string_view::npos;
}

Result<void> check_leaf_size(std::string_view leaf) {
  if (leaf.size() > max_leaf_bytes) {
    return fail(Errc::invalid_argument,
                "malformed event: longer than " + std::to_string(max_leaf_bytes) + " bytes");
  }
  return ok();
}

} // namespace

std::string_view actor_type_name(ActorType type) {
  switch (type) {
  case ActorType::agent: return "agent";
  case ActorType::human: return "human";
  case ActorType::system: return "system";
  }
  return "system";
}

bool is_valid_kind(std::string_view kind) {
  if (kind.empty() || kind.size() > max_kind_bytes) return false;
  std::size_t parts = 0;
  bool at_part_start = true;
  for (const char c : kind) {
    if (at_part_start) {
      if (c < 'a' || c > 'z') return false;
      at_part_start = false;
      ++parts;
    } else if (c == '.') {
      at_part_start = true;
    } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return !at_part_start && parts >= 2;
}

std::size_t PreparedEvent::max_leaf_size() const { return m_text.size() + fixed_leaf_bytes; }

void PreparedEvent::compose(std::string& out, std::uint64_t index, const Hash& prev,
                            std::string_view time) const {
  const std::string_view text = m_text;
  char digits[max_index_digits];
  const auto written = std::to_chars(digits, digits + sizeof digits, index);
  out.append(text.substr(0, m_middle));
  out.append(digits, written.ptr);
  out.append(text.substr(m_middle, m_tail - m_middle));
  const std::size_t at = out.size();
  out.resize(at + 64);
  hash_to_hex(prev, out.data() + at);
  out.append(text.substr(m_tail));
  out.append(time);
  out.append("\"}");
}

std::string PreparedEvent::compose(std::uint64_t index, const Hash& prev,
                                   std::string_view time) const {
  std::string out;
  out.reserve(max_leaf_size());
  compose(out, index, prev, time);
  return out;
}

template <RequestValue Value>
Result<PreparedEvent> EventBuilder::build(Value input, const EventContext& context,
                                          std::string_view context_tail) {
  if (!is_object(input)) return invalid("an event must be a JSON object");
  CORDON_TRY_VOID(known_fields(input, {"kind", "actor", "run_id", "data", "sensitive"}));
  CORDON_TRY_VOID(check_context_string(context.tenant, "tenant", max_tenant_bytes));
  CORDON_TRY_VOID(check_context_string(context.source, "source", max_source_bytes));

  const std::string_view kind = CORDON_TRY(required_string(input, "kind", "kind", max_kind_bytes));
  if (!is_valid_kind(kind)) {
    return invalid("kind must be a dotted lowercase name such as \"tool.executed\"");
  }

  const auto actor = member(input, "actor");
  if (!actor) return invalid("actor is required");
  if (!is_object(*actor)) return invalid("actor must be an object");
  CORDON_TRY_VOID(known_fields(*actor, {"type", "id"}));
  const std::string_view type_name = CORDON_TRY(required_string(*actor, "type", "actor.type", 16));
  const ActorType type = CORDON_TRY(actor_type_from_name(type_name));
  const std::string_view actor_id = CORDON_TRY(required_string(*actor, "id", "actor.id", max_actor_id_bytes));

  std::optional<std::string_view> run_id;
  if (const auto found = member(input, "run_id"); found && !is_null(*found)) {
    run_id = CORDON_TRY(required_string(input, "run_id", "run_id", max_run_id_bytes));
  }

  const auto data = member(input, "data");
  if (data && !is_object(*data)) return invalid("data must be an object");

  PreparedEvent event;
  std::string& text = event.m_text;
  // Enough for the members around data, and data of a typical event, in one allocation.
  text.reserve(512 + actor_id.size() + kind.size() + (run_id ? run_id->size() : 0) + context_tail.size());
  text.append("{\"actor\":{\"id\":");
  append_canonical_string(text, actor_id);
  text.append(",\"type\":\"");
  text.append(actor_type_name(type));
  text.append("\"},\"data\":");
  CORDON_TRY_VOID(append_data(text, data, member(input, "sensitive"), context.salt));
  text.append(",\"index\":");

  event.m_middle = text.size();
  text.append(",\"kind\":\"");
  text.append(kind);
  text.append("\",\"prev\":\"");

  event.m_tail = text.size();
  text.append("\",\"run_id\":");
  if (run_id) {
    append_canonical_string(text, *run_id);
  } else {
    text.append("null");
  }
  text.append(context_tail);

  if (event.max_leaf_size() > max_leaf_bytes) {
    return fail(Errc::too_large, "event is " + std::to_string(event.max_leaf_size()) +
                                     " bytes once stored; the limit is " +
                                     std::to_string(max_leaf_bytes));
  }
  return event;
}

namespace {

template <RequestValue Value>
Result<std::vector<PreparedEvent>> prepare_all(Value body, const EventContext& context,
                                               std::size_t max_events) {
  std::vector<PreparedEvent> events;
  const std::string context_tail = context_members(context);
  if (is_object(body)) {
    events.push_back(CORDON_TRY(EventBuilder::build(body, context, context_tail)));
    return events;
  }
  if (!is_array(body)) return invalid("the body must be an event object or an array of them");
  if (size_of(body) == 0) return invalid("the array of events is empty");
  if (size_of(body) > max_events) {
    return fail(Errc::too_large, "more than " + std::to_string(max_events) + " events in one request");
  }
  events.reserve(size_of(body));
  const auto add = [&](Value element, std::size_t index) -> Result<void> {
    auto event = EventBuilder::build(element, context, context_tail);
    if (!event) {
      return fail(event.error().code, "event " + std::to_string(index) + ": " + event.error().message);
    }
    events.push_back(std::move(*event));
    return ok();
  };
  CORDON_TRY_VOID(for_each_element(body, add));
  return events;
}

} // namespace

Result<PreparedEvent> prepare_event(const Json& input, const EventContext& context) {
  return EventBuilder::build(&input, context, context_members(context));
}

Result<PreparedEvent> prepare_event(JsonValue input, const EventContext& context) {
  return EventBuilder::build(input, context, context_members(context));
}

Result<std::vector<PreparedEvent>> prepare_events(const Json& body, const EventContext& context,
                                                  std::size_t max_events) {
  return prepare_all(&body, context, max_events);
}

Result<std::vector<PreparedEvent>> prepare_events(JsonValue body, const EventContext& context,
                                                  std::size_t max_events) {
  return prepare_all(body, context, max_events);
}

Result<LeafFields> extract_leaf_fields(std::string_view leaf) {
  CORDON_TRY_VOID(check_leaf_size(leaf));
  if (leaf.empty() || leaf.front() != '{') {
    return fail(Errc::invalid_argument, "malformed event: not a JSON object");
  }
  const std::size_t index_member = find_last_index_member(leaf);
  if (index_member == std::string_view::npos) {
    return fail(Errc::invalid_argument, "malformed event: no \"index\" member");
  }
  LeafScanner scanner(leaf, index_member);
  return scan_tail(scanner);
}

Result<LeafFields> check_leaf_layout(std::string_view leaf) {
  CORDON_TRY_VOID(check_leaf_size(leaf));
  LeafScanner scanner(leaf);
  if (!scan_head(scanner)) return tl::unexpected<Error>(scanner.error());
  const std::size_t data_start = scanner.position();
  const std::size_t index_member = find_last_index_member(leaf);
  if (index_member == std::string_view::npos || index_member <= data_start ||
      leaf[data_start] != '{' || leaf[index_member - 1] != '}') {
    return fail(Errc::invalid_argument, "malformed event: data is not an object before \"index\"");
  }
  LeafScanner tail(leaf, index_member);
  return scan_tail(tail);
}

Result<LeafFields> check_leaf(std::string_view leaf) {
  CORDON_TRY_VOID(check_leaf_size(leaf));
  LeafScanner scanner(leaf);
  if (!scan_head(scanner) || !scanner.object(2)) return tl::unexpected<Error>(scanner.error());
  return scan_tail(scanner);
}

Result<Event> parse_leaf(std::string_view leaf) {
  CORDON_TRY_VOID(check_leaf_size(leaf));
  auto parsed = parse_json(leaf, JsonLimits{.max_bytes = max_leaf_bytes, .max_depth = max_leaf_depth});
  if (!parsed) {
    return fail(Errc::invalid_argument, "malformed event: " + parsed.error().message);
  }
  const Json& json = *parsed;
  if (!json.is_object()) return invalid("malformed event: not a JSON object");
  static constexpr const char* members[] = {"actor", "data",   "index",  "kind", "prev",
                                            "run_id", "source", "tenant", "time"};
  for (const char* member : members) {
    if (!json.contains(member)) return invalid(std::string("malformed event: no \"") + member + "\"");
  }
  if (json.size() != std::size(members)) return invalid("malformed event: unexpected members");

  Event event;
  const Json& actor = json["actor"];
  if (!actor.is_object() || actor.size() != 2) {
    return invalid("malformed event: actor must be {\"id\", \"type\"}");
  }
  const auto type_name = CORDON_TRY(required_string(&actor, "type", "actor.type", 16));
  event.actor.type = CORDON_TRY(actor_type_from_name(type_name));
  event.actor.id = CORDON_TRY(required_string(&actor, "id", "actor.id", max_actor_id_bytes));

  if (!json["data"].is_object()) return invalid("malformed event: data must be an object");
  event.data = json["data"];

  if (!json["index"].is_number_unsigned()) {
    return invalid("malformed event: index must be a non-negative integer");
  }
  event.index = json["index"].get<std::uint64_t>();

  event.kind = CORDON_TRY(required_string(&json, "kind", "kind", max_kind_bytes));
  if (!is_valid_kind(event.kind)) return invalid("malformed event: kind is not a dotted lowercase name");

  if (!json["prev"].is_string()) return invalid("malformed event: prev must be a string");
  auto prev = hash_from_hex(json["prev"].get_ref<const std::string&>());
  if (!prev) return invalid("malformed event: prev must be 64 lowercase hex digits");
  event.prev = *prev;

  if (!json["run_id"].is_null()) {
    event.run_id = std::string(CORDON_TRY(required_string(&json, "run_id", "run_id", max_run_id_bytes)));
  }
  event.source = CORDON_TRY(required_string(&json, "source", "source", max_source_bytes));
  event.tenant = CORDON_TRY(required_string(&json, "tenant", "tenant", max_tenant_bytes));

  event.time = CORDON_TRY(required_string(&json, "time", "time", event_time_bytes));
  const auto instant = parse_rfc3339(event.time);
  if (!is_event_time_layout(event.time) || !instant ||
      format_rfc3339_micros(*instant) != event.time) {
    return invalid("malformed event: time must be RFC 3339 UTC with six fraction digits");
  }

  auto canonical = canonical_json(json);
  if (!canonical || *canonical != leaf) {
    return invalid("malformed event: the bytes are not the canonical JSON of the event");
  }
  return event;
}

} // namespace cordon::ledger
