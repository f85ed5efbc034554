// KMIP's TTLV encoding and decoding, strict about lengths and padding (see applctl/kmip/ttlv.hpp).
#include "applctl/kmip/ttlv.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include "applctl/base/error.hpp"

namespace applctl::kmip {

namespace {

constexpr Tag kPassword = 0x4200A1;

std::size_t padded(std::size_t n) { return (n + 7) & ~std::size_t{7}; }

[[noreturn]] void malformed(std::string_view what, std::size_t offset) {
  fail(ErrorKind::Remote, fmt::format("malformed KMIP message: {} at byte {}", what, offset),
       "is the peer a KMIP server speaking TTLV (not HTTP, JSON or XML)?");
}

// The fixed value length of a type, 0 for the variable ones.
std::size_t fixed_length(Type t) {
  switch (t) {
    case Type::Integer:
    case Type::Enumeration:
    case Type::Interval: return 4;
    case Type::LongInteger:
    case Type::Boolean:
    case Type::DateTime: return 8;
    default: return 0;
  }
}

bool valid_type(std::uint8_t t) { return t >= 0x01 && t <= 0x0A; }
bool valid_tag(Tag tag) { return (tag >> 16) == 0x42 || (tag >> 16) == 0x54; }

std::uint64_t read_be(const std::uint8_t* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

void put_be(Bytes& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = n; i-- > 0;) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool valid_utf8(const std::uint8_t* p, std::size_t n) {
  for (std::size_t i = 0; i < n;) {
    std::uint8_t c = p[i];
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    std::uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

struct Header {
  Tag tag;
  Type type;
  std::size_t length;
};

Header read_header(BytesView data, std::size_t at) {
  if (data.size() - at < kHeaderSize) malformed("truncated item header", at);
  const std::uint8_t* p = data.data() + at;
  Tag tag = static_cast<Tag>(read_be(p, 3));
  if (!valid_tag(tag)) malformed(fmt::format("tag 0x{:06X} is not a KMIP tag", tag), at);
  if (!valid_type(p[3])) malformed(fmt::format("unknown item type 0x{:02X} (tag 0x{:06X})", p[3], tag), at);
  return {tag, static_cast<Type>(p[3]), static_cast<std::size_t>(read_be(p + 4, 4))};
}

class Decoder {
 public:
  Decoder(BytesView data, const DecodeLimits& limits) : data_(data), limits_(limits) {}

  // The item at `at` that must end exactly at `end`... or before it; returns the item and moves `at`.
  Item item(std::size_t& at, std::size_t end, int depth) {
    const std::size_t start = at;
    Header h = read_header(data_.subspan(0, end), at);
    const std::size_t value_at = at + kHeaderSize;
    const std::size_t room = end - value_at;
    if (std::size_t want = fixed_length(h.type); want != 0 && h.length != want)
      malformed(fmt::format("{} 0x{:06X} has length {}, not {}", type_name(h.type), h.tag, h.length, want), start);
    if (h.type == Type::BigInteger && (h.length == 0 || h.length % 8 != 0))
      malformed(fmt::format("Big Integer 0x{:06X} has length {}, not a multiple of 8", h.tag, h.length), start);
    // Structures carry no padding of their own: their children are already padded.
    const std::size_t total = h.type == Type::Structure ? h.length : padded(h.length);
    if (h.type == Type::Structure && h.length % 8 != 0)
      malformed(fmt::format("Structure 0x{:06X} has length {}, not a multiple of 8", h.tag, h.length), start);
    if (total > room)
      malformed(fmt::format("{} 0x{:06X} claims {} bytes but only {} remain", type_name(h.type), h.tag, h.length, room),
                start);
    at = value_at + total;
    if (h.type == Type::Structure) return structure(h.tag, value_at, at, depth + 1, start);
    for (std::size_t i = value_at + h.length; i < at; ++i)
      if (data_[i] != 0) malformed(fmt::format("non-zero padding after {} 0x{:06X}", type_name(h.type), h.tag), i);
    return primitive(h, value_at, start);
  }

 private:
  Item structure(Tag tag, std::size_t from, std::size_t end, int depth, std::size_t start) {
    if (depth > limits_.max_depth)
      malformed(fmt::format("Structures nested deeper than {}", limits_.max_depth), start);
    Item s = Item::structure(tag);
    for (std::size_t at = from; at < end;) s.add(item(at, end, depth));
    return s;
  }

  Item primitive(const Header& h, std::size_t at, std::size_t start) {
    const std::uint8_t* p = data_.data() + at;
    BytesView value = data_.subspan(at, h.length);
    switch (h.type) {
      case Type::Integer: return Item::integer(h.tag, static_cast<std::int32_t>(static_cast<std::uint32_t>(read_be(p, 4))));
      case Type::LongInteger: return Item::long_integer(h.tag, static_cast<std::int64_t>(read_be(p, 8)));
      case Type::BigInteger: return Item::big_integer(h.tag, value);
      case Type::Enumeration: return Item::enumeration(h.tag, static_cast<std::uint32_t>(read_be(p, 4)));
      case Type::Boolean: {
        std::uint64_t v = read_be(p, 8);
        if (v > 1) malformed(fmt::format("Boolean 0x{:06X} is neither 0 nor 1", h.tag), start);
        return Item::boolean(h.tag, v == 1);
      }
      case Type::TextString:
        if (!valid_utf8(p, h.length)) malformed(fmt::format("Text String 0x{:06X} is not UTF-8", h.tag), start);
        return Item::text(h.tag, std::string_view(reinterpret_cast<const char*>(p), h.length));
      case Type::ByteString: return Item::bytes(h.tag, value);
      case Type::DateTime: return Item::date_time(h.tag, static_cast<std::int64_t>(read_be(p, 8)));
      case Type::Interval: return Item::interval(h.tag, static_cast<std::uint32_t>(read_be(p, 4)));
      case Type::Structure: break;
    }
    malformed("internal: structure as primitive", start);
  }

  BytesView data_;
  const DecodeLimits& limits_;
};

void encode_into(const Item& item, Bytes& out) {
  put_be(out, item.tag(), 3);
  out.push_back(static_cast<std::uint8_t>(item.type()));
  const std::size_t length_at = out.size();
  put_be(out, 0, 4);
  const std::size_t value_at = out.size();
  switch (item.type()) {
    case Type::Structure:
      for (const auto& child : item.children()) encode_into(child, out);
      break;
    case Type::Integer: put_be(out, static_cast<std::uint32_t>(item.as_integer()), 4); break;
    case Type::Enumeration: put_be(out, item.as_enumeration(), 4); break;
    case Type::Interval: put_be(out, item.as_interval(), 4); break;
    case Type::LongInteger: put_be(out, static_cast<std::uint64_t>(item.as_long_integer()), 8); break;
    case Type::DateTime: put_be(out, static_cast<std::uint64_t>(item.as_date_time()), 8); break;
    case Type::Boolean: put_be(out, item.as_boolean() ? 1 : 0, 8); break;
    case Type::TextString: {
      std::string s = item.as_text();
      out.insert(out.end(), s.begin(), s.end());
      OPENSSL_cleanse(s.data(), s.size());
      break;
    }
    case Type::ByteString:
    case Type::BigInteger: out.insert(out.end(), item.as_bytes().begin(), item.as_bytes().end()); break;
  }
  const std::size_t length = out.size() - value_at;
  if (length > 0xFFFFFFFFu) fail(ErrorKind::Failed, "KMIP item too large to encode");
  for (std::size_t i = 0; i < 4; ++i) out[length_at + i] = static_cast<std::uint8_t>(length >> (8 * (3 - i)));
  out.resize(value_at + padded(length), 0);
}

void dump_into(const Item& item, int indent, std::string& out) {
  out += fmt::format("{:{}}{} 0x{:06X}", "", indent * 2, type_name(item.type()), item.tag());
  switch (item.type()) {
    case Type::Structure:
      out += '\n';
      for (const auto& c : item.children()) dump_into(c, indent + 1, out);
      return;
    case Type::Integer: out += fmt::format(" {}", item.as_integer()); break;
    case Type::LongInteger: out += fmt::format(" {}", item.as_long_integer()); break;
    case Type::Enumeration: out += fmt::format(" 0x{:08X}", item.as_enumeration()); break;
    case Type::Boolean: out += item.as_boolean() ? " true" : " false"; break;
    case Type::DateTime: out += fmt::format(" {}", item.as_date_time()); break;
    case Type::Interval: out += fmt::format(" {}s", item.as_interval()); break;
    case Type::TextString:
      out += item.tag() == kPassword ? " <redacted>" : fmt::format(" \"{}\"", printable(item.as_text()));
      break;
    case Type::ByteString:
    case Type::BigInteger: out += fmt::format(" <{} bytes>", item.as_bytes().size()); break;
  }
  out += '\n';
}

}  // namespace

std::string_view type_name(Type t) {
  switch (t) {
    case Type::Structure: return "Structure";
    case Type::Integer: return "Integer";
    case Type::LongInteger: return "Long Integer";
    case Type::BigInteger: return "Big Integer";
    case Type::Enumeration: return "Enumeration";
    case Type::Boolean: return "Boolean";
    case Type::TextString: return "Text String";
    case Type::ByteString: return "Byte String";
    case Type::DateTime: return "Date-Time";
    case Type::Interval: return "Interval";
  }
  return "?";
}

Item::~Item() {
  if (!data_.empty()) OPENSSL_cleanse(data_.data(), data_.size());
}

Item Item::structure(Tag tag, std::vector<Item> children) {
  Item i(tag, Type::Structure);
  i.children_ = std::move(children);
  return i;
}
Item Item::integer(Tag tag, std::int32_t v) { return Item(tag, Type::Integer, v); }
Item Item::long_integer(Tag tag, std::int64_t v) { return Item(tag, Type::LongInteger, v); }
Item Item::big_integer(Tag tag, BytesView v) {
  Item i(tag, Type::BigInteger);
  // Sign-extend on the left to a multiple of 8 bytes (at least 8).
  const std::uint8_t fill = !v.empty() && (v.front() & 0x80) != 0 ? 0xFF : 0x00;
  i.data_.assign(v.empty() ? 8 : padded(v.size()) - v.size(), fill);
  i.data_.insert(i.data_.end(), v.begin(), v.end());
  return i;
}
Item Item::enumeration(Tag tag, std::uint32_t v) { return Item(tag, Type::Enumeration, v); }
Item Item::boolean(Tag tag, bool v) { return Item(tag, Type::Boolean, v ? 1 : 0); }
Item Item::text(Tag tag, std::string_view v) {
  Item i(tag, Type::TextString);
  i.data_.assign(v.begin(), v.end());
  return i;
}
Item Item::bytes(Tag tag, BytesView v) {
  Item i(tag, Type::ByteString);
  i.data_.assign(v.begin(), v.end());
  return i;
}
Item Item::date_time(Tag tag, std::int64_t v) { return Item(tag, Type::DateTime, v); }
Item Item::interval(Tag tag, std::uint32_t v) { return Item(tag, Type::Interval, v); }

void Item::expect(Type t) const {
  if (type_ != t)
    fail(ErrorKind::Remote, fmt::format("unexpected KMIP message: item 0x{:06X} has type {}, not {}", tag_,
                                        type_name(type_), type_name(t)));
}

std::int32_t Item::as_integer() const {
  expect(Type::Integer);
  return static_cast<std::int32_t>(number_);
}
std::int64_t Item::as_long_integer() const {
  expect(Type::LongInteger);
  return number_;
}
std::uint32_t Item::as_enumeration() const {
  expect(Type::Enumeration);
  return static_cast<std::uint32_t>(number_);
}
bool Item::as_boolean() const {
  expect(Type::Boolean);
  return number_ != 0;
}
std::string Item::as_text() const {
  expect(Type::TextString);
  return {data_.begin(), data_.end()};
}
const Bytes& Item::as_bytes() const {
  if (type_ != Type::BigInteger) expect(Type::ByteString);
  return data_;
}
std::int64_t Item::as_date_time() const {
  expect(Type::DateTime);
  return number_;
}
std::uint32_t Item::as_interval() const {
  expect(Type::Interval);
  return static_cast<std::uint32_t>(number_);
}

const std::vector<Item>& Item::children() const {
  expect(Type::Structure);
  return children_;
}

Item& Item::add(Item child) {
  expect(Type::Structure);
  children_.push_back(std::move(child));
  return *this;
}

const Item* Item::find(Tag tag) const {
  for (const auto& c : children())
    if (c.tag_ == tag) return &c;
  return nullptr;
}

const Item& Item::at(Tag tag) const {
  if (const Item* c = find(tag)) return *c;
  fail(ErrorKind::Remote, fmt::format("unexpected KMIP message: structure 0x{:06X} has no item 0x{:06X}", tag_, tag));
}

std::vector<const Item*> Item::all(Tag tag) const {
  std::vector<const Item*> out;
  for (const auto& c : children())
    if (c.tag_ == tag) out.push_back(&c);
  return out;
}

Bytes encode(const Item& item) {
  Bytes out;
  encode_into(item, out);
  return out;
}

std::size_t item_size(BytesView header, const DecodeLimits& limits) {
  Header h = read_header(header, 0);
  const std::size_t total = kHeaderSize + (h.type == Type::Structure ? h.length : padded(h.length));
  if (total > limits.max_size)
    malformed(fmt::format("a message of {} bytes exceeds the limit of {} bytes", total, limits.max_size), 0);
  return total;
}

Item decode(BytesView data, const DecodeLimits& limits) {
  if (data.size() > limits.max_size)
    malformed(fmt::format("a message of {} bytes exceeds the limit of {} bytes", data.size(), limits.max_size), 0);
  Decoder d(data, limits);
  std::size_t at = 0;
  Item item = d.item(at, data.size(), 0);
  if (at != data.size()) malformed(fmt::format("{} bytes after the message", data.size() - at), at);
  return item;
}

std::string dump(const Item& item) {
  std::string out;
  dump_into(item, 0, out);
  return out;
}

}  // namespace applctl::kmip
