// KMIP's TTLV encoding (KMIP 1.x/2.0 specification, "Message Encoding"): every item is a 3-byte
// tag, a 1-byte type, a 4-byte big-endian length and the value, padded with zero bytes to a
// multiple of 8. A Structure's value is its children, one after the other.
//
// The decoder is strict and bounded: every length is checked against what is left of the
// buffer and against the type's fixed size, padding must be zero, nesting and size are limited,
// and anything else is an Error(Remote) "malformed KMIP message: ... at byte N" (a KMIP message
// comes from the server). It never reads past the buffer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "applctl/base/bytes.hpp"

namespace applctl::kmip {

using Tag = std::uint32_t;  // 0x42XXXX (KMIP) or 0x54XXXX (extensions)

enum class Type : std::uint8_t {
  Structure = 0x01,
  Integer = 0x02,      // signed 32-bit
  LongInteger = 0x03,  // signed 64-bit
  BigInteger = 0x04,   // two's complement, big-endian, a multiple of 8 bytes
  Enumeration = 0x05,  // unsigned 32-bit
  Boolean = 0x06,      // 64-bit 0 or 1
  TextString = 0x07,   // UTF-8, not terminated
  ByteString = 0x08,
  DateTime = 0x09,     // signed 64-bit seconds since the Unix epoch
  Interval = 0x0A,     // unsigned 32-bit seconds
};

std::string_view type_name(Type t);

// One TTLV item. Numbers of every width live in `number`, text and bytes in `data`, a
// Structure's children in `children`. The destructor wipes `data` (it may hold key material or
// a password).
class Item {
 public:
  static Item structure(Tag tag, std::vector<Item> children = {});
  static Item integer(Tag tag, std::int32_t v);
  static Item long_integer(Tag tag, std::int64_t v);
  static Item big_integer(Tag tag, BytesView twos_complement);  // padded on the left to 8n bytes
  static Item enumeration(Tag tag, std::uint32_t v);
  static Item boolean(Tag tag, bool v);
  static Item text(Tag tag, std::string_view v);
  static Item bytes(Tag tag, BytesView v);
  static Item date_time(Tag tag, std::int64_t v);
  static Item interval(Tag tag, std::uint32_t v);

  Item(const Item&) = default;
  Item(Item&&) noexcept = default;
  Item& operator=(const Item&) = default;
  Item& operator=(Item&&) noexcept = default;
  ~Item();

  Tag tag() const { return tag_; }
  Type type() const { return type_; }

  // Typed values; each throws Error(Remote) naming the tag when the item has another type.
  std::int32_t as_integer() const;
  std::int64_t as_long_integer() const;
  std::uint32_t as_enumeration() const;
  bool as_boolean() const;
  std::string as_text() const;
  const Bytes& as_bytes() const;  // ByteString or BigInteger
  std::int64_t as_date_time() const;
  std::uint32_t as_interval() const;

  // Structures.
  const std::vector<Item>& children() const;
  Item& add(Item child);                       // returns *this for chaining
  const Item* find(Tag tag) const;             // the first child with that tag, or null
  const Item& at(Tag tag) const;               // the same, or Error(Remote) "missing ..."
  std::vector<const Item*> all(Tag tag) const;  // every child with that tag, in order

  friend bool operator==(const Item&, const Item&) = default;

 private:
  Item(Tag tag, Type type) : tag_(tag), type_(type) {}
  Item(Tag tag, Type type, std::int64_t number) : tag_(tag), type_(type), number_(number) {}
  void expect(Type t) const;
  Tag tag_ = 0;
  Type type_ = Type::Structure;
  std::int64_t number_ = 0;
  Bytes data_;
  std::vector<Item> children_;
};

// The encoding of one item (with its children).
Bytes encode(const Item& item);

struct DecodeLimits {
  std::size_t max_size = 1 << 20;  // bytes in the whole message
  int max_depth = 16;              // nested Structures, the outermost being 1
};

// Decodes exactly one item that spans the whole buffer.
Item decode(BytesView data, const DecodeLimits& limits = {});

inline constexpr std::size_t kHeaderSize = 8;
// From the first 8 bytes of a message: the size of the whole item (header + padded value), so a
// reader knows how much more to read. Checks the tag, type and limit, like decode.
std::size_t item_size(BytesView header, const DecodeLimits& limits = {});

// A readable tree for debugging, one item per line. Byte strings, big integers and the Password
// print as "<N bytes>", so a dump never shows key material or a credential.
std::string dump(const Item& item);

}  // namespace applctl::kmip
