// The TTLV codec: the KMIP specification's own encoding examples (KMIP 1.x specification,
// section 9.1.2 "Examples"), round trips, and malformed input rejected with a clear error and
// without reading past the buffer (the negative cases run under ASan in CI).
#include <catch2/catch.hpp>

#include <cctype>
#include <string>

#include "applctl/base/error.hpp"
#include "applctl/kmip/ttlv.hpp"

#include "from_hex.hpp"

namespace {

using applctl::Bytes;
using applctl::Error;
using applctl::ErrorKind;
using namespace applctl::kmip;

using unit_hex::from_hex;

std::string decode_error_of(const Bytes& data, const DecodeLimits& limits = {}) {
  try {
    decode(data, limits);
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Remote);
    return e.what();
  }
  FAIL("decoded without an error");
  return {};
}

constexpr Tag kT = 0x420020;  // the tag the specification's examples use

}  // namespace

TEST_CASE("TTLV: the specification's encoding examples, both ways", "[kmip][ttlv]") {
  struct Example {
    const char* what;
    Item item;
    const char* hex;
  };
  const Example examples[] = {
      {"Integer 8", Item::integer(kT, 8), "42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00"},
      {"Long Integer 123456789000000000", Item::long_integer(kT, 123456789000000000),
       "42 00 20 | 03 | 00 00 00 08 | 01 B6 9B 4B A5 74 92 00"},
      {"Big Integer 1234567890000000000000000000",
       Item::big_integer(kT, from_hex("03 FD 35 EB 6B C2 DF 46 18 08 00 00")),
       "42 00 20 | 04 | 00 00 00 10 | 00 00 00 00 03 FD 35 EB 6B C2 DF 46 18 08 00 00"},
      {"Enumeration 255", Item::enumeration(kT, 255), "42 00 20 | 05 | 00 00 00 04 | 00 00 00 FF 00 00 00 00"},
      {"Boolean True", Item::boolean(kT, true), "42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 01"},
      {"Text String Hello World", Item::text(kT, "Hello World"),
       "42 00 20 | 07 | 00 00 00 0B | 48 65 6C 6C 6F 20 57 6F 72 6C 64 00 00 00 00 00"},
      {"Byte String 01 02 03", Item::bytes(kT, Bytes{1, 2, 3}), "42 00 20 | 08 | 00 00 00 03 | 01 02 03 00 00 00 00 00"},
      {"Date-Time 2008-03-14T11:56:40Z", Item::date_time(kT, 0x47DA67F8),
       "42 00 20 | 09 | 00 00 00 08 | 00 00 00 00 47 DA 67 F8"},
      {"Interval 10 days", Item::interval(kT, 864000), "42 00 20 | 0A | 00 00 00 04 | 00 0D 2F 00 00 00 00 00"},
      {"Structure of Enumeration 254 and Integer 255",
       Item::structure(kT, {Item::enumeration(0x420004, 254), Item::integer(0x420005, 255)}),
       "42 00 20 | 01 | 00 00 00 20 | 42 00 04 | 05 | 00 00 00 04 | 00 00 00 FE 00 00 00 00 | 42 00 05 | 02 | "
       "00 00 00 04 | 00 00 00 FF 00 00 00 00"},
  };
  for (const auto& ex : examples) {
    INFO(ex.what);
    CHECK(encode(ex.item) == from_hex(ex.hex));
    CHECK(decode(from_hex(ex.hex)) == ex.item);
  }
}

