// Subject validation, SAN parsing and RFC 6125 matching (include/applctl/x509/names.hpp).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "applctl/base/error.hpp"
#include "applctl/x509/names.hpp"

using applctl::Error;
using applctl::ErrorKind;
using applctl::San;
using applctl::SanType;
using applctl::Subject;

namespace {

// The BadInput error parse_san throws for text (fails the test when it does not throw).
Error san_error(const std::string& text) {
  try {
    applctl::parse_san(text);
  } catch (const Error& e) {
    return e;
  }
  FAIL("parse_san accepted '" << text << "'");
  return Error(ErrorKind::Failed, "unreachable");
}

Error subject_error(const Subject& s) {
  try {
    applctl::validated(s);
  } catch (const Error& e) {
    return e;
  }
  FAIL("validated() accepted the subject");
  return Error(ErrorKind::Failed, "unreachable");
}

}  // namespace

TEST_CASE("ISO 3166-1 alpha-2: exactly the 249 officially assigned codes", "[names]") {
  int valid = 0;
  for (char a = 'A'; a <= 'Z'; ++a) {
    for (char b = 'A'; b <= 'Z'; ++b) {
      const char code[] = {a, b};
      if (applctl::is_iso3166_alpha2(std::string_view(code, 2))) ++valid;
    }
  }
  CHECK(valid == 249);

  for (const char* code :
       {"US", "GB", "DE", "FR", "JP", "AX", "SS", "CW", "BQ", "SX", "AD", "ZW", "AQ", "TW", "PS"}) {
    INFO(code);
    CHECK(applctl::is_iso3166_alpha2(code));
  }
  // User-assigned (XK for Kosovo included), exceptionally/transitionally reserved, withdrawn, malformed.
  for (const char* code : {"UK", "EU", "XK", "XX", "ZZ", "AA", "QM", "UN",  "EZ", "FX", "SU",
                           "AN", "YU", "CS", "us", "Us", "U",  "",   "USA", "1A", "U "}) {
    INFO(code);
    CHECK_FALSE(applctl::is_iso3166_alpha2(code));
  }
}

TEST_CASE("validated() trims, upper-cases the country and checks it", "[names]") {
  Subject in{" us ", " California", "San Jose ", "Acme", "Ops", " www.example.com "};
  Subject out = applctl::validated(in);
  CHECK(out.country == "US");
  CHECK(out.state == "California");
  CHECK(out.locality == "San Jose");
  CHECK(out.org == "Acme");
  CHECK(out.ou == "Ops");
  CHECK(out.cn == "www.example.com");

  CHECK(applctl::validated(Subject{}).empty());
  CHECK(applctl::validated(Subject{.cn = "My Appliance"}).cn == "My Appliance");
  CHECK(applctl::validated(Subject{.country = "gb"}).country == "GB");
  CHECK(applctl::validated(Subject{.org = "Müller & Söhne GmbH"}).org == "Müller & Söhne GmbH");

  Error e = subject_error(Subject{.country = "XY"});
  CHECK(e.kind() == ErrorKind::BadInput);
  CHECK(std::string(e.what()) == "invalid country code 'XY': not an ISO 3166-1 alpha-2 code");
  CHECK(e.hint() == "two letters, e.g. US, DE, GB");

  for (const char* country : {"UK", "uk", "EU", "XK", "XX", "ZZ", "U", "USA", "U S"}) {
    INFO(country);
    Error ce = subject_error(Subject{.country = country});
    CHECK(ce.kind() == ErrorKind::BadInput);
    CHECK_THAT(ce.what(), Catch::Contains("invalid country code"));
  }
}

TEST_CASE("validated() enforces the RFC 5280 upper bounds per field", "[names]") {
  struct Case {
    std::string Subject::*member;
    std::size_t max;
    const char* name;
  };
  for (const Case& c :
       {Case{&Subject::state, 128, "state"}, Case{&Subject::locality, 128, "locality"},
        Case{&Subject::org, 64, "organization"}, Case{&Subject::ou, 64, "organizational unit"},
        Case{&Subject::cn, 64, "common name"}}) {
    INFO(c.name);
    Subject ok;
    ok.*c.member = std::string(c.max, 'a');
    CHECK((applctl::validated(ok).*c.member).size() == c.max);
    // Characters, not bytes: c.max two-byte characters still fit.
    std::string wide;
    for (std::size_t i = 0; i < c.max; ++i) wide += "é";
    ok.*c.member = wide;
    CHECK_NOTHROW(applctl::validated(ok));

    Subject bad;
    bad.*c.member = std::string(c.max + 1, 'a');
    Error e = subject_error(bad);
    CHECK(e.kind() == ErrorKind::BadInput);
    CHECK_THAT(e.what(), Catch::StartsWith(std::string("invalid ") + c.name + " '"));
    CHECK_THAT(e.what(), Catch::Contains(std::to_string(c.max)));
  }
}

