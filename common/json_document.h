#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/json.h"

// A read-only JSON document for hot request paths. parse_json builds an nlohmann tree, one
// allocation per value and a std::map per object; JsonDocument parses the same text into one
// array of nodes in document order and keeps strings as views of the input, so parsing a request
// costs a few allocations whatever its size.
namespace cordon {

enum class JsonType : std::uint8_t {
  null,
  boolean,
  integer,          // a literal without fraction or exponent that is negative and fits int64
  unsigned_integer, // one that is non-negative and fits uint64
  floating,         // any other number: with fraction or exponent, or too large for the above
  string,
  array,
  object,
};

class JsonDocument;
class JsonValue;
struct JsonMember;
class CanonicalDocumentWriter;

// Iterates the children of one container in document order. An object yields JsonMember, an
// array JsonValue.
template <class Item>
class JsonChildIterator {
public:
  using iterator_category = std::input_iterator_tag; // yields values, not references
  using iterator_concept = std::forward_iterator_tag;
  using value_type = Item;
  using difference_type = std::ptrdiff_t;
  using pointer = void;
  using reference = Item;

  JsonChildIterator() = default;
  JsonChildIterator(const JsonDocument* document, std::size_t node) : m_document(document), m_node(node) {}

  Item operator*() const;
  JsonChildIterator& operator++();
  JsonChildIterator operator++(int) {
    JsonChildIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(const JsonChildIterator& other) const { return m_node == other.m_node; }

private:
  const JsonDocument* m_document = nullptr;
  std::size_t m_node = 0; // an element, or a member's key
};

template <class Item>
class JsonChildRange {
public:
  JsonChildRange(JsonChildIterator<Item> begin, JsonChildIterator<Item> end) : m_begin(begin), m_end(end) {}
  JsonChildIterator<Item> begin() const { return m_begin; }
  JsonChildIterator<Item> end() const { return m_end; }

private:
  JsonChildIterator<Item> m_begin;
  JsonChildIterator<Item> m_end;
};

// One value of a JsonDocument: a handle, cheap to copy, valid while the document lives (and
// stays where it is). The
// accessors for one type (boolean(), string(), …) abort when called on a value of another type:
// that is a bug in the caller, never a property of the input.
class JsonValue {
public:
  JsonType type() const;
  bool is_null() const { return type() == JsonType::null; }
  bool is_boolean() const { return type() == JsonType::boolean; }
  bool is_number() const;
  bool is_string() const { return type() == JsonType::string; }
  bool is_array() const { return type() == JsonType::array; }
  bool is_object() const { return type() == JsonType::object; }

  bool boolean() const;
  std::int64_t integer() const;
  std::uint64_t unsigned_integer() const;
  double floating() const;
  // The decoded text (escapes resolved); always UTF-8.
  std::string_view string() const;

  // The number of members of an object or elements of an array; 0 for any other value.
  std::size_t size() const;
  bool empty() const { return size() == 0; }

  // The member named `key` of an object; nullopt if there is none or this is not an object.
  // Linear in the number of members.
  std::optional<JsonValue> find(std::string_view key) const;
  // Element `index` of an array; nullopt if out of range or this is not an array. Linear in
  // `index`.
  std::optional<JsonValue> at(std::size_t index) const;

  // An object's members and an array's elements in document order; empty for other types.
  JsonChildRange<JsonMember> members() const;
  JsonChildRange<JsonValue> elements() const;

  // Identifies this value within its document (see JsonReplacement). Values are numbered in
  // document order.
  std::size_t id() const { return m_node; }

private:
  friend class JsonDocument;
  friend class JsonChildIterator<JsonValue>;
  friend class JsonChildIterator<JsonMember>;
  friend class CanonicalDocumentWriter;
  JsonValue(const JsonDocument& document, std::size_t node) : m_document(&document), m_node(node) {}