TEST_CASE("TTLV: values of every type round-trip, with their edge values", "[kmip][ttlv]") {
  Item msg = Item::structure(
      0x420078,
      {Item::integer(0x420001, -1), Item::integer(0x420002, INT32_MIN), Item::integer(0x420003, INT32_MAX),
       Item::long_integer(0x420004, INT64_MIN), Item::long_integer(0x420005, -2),
       Item::big_integer(0x420006, Bytes{0x80}),  // negative: sign-extended with 0xFF
       Item::enumeration(0x420007, 0xFFFFFFFF), Item::boolean(0x420008, false),
       Item::text(0x420009, ""), Item::text(0x42000A, "grüße, 鍵 \U0001F511"),
       Item::bytes(0x42000B, Bytes{}), Item::bytes(0x42000C, Bytes(8, 0xAB)), Item::bytes(0x42000D, Bytes(9, 0xCD)),
       Item::date_time(0x42000E, -1), Item::interval(0x42000F, 0xFFFFFFFF),
       Item::structure(0x420010), Item::structure(0x540001, {Item::structure(0x540002, {Item::text(0x540003, "x")})})});
  Bytes wire = encode(msg);
  CHECK(wire.size() % 8 == 0);
  Item back = decode(wire);
  CHECK(back == msg);
  CHECK(encode(back) == wire);
  CHECK(back.at(0x420006).as_bytes() == Bytes{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x80});
  CHECK(back.at(0x420002).as_integer() == INT32_MIN);
  CHECK(back.at(0x42000A).as_text() == "grüße, 鍵 \U0001F511");
  CHECK(back.all(0x420001).size() == 1);
  CHECK(back.find(0x420099) == nullptr);
  CHECK(item_size(wire) == wire.size());
}

TEST_CASE("TTLV: accessors name the item when the type is not the expected one", "[kmip][ttlv]") {
  Item i = Item::text(0x420094, "1");
  try {
    (void)i.as_enumeration();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Remote);
    CHECK(std::string(e.what()).find("item 0x420094 has type Text String, not Enumeration") != std::string::npos);
  }
  CHECK_THROWS_AS(Item::structure(0x420001).at(0x420002), Error);
  CHECK_THROWS_AS(i.children(), Error);
}