TEST_CASE("validated() refuses control characters and malformed UTF-8", "[names]") {
  for (const std::string& value : {std::string("Ac\nme"), std::string("Ac\tme"), std::string("A\x7f"),
                                   std::string("A\xc2\x85"), std::string("A\0B", 3)}) {
    Error e = subject_error(Subject{.org = value});
    CHECK(e.kind() == ErrorKind::BadInput);
    CHECK_THAT(e.what(), Catch::Contains("organization") && Catch::Contains("control characters"));
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
  }
  for (const std::string& value :
       {std::string("\xff"), std::string("caf\xc3"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80")}) {
    Error e = subject_error(Subject{.cn = value});
    CHECK_THAT(e.what(), Catch::Contains("common name") && Catch::Contains("UTF-8"));
  }
}

TEST_CASE("canonical_ip renders IPv4 and IPv6 in inet_ntop form", "[names]") {
  struct Case {
    const char* in;
    const char* out;
  };
  for (const Case& c :
       {Case{"192.0.2.1", "192.0.2.1"}, Case{"0.0.0.0", "0.0.0.0"}, Case{"::1", "::1"}, Case{"0:0::1", "::1"},
        Case{"0000:0000:0000:0000:0000:0000:0000:0001", "::1"}, Case{"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
        Case{"2001:db8:0:1:0:0:0:0", "2001:db8:0:1::"}, Case{"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
        Case{"FE80::A", "fe80::a"}}) {
    INFO(c.in);
    auto ip = applctl::canonical_ip(c.in);
    REQUIRE(ip.has_value());
    CHECK(*ip == c.out);
  }
  for (const char* text : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", " ::1", "::g",
                           "fe80::1%eth0", "[::1]", "example.com", "1:2:3:4:5:6:7:8:9"}) {
    INFO(text);
    CHECK_FALSE(applctl::canonical_ip(text).has_value());
  }
}

TEST_CASE("parse_san accepts DNS, IP and bare forms", "[names]") {
  struct Case {
    const char* in;
    SanType type;
    const char* value;
  };
  for (const Case& c : {
           Case{"DNS:www.example.com", SanType::DNS, "www.example.com"},
           Case{"dns:WWW.Example.COM.", SanType::DNS, "www.example.com"},
           Case{"Dns:localhost", SanType::DNS, "localhost"},
           Case{"appliance", SanType::DNS, "appliance"},
           Case{"www.example.com", SanType::DNS, "www.example.com"},
           Case{"*.example.com", SanType::DNS, "*.example.com"},
           Case{"DNS:*.Example.com", SanType::DNS, "*.example.com"},
           Case{"xn--mller-kva.example", SanType::DNS, "xn--mller-kva.example"},
           Case{"a-b.c1.example", SanType::DNS, "a-b.c1.example"},
           Case{"1host.example.com", SanType::DNS, "1host.example.com"},
           Case{"IP:192.0.2.7", SanType::IP, "192.0.2.7"},
           Case{"ip:2001:DB8::0:1", SanType::IP, "2001:db8::1"},
           Case{"192.0.2.7", SanType::IP, "192.0.2.7"},
           Case{"0:0::1", SanType::IP, "::1"},
       }) {
    INFO(c.in);
    San san = applctl::parse_san(c.in);
    CHECK(san.type == c.type);
    CHECK(san.value == c.value);
  }
  CHECK(applctl::parse_san("IP:::1").str() == "IP:::1");
  CHECK(applctl::parse_san("Example.COM").str() == "DNS:example.com");

  // Length limits: a 63-octet label and a 253-octet name are fine.
  const std::string label63(63, 'a');
  CHECK(applctl::parse_san(label63 + ".example").value == label63 + ".example");
  const std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  REQUIRE(name253.size() == 253);
  CHECK(applctl::parse_san(name253).value == name253);
  CHECK(applctl::parse_san(name253 + ".").value == name253);
}

TEST_CASE("parse_san refuses malformed names with a reason and a hint", "[names]") {
  struct Case {
    std::string in;
    const char* reason;
  };
  const std::string label63(63, 'a');
  const std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  for (const Case& c : {
           Case{"a..b", "empty label"},
           Case{".example.com", "empty label"},
           Case{"example.com..", "empty label"},
           Case{"", "empty name"},
           Case{"DNS:", "empty name"},
           Case{"dns:.", "empty name"},
           Case{"IP:", "empty address"},
           Case{"ex ample.com", "invalid character ' '"},
           Case{"exa\tmple.com", "invalid character '\\x09'"},
           Case{"ex!ample.com", "invalid character '!'"},
           Case{"-a.example.com", "hyphen"},
           Case{"a-.example.com", "hyphen"},
           Case{label63 + "a.example.com", "longer than 63"},
           Case{name253 + "c", "longer than 253"},
           Case{"*", "two labels after"},
           Case{"*.com", "two labels after"},
           Case{"DNS:*.", "two labels after"},
           Case{"a*.example.com", "whole leftmost label"},
           Case{"*x.example.com", "whole leftmost label"},
           Case{"foo.*.example.com", "whole leftmost label"},
           Case{"*.*.example.com", "whole leftmost label"},
           Case{"**.example.com", "whole leftmost label"},
           Case{"DNS:192.0.2.1", "all-numeric"},
           Case{"256.1.1.1", "all-numeric"},
           Case{"IP:256.1.1.1", "not an IPv4 or IPv6 address"},
           Case{"IP:example.com", "not an IPv4 or IPv6 address"},
           Case{"IP:1.2.3", "not an IPv4 or IPv6 address"},
           Case{"2001:db8::g", "not an IPv4 or IPv6 address"},
           Case{"IP:fe80::1%eth0", "zone"},
           Case{"fe80::1%eth0", "zone"},
           Case{"email:a@example.com", "unsupported SAN type 'email'"},
           Case{"URI:https://example.com", "unsupported SAN type 'URI'"},
       }) {
    INFO(c.in);
    Error e = san_error(c.in);
    CHECK(e.kind() == ErrorKind::BadInput);
    CHECK_THAT(e.what(), Catch::StartsWith("invalid SAN '"));
    CHECK_THAT(e.what(), Catch::Contains(c.reason));
    CHECK_FALSE(e.hint().empty());
  }
  Error e = san_error("a..b");
  CHECK(std::string(e.what()) == "invalid SAN 'a..b': empty label");
  CHECK_THAT(e.hint(), Catch::Contains("DNS:") && Catch::Contains("IP:") && Catch::Contains("*.example.com"));

  Error underscore = san_error("_dmarc.example.com");
  CHECK_THAT(underscore.what(), Catch::Contains("underscore"));
  CHECK_THAT(underscore.hint(), Catch::Contains("hyphen"));

  Error idn = san_error("DNS:müller.example");
  CHECK_THAT(idn.what(), Catch::Contains("non-ASCII"));
  CHECK_THAT(idn.hint(), Catch::Contains("punycode (xn--)"));
}

TEST_CASE("is_dns_name: what 'the CN is a DNS name' means", "[names]") {
  for (const char* text : {"www.example.com", "WWW.EXAMPLE.COM", "example.com.", "*.example.com", "localhost",
                           "LocalHost", "localhost.", "a.b"}) {
    INFO(text);
    CHECK(applctl::is_dns_name(text));
  }
  for (const char* text :
       {"", "My Appliance", "appliance", "192.0.2.1", "::1", "2001:db8::1", "a..b", "*.com",
        "foo.*.example.com", "under_score.example.com", "müller.example", "1.2.3", "."}) {
    INFO(text);
    CHECK_FALSE(applctl::is_dns_name(text));
  }
}

TEST_CASE("build_sans: parsed, de-duplicated, DNS CN first", "[names]") {
  auto strs = [](const std::vector<San>& sans) {
    std::vector<std::string> out;
    for (const auto& s : sans) out.push_back(s.str());
    return out;
  };
  using V = std::vector<std::string>;

  CHECK(strs(applctl::build_sans(Subject{.cn = "www.example.com"}, {})) == V{"DNS:www.example.com"});
  CHECK(strs(applctl::build_sans(Subject{.cn = "WWW.Example.com"}, {"api.example.com", "IP:192.0.2.1"})) ==
        V{"DNS:www.example.com", "DNS:api.example.com", "IP:192.0.2.1"});
  // The CN listed later moves to the front, once.
  CHECK(strs(applctl::build_sans(Subject{.cn = "www.example.com"},
                                 {"api.example.com", "DNS:WWW.example.com.", "www.example.com"})) ==
        V{"DNS:www.example.com", "DNS:api.example.com"});
  // Duplicates keep the first occurrence, also across spellings of one address.
  CHECK(strs(applctl::build_sans(Subject{}, {"b.example", "a.example", "B.example", "::1", "IP:0:0::1"})) ==
        V{"DNS:b.example", "DNS:a.example", "IP:::1"});
  // A wildcard CN counts as a DNS name; a label or an IP CN does not.
  CHECK(strs(applctl::build_sans(Subject{.cn = "*.example.com"}, {"example.com"})) ==
        V{"DNS:*.example.com", "DNS:example.com"});
  CHECK(strs(applctl::build_sans(Subject{.cn = "My Appliance"}, {"appliance.example"})) ==
        V{"DNS:appliance.example"});
  CHECK(strs(applctl::build_sans(Subject{.cn = "192.0.2.1"}, {"a.example"})) == V{"DNS:a.example"});

  try {
    applctl::build_sans(Subject{.cn = "www.example.com"}, {"ok.example", "bad..example"});
    FAIL("a bad SAN was accepted");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::BadInput);
    CHECK_THAT(e.what(), Catch::Contains("bad..example"));
  }
  // Neither a CN nor a SAN: nothing to name the host (csr create --org X alone).
  try {
    applctl::build_sans(Subject{.org = "Example Corp"}, {});
    FAIL("no error");
  } catch (const applctl::Error& e) {
    CHECK(e.kind() == applctl::ErrorKind::BadInput);
    CHECK(std::string(e.what()).find("--cn") != std::string::npos);
  }
}

TEST_CASE("dns_name_matches follows RFC 6125", "[names]") {
  struct Case {
    const char* pattern;
    const char* host;
    bool match;
  };
  for (const Case& c : {
           Case{"www.example.com", "www.example.com", true},
           Case{"WWW.Example.COM", "www.example.com", true},
           Case{"www.example.com.", "www.example.com", true},
           Case{"www.example.com", "WWW.EXAMPLE.COM.", true},
           Case{"localhost", "localhost", true},
           Case{"www.example.com", "example.com", false},
           Case{"www.example.com", "www.example.org", false},
           Case{"*.example.com", "www.example.com", true},
           Case{"*.example.com", "API.Example.com.", true},
           Case{"*.Example.COM", "x.example.com", true},
           Case{"*.example.com", "example.com", false},      // not the apex
           Case{"*.example.com", "a.b.example.com", false},  // exactly one label
           Case{"*.example.com", ".example.com", false},     // a non-empty label
           Case{"*.example.com", "www.example.org", false},
           Case{"*.example.com", "wwwexample.com", false},
           Case{"*.com", "example.com", false},  // too few labels after the wildcard
           Case{"*.", "example", false},
           Case{"*", "example", false},
           Case{"a*.example.com", "ab.example.com", false},  // partial wildcards are not honoured
           Case{"*a.example.com", "ba.example.com", false},
           Case{"foo.*.example.com", "foo.bar.example.com", false},
           Case{"*.*.example.com", "a.b.example.com", false},
           Case{"*.example.com", "*.example.com", false},  // a host is never a wildcard
           Case{"*.0.2.1", "192.0.2.1", false},            // never an IP
           Case{"192.0.2.1", "192.0.2.1", false},
           Case{"", "", false},
           Case{"example.com", "", false},
       }) {
    INFO(c.pattern << " vs " << c.host);
    CHECK(applctl::dns_name_matches(c.pattern, c.host) == c.match);
  }
}

TEST_CASE("sans_cover: DNS SANs cover names, IP SANs cover addresses", "[names]") {
  const std::vector<std::string> sans = {"DNS:www.example.com", "DNS:*.api.example.com", "IP:192.0.2.1",
                                         "IP:2001:db8::1", "email:ops@example.com"};
  struct Case {
    const char* host;
    bool covered;
  };
  for (const Case& c : {
           Case{"www.example.com", true},
           Case{"WWW.example.com.", true},
           Case{"v1.api.example.com", true},
           Case{"api.example.com", false},
           Case{"example.com", false},
           Case{"192.0.2.1", true},
           Case{"192.0.2.2", false},
           Case{"2001:db8::1", true},
           Case{"2001:DB8:0:0:0:0:0:1", true},
           Case{"2001:db8::2", false},
           Case{"ops@example.com", false},
           Case{"", false},
       }) {
    INFO(c.host);
    CHECK(applctl::sans_cover(sans, c.host) == c.covered);
  }
  // Canonical comparison both ways, and a case-insensitive prefix.
  CHECK(applctl::sans_cover({"ip:0:0::1"}, "::1"));
  CHECK(applctl::sans_cover({"IP:::1"}, "0:0::1"));
  // An IP host is covered by IP SANs only, a name by DNS SANs only.
  CHECK_FALSE(applctl::sans_cover({"DNS:192.0.2.1"}, "192.0.2.1"));
  CHECK_FALSE(applctl::sans_cover({"IP:192.0.2.1"}, "www.example.com"));
  CHECK_FALSE(applctl::sans_cover({}, "www.example.com"));
}