  const JsonDocument* m_document;
  std::size_t m_node;
};

struct JsonMember {
  std::string_view key;
  JsonValue value;
};

// A parsed document. Strings without escapes are views of the parsed text, so the text must
// outlive the document; decoded strings live in the document. Move-only; a JsonValue refers to
// the document object, so take values after the last move.
class JsonDocument {
public:
  // Accepts and refuses exactly what parse_json does, with the same Errc and message:
  // Errc::too_large over max_bytes; Errc::invalid_argument for malformed JSON, nesting deeper
  // than max_depth, invalid UTF-8, lone surrogate escapes, numbers beyond a double's range and
  // duplicate object keys. Numbers are classified as nlohmann classifies them (see JsonType), so
  // append_canonical writes what append_canonical_json writes for the parse_json tree.
  static Result<JsonDocument> parse(std::string_view text, const JsonLimits& limits = {});

  JsonDocument(JsonDocument&&) noexcept = default;
  JsonDocument& operator=(JsonDocument&&) noexcept = default;
  JsonDocument(const JsonDocument&) = delete;
  JsonDocument& operator=(const JsonDocument&) = delete;
  ~JsonDocument() = default;

  JsonValue root() const { return JsonValue(*this, 0); }

private:
  class Parser;
  friend class JsonValue;
  friend class JsonChildIterator<JsonValue>;
  friend class JsonChildIterator<JsonMember>;
  friend class CanonicalDocumentWriter;

  // 24 bytes. A container's descendants follow it; an object's children alternate key (a
  // string node) and value.
  struct Node {
    union {
      const char* chars;              // string
      bool boolean;
      std::int64_t integer;
      std::uint64_t unsigned_integer;
      double floating;
      std::size_t count;              // container: members or elements
    };
    std::size_t extent = 0;           // string: length; container: index past the last descendant
    JsonType type = JsonType::null;
    bool escaped = false;             // string: had escapes, so `chars` points at decoded text
    bool utf16_order = false;         // string: see detail::sorts_differently_in_utf16
  };

  JsonDocument() = default;
  // The node after `node` and all its descendants.
  std::size_t skip(std::size_t node) const {
    const Node& n = m_nodes[node];
    return n.type == JsonType::array || n.type == JsonType::object ? n.extent : node + 1;
  }
  std::string_view text(std::size_t node) const { return {m_nodes[node].chars, m_nodes[node].extent}; }

  std::vector<Node> m_nodes;
  // Decoded strings, in blocks that never move.
  std::vector<std::unique_ptr<char[]>> m_blocks;
};

// A string written in place of a value by append_canonical, such as the HMAC of a sensitive
// value.
struct JsonReplacement {
  std::size_t node; // JsonValue::id()
  std::string text;
};

// Appends the RFC 8785 canonical form of `value`, byte-identical to append_canonical_json over
// the parse_json tree of the same text. A value whose id() is in `replacements` (sorted by node,
// each at most once) is written as that string instead; its bytes are escaped canonically, and
// any that are not UTF-8 are written as U+FFFD, as append_canonical_string does. A parsed
// document always has a canonical form, so this cannot fail.
void append_canonical(std::string& out, JsonValue value, std::span<const JsonReplacement> replacements = {});

// As require_known_fields for Json: Errc::unknown_field naming a member not in `allowed` (the
// least in byte order, which is the one the Json version names), Errc::invalid_argument if
// `object` is not an object.
Result<void> require_known_fields(JsonValue object, std::initializer_list<std::string_view> allowed);

// --- inline definitions --------------------------------------------------------------------

template <>
inline JsonValue JsonChildIterator<JsonValue>::operator*() const {
  return JsonValue(*m_document, m_node);
}

template <>
inline JsonMember JsonChildIterator<JsonMember>::operator*() const {
  return JsonMember{m_document->text(m_node), JsonValue(*m_document, m_node + 1)};
}

template <>
inline JsonChildIterator<JsonValue>& JsonChildIterator<JsonValue>::operator++() {
  m_node = m_document->skip(m_node);
  return *this;
}

template <>
inline JsonChildIterator<JsonMember>& JsonChildIterator<JsonMember>::operator++() {
  m_node = m_document->skip(m_node + 1);
  return *this;
}

inline JsonType JsonValue::type() const { return m_document->m_nodes[m_node].type; }

} // namespace cordon