TEST_CASE("TTLV: malformed input is rejected with the reason and the offset", "[kmip][ttlv]") {
  const Bytes good = from_hex("42 00 20 | 01 | 00 00 00 20 | 42 00 04 | 05 | 00 00 00 04 | 00 00 00 FE 00 00 00 00 |"
                              " 42 00 05 | 02 | 00 00 00 04 | 00 00 00 FF 00 00 00 00");
  REQUIRE_NOTHROW(decode(good));

  SECTION("every truncation of a good message") {
    for (std::size_t n = 0; n < good.size(); ++n) {
      INFO("first " << n << " bytes");
      std::string e = decode_error_of(Bytes(good.begin(), good.begin() + static_cast<long>(n)));
      CHECK(e.rfind("malformed KMIP message: ", 0) == 0);
    }
  }
  SECTION("trailing bytes") {
    Bytes more = good;
    more.insert(more.end(), 8, 0);
    CHECK(decode_error_of(more).find("8 bytes after the message") != std::string::npos);
  }
  SECTION("a length that claims more than the buffer holds") {
    CHECK(decode_error_of(from_hex("42 00 20 | 08 | FF FF FF FF | 00 00 00 00 00 00 00 00")).find("claims 4294967295 bytes") !=
          std::string::npos);
    Bytes inner = good;
    inner[8 + 7] = 0x05;  // the first child, an Enumeration, says 5 bytes
    CHECK(decode_error_of(inner).find("has length 5, not 4") != std::string::npos);
  }
  SECTION("a child longer than its structure") {
    Bytes b = good;
    b[7] = 0x18;  // the structure says 24 bytes: its second child (16 bytes) does not fit in it
    CHECK(decode_error_of(b).find("claims 4 bytes but only 0 remain") != std::string::npos);
  }
  SECTION("non-zero padding") {
    CHECK(decode_error_of(from_hex("42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 01")).find("non-zero padding") !=
          std::string::npos);
    CHECK(decode_error_of(from_hex("42 00 20 | 07 | 00 00 00 01 | 41 00 00 00 00 00 FF 00")).find("non-zero padding") !=
          std::string::npos);
  }
  SECTION("fixed sizes, Boolean values, Big Integer and Structure lengths") {
    CHECK(decode_error_of(from_hex("42 00 20 | 03 | 00 00 00 04 | 00 00 00 08 00 00 00 00")).find("not 8") != std::string::npos);
    CHECK(decode_error_of(from_hex("42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 02")).find("neither 0 nor 1") !=
          std::string::npos);
    CHECK(decode_error_of(from_hex("42 00 20 | 04 | 00 00 00 04 | 00 00 00 01 00 00 00 00")).find("multiple of 8") !=
          std::string::npos);
    CHECK(decode_error_of(from_hex("42 00 20 | 01 | 00 00 00 04 | 00 00 00 00 00 00 00 00")).find("multiple of 8") !=
          std::string::npos);
  }
  SECTION("unknown types and tags that are not KMIP's") {
    CHECK(decode_error_of(from_hex("42 00 20 | 0B | 00 00 00 04 | 00 00 00 08 00 00 00 00")).find("unknown item type 0x0B") !=
          std::string::npos);
    CHECK(decode_error_of(from_hex("42 00 20 | 00 | 00 00 00 00")).find("unknown item type") != std::string::npos);
    // An HTTP answer on a KMIP port.
    CHECK(decode_error_of(Bytes{'H', 'T', 'T', 'P', '/', '1', '.', '1'}).find("is not a KMIP tag") != std::string::npos);
  }
  SECTION("text that is not UTF-8") {
    CHECK(decode_error_of(from_hex("42 00 20 | 07 | 00 00 00 02 | C0 AF 00 00 00 00 00 00")).find("not UTF-8") !=
          std::string::npos);
    CHECK(decode_error_of(from_hex("42 00 20 | 07 | 00 00 00 03 | ED A0 80 00 00 00 00 00")).find("not UTF-8") !=
          std::string::npos);
  }
  SECTION("nesting deeper than the limit") {
    Item deep = Item::integer(0x420001, 1);
    for (int i = 0; i < 40; ++i) deep = Item::structure(0x420002, {deep});
    Bytes wire = encode(deep);
    CHECK(decode_error_of(wire).find("nested deeper than 16") != std::string::npos);
    CHECK_NOTHROW(decode(wire, {1 << 20, 41}));
    // A chain of empty-looking structures that each claim the rest of the buffer.
    Bytes chain;
    for (int i = 0; i < 100; ++i) {
      std::uint32_t len = static_cast<std::uint32_t>(8 * (99 - i));
      chain.insert(chain.end(), {0x42, 0x00, 0x01, 0x01, static_cast<std::uint8_t>(len >> 24),
                                 static_cast<std::uint8_t>(len >> 16), static_cast<std::uint8_t>(len >> 8),
                                 static_cast<std::uint8_t>(len)});
    }
    CHECK(decode_error_of(chain).find("nested deeper") != std::string::npos);
  }
  SECTION("messages over the size limit") {
    CHECK(decode_error_of(good, {16, 16}).find("exceeds the limit of 16 bytes") != std::string::npos);
    CHECK_THROWS_AS(item_size(from_hex("42 00 7B | 01 | 7F FF FF F8")), Error);
    CHECK(item_size(from_hex("42 00 7B | 01 | 00 00 00 F8")) == 0x100);
    CHECK(item_size(from_hex("42 00 20 | 07 | 00 00 00 0B")) == 24);
  }
}

TEST_CASE("TTLV: dump shows the tree but never byte strings or the password", "[kmip][ttlv]") {
  Item msg = Item::structure(0x420078, {Item::text(0x420099, "alice"), Item::text(0x4200A1, "s3cret"),
                                        Item::bytes(0x420043, Bytes{0xDE, 0xAD, 0xBE, 0xEF}),
                                        Item::enumeration(0x42005C, 1)});
  std::string d = dump(msg);
  CHECK(d.find("alice") != std::string::npos);
  CHECK(d.find("s3cret") == std::string::npos);
  CHECK(d.find("<4 bytes>") != std::string::npos);
  CHECK(d.find("dead") == std::string::npos);
  CHECK(d.find("DEAD") == std::string::npos);
  CHECK(d.find("0x00000001") != std::string::npos);
}
