// [printable] certificate text as applctl shows it (cli.md): printable() (lib/base/bytes.cpp),
// where it is applied (lib/x509: names, SANs), SANs that are never matched, and friendly names
// made from such text (derived_friendly_name, checked_friendly_name).
#include <catch2/catch.hpp>

#include "applctl/base/bytes.hpp"
#include "applctl/base/error.hpp"
#include "applctl/services/appliance.hpp"
#include "applctl/x509/names.hpp"
#include "unit_pki.hpp"

using namespace applctl;

TEST_CASE("printable keeps UTF-8 text and escapes control characters and bytes that are not UTF-8", "[printable]") {
  struct Case {
    std::string in, out;
  };
  for (const Case& c : {
           Case{"www.example.com", "www.example.com"},
           Case{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92 \xc2\xa0", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92 \xc2\xa0"},
           Case{"a\x1b]0;owned\x07" "b", "a\\x1b]0;owned\\x07b"},
           Case{"a\x1b[31mb", "a\\x1b[31mb"},
           Case{"cr\rbs\bnul" + std::string(1, '\0') + "del\x7f", "cr\\x0dbs\\x08nul\\x00del\\x7f"},
           Case{"nl\ntab\t", "nl\\x0atab\\x09"},
           Case{"c1\xc2\x9b" "2J\xc2\x80\xc2\x9f", "c1\\xc2\\x9b2J\\xc2\\x80\\xc2\\x9f"},  // C1 controls: both bytes
           Case{"latin1 caf\xe9", "latin1 caf\\xe9"},
           Case{"overlong \xc0\xaf", "overlong \\xc0\\xaf"},
           Case{"surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80"},
           Case{"too big \xf4\x90\x80\x80", "too big \\xf4\\x90\\x80\\x80"},
           Case{"truncated \xe2\x82", "truncated \\xe2\\x82"},
           Case{"\xff\xfe", "\\xff\\xfe"},
           Case{"already \\x1b", "already \\x1b"},
       }) {
    INFO(c.in);
    CHECK(printable(c.in) == c.out);
    CHECK(printable(c.out) == c.out);  // idempotent
    CHECK(is_printable(c.out));
    CHECK(is_printable(c.in) == (c.in == c.out));
  }
}

TEST_CASE("a SAN that held a control character is never matched", "[printable][names]") {
  CHECK(matchable_dns_san("www.example.com"));
  CHECK(matchable_dns_san("*.example.com"));
  CHECK_FALSE(matchable_dns_san("a\\x0ab.example.com"));
  CHECK_FALSE(matchable_dns_san("a\nb.example.com"));
  CHECK_FALSE(matchable_dns_san(""));
  CHECK_FALSE(dns_name_matches("a\\x0ab.example.com", "a\\x0ab.example.com"));
  CHECK_FALSE(dns_name_matches("a\nb.example.com", "a\nb.example.com"));
  CHECK_FALSE(sans_cover({"DNS:a\\x0ab.example.com"}, "a\\x0ab.example.com"));
  CHECK(sans_cover({"DNS:a\\x0ab.example.com", "DNS:b.example.com"}, "b.example.com"));
}

TEST_CASE("friendly names: fingerprint-like names are refused, derived names keep the rules", "[printable][services]") {
  for (const char* name : {"deadbeef", "DEADBEEF01", "0123456789abcdef0123", "de:ad:be:ef", "0:1:2:3:4:5:6:7"}) {
    INFO(name);
    CHECK(fingerprint_like(name));
    CHECK(unit_pki::kind_of([&] { checked_friendly_name(name); }) == ErrorKind::BadInput);
  }
  for (const char* name : {"deadbee", "deadbeef-web", "web", "factory-default", "0123:abc"}) {
    INFO(name);
    CHECK_FALSE(fingerprint_like(name));
  }
  CHECK(unit_pki::kind_of([&] { checked_friendly_name("caf\xe9"); }) == ErrorKind::BadInput);
  CHECK(unit_pki::kind_of([&] { checked_friendly_name("c1\xc2\x9b"); }) == ErrorKind::BadInput);
  CHECK(checked_friendly_name("caf\xc3\xa9") == "caf\xc3\xa9");

  struct Case {
    std::string text, name;
    std::size_t changes;
  };
  for (const Case& c : {
           Case{"www.example.com", "www.example.com", 0},
           Case{"web\x1b[31m", "web\\x1b[31m", 1},
           Case{"  web  ", "web", 1},
           Case{"   ", "certificate", 2},
           Case{"", "certificate", 1},
           Case{"DEADBEEF01", "DEADBEEF01-cert", 1},
           Case{" de:ad:be:ef ", "de:ad:be:ef-cert", 2},
           Case{std::string(120, 'x'), std::string(100, 'x'), 1},
       }) {
    INFO(c.text);
    const DerivedName d = derived_friendly_name(c.text);
    CHECK(d.name == c.name);
    CHECK(d.changes.size() == c.changes);
    CHECK(checked_friendly_name(d.name) == d.name);
  }
  // Shortened at a character, never inside a UTF-8 sequence or a \xNN escape.
  const DerivedName utf8 = derived_friendly_name(std::string(99, 'x') + "\xc3\xa9");
  CHECK(utf8.name == std::string(99, 'x'));
  const DerivedName esc = derived_friendly_name(std::string(98, 'x') + "\x1b" "abc");
  CHECK(esc.name == std::string(98, 'x'));
}
