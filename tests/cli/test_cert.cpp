// End-to-end: `cert self-signed | list | show | check | rename | remove | default | export`
// through the built binary. Every file applctl writes is read back by the openssl CLI.
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/harness.hpp"

namespace {
using clitest::chomp;
using clitest::lower;
using clitest::mode_of;
using clitest::ScopedUmask;
using clitest::count_rows;

using clitest::Appliance;
using clitest::openssl;
using clitest::Result;
namespace fs = std::filesystem;
using Json = nlohmann::json;

using clitest::contains;

// "2027-01-31T12:00:00Z" (or openssl's "2027-01-31 12:00:00Z") as Unix time.
std::time_t parse_time(std::string s) {
  std::replace(s.begin(), s.end(), ' ', 'T');
  std::tm tm{};
  const char* end = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  INFO("time: " << s);
  REQUIRE(end != nullptr);
  REQUIRE(*end == '\0');
  return ::timegm(&tm);
}

// What the openssl CLI says about one certificate file.
struct Oracle {
  std::string text, serial, fingerprint, subject, issuer, not_before, not_after;
  std::vector<std::string> sans;  // as openssl prints them: "DNS:a", "IP Address:10.0.0.1"
};

std::string x509_value(const fs::path& f, const std::string& inform, std::vector<std::string> flags) {
  std::vector<std::string> args{"x509", "-in", f.string(), "-inform", inform, "-noout"};
  args.insert(args.end(), flags.begin(), flags.end());
  Result r = openssl(args);
  INFO("openssl x509 " << flags.front() << ": " << r.err);
  REQUIRE(r.code == 0);
  std::string v = chomp(r.out);
  return v.substr(v.find('=') + 1);
}

Oracle inspect(const fs::path& f, const std::string& inform = "PEM") {
  Oracle o;
  Result text = openssl({"x509", "-in", f.string(), "-inform", inform, "-noout", "-text"});
  INFO(text.err);
  REQUIRE(text.code == 0);
  o.text = text.out;
  o.serial = lower(x509_value(f, inform, {"-serial"}));
  std::string fp = x509_value(f, inform, {"-fingerprint", "-sha256"});
  fp.erase(std::remove(fp.begin(), fp.end(), ':'), fp.end());
  o.fingerprint = lower(fp);
  o.subject = x509_value(f, inform, {"-subject", "-nameopt", "RFC2253"});
  o.issuer = x509_value(f, inform, {"-issuer", "-nameopt", "RFC2253"});
  o.not_before = x509_value(f, inform, {"-startdate", "-dateopt", "iso_8601"});
  o.not_after = x509_value(f, inform, {"-enddate", "-dateopt", "iso_8601"});
  std::replace(o.not_before.begin(), o.not_before.end(), ' ', 'T');
  std::replace(o.not_after.begin(), o.not_after.end(), ' ', 'T');
  Result san = openssl({"x509", "-in", f.string(), "-inform", inform, "-noout", "-ext", "subjectAltName"});
  REQUIRE(san.code == 0);
  auto nl = san.out.find('\n');
  if (nl != std::string::npos) {
    std::string line = chomp(san.out.substr(nl + 1));
    line.erase(0, line.find_first_not_of(' '));
    for (std::size_t start = 0; start < line.size();) {
      std::size_t comma = line.find(", ", start);
      o.sans.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 2;
    }
  }
  return o;
}

// "CN=a,O=b,C=US" -> {CN: a, O: b, C: US} (the test's values hold no commas).
std::map<std::string, std::string> rdns(const std::string& rfc4514) {
  std::map<std::string, std::string> out;
  for (std::size_t start = 0; start < rfc4514.size();) {
    std::size_t comma = rfc4514.find(',', start);
    std::string rdn = rfc4514.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    out[rdn.substr(0, rdn.find('='))] = rdn.substr(rdn.find('=') + 1);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

Json self_signed(const Appliance& a, const std::string& name, std::vector<std::string> extra) {
  std::vector<std::string> args{"cert", "self-signed", "--name", name};
  args.insert(args.end(), extra.begin(), extra.end());
  return a.json(args);
}

fs::path export_as(const Appliance& a, const std::string& ref, const std::string& format, const std::string& file) {
  fs::path out = a.dir / file;
  Result r = a.run({"cert", "export", ref, "--format", format, "-o", out.string()});
  INFO("export " << ref << " " << format << ": " << r.err);
  REQUIRE(r.code == 0);
  return out;
}

std::set<std::string> warning_codes(const Json& cert) {
  std::set<std::string> out;
  for (const auto& w : cert.at("warnings")) {
    CHECK_FALSE(w.at("message").get<std::string>().empty());
    out.insert(w.at("code").get<std::string>());
  }
  return out;
}

Json find_cert(const Json& list, const std::string& name) {
  for (const auto& c : list)
    if (c.at("friendly_name") == name) return c;
  FAIL("no certificate " << name << " in " << list.dump());
  return {};
}

// Every field of a `cert list` object (cli.md), with its type.
void check_list_fields(const Json& c) {
  INFO(c.dump(2));
  for (const char* f : {"friendly_name", "fingerprint_sha256", "issued_to", "issued_by", "not_before", "not_after", "role"})
    CHECK(c.at(f).is_string());
  for (const char* f : {"alt_names", "ips", "warnings"}) CHECK(c.at(f).is_array());
  CHECK(c.at("private_key").is_boolean());
  CHECK(c.at("default").is_boolean());
  parse_time(c.at("not_before"));
  parse_time(c.at("not_after"));
}

}  // namespace

TEST_CASE("cert self-signed makes the key and signature each key spec asks for", "[cli][cert]") {
  struct Spec {
    const char* flag;  // "" = the default (rsa:3072)
    const char* type;
    int bits;
    const char* key_text;  // in openssl -text
    const char* signature;
  };
  const Spec specs[] = {
      {"", "RSA", 3072, "Public-Key: (3072 bit)", "sha256WithRSAEncryption"},
      {"rsa:2048", "RSA", 2048, "Public-Key: (2048 bit)", "sha256WithRSAEncryption"},
      {"ec:P-256", "EC", 256, "NIST CURVE: P-256", "ecdsa-with-SHA256"},
      {"ec:P-384", "EC", 384, "NIST CURVE: P-384", "ecdsa-with-SHA256"},
      {"ed25519", "ED25519", 256, "ED25519 Public-Key", "ED25519"},
  };
  Appliance a;
  for (const auto& s : specs) {
    const std::string label = *s.flag ? s.flag : "default";
    DYNAMIC_SECTION("key " << label) {
      std::vector<std::string> args{"--cn", "k.example.com"};
      if (*s.flag) args.insert(args.end(), {"--key", s.flag});
      Json c = self_signed(a, "k", args);
      fs::path pem = export_as(a, "k", "pem", "k.pem");
      fs::path der = export_as(a, "k", "der", "k.der");
      Oracle o = inspect(pem);
      INFO(o.text);
      CHECK(contains(o.text, s.key_text));
      CHECK(contains(o.text, std::string("Signature Algorithm: ") + s.signature));
      if (std::string(s.type) == "RSA") CHECK(contains(o.text, "Public Key Algorithm: rsaEncryption"));
      if (std::string(s.type) == "EC") CHECK(contains(o.text, "Public-Key: (" + std::to_string(s.bits) + " bit)"));
      CHECK(c["fingerprint_sha256"] == o.fingerprint);

      // DER export == the PEM export decoded, and the same certificate by fingerprint.
      fs::path converted = a.dir / "converted.der";
      REQUIRE(openssl({"x509", "-in", pem.string(), "-outform", "DER", "-out", converted.string()}).code == 0);
      CHECK(clitest::slurp(der) == clitest::slurp(converted));
      CHECK(inspect(der, "DER").fingerprint == o.fingerprint);

      Json show = a.json({"cert", "show", "k"});
      CHECK(show["public_key"]["type"] == s.type);
      if (std::string(s.type) != "ED25519") CHECK(show["public_key"]["bits"] == s.bits);
      CHECK(show["signature_algorithm"] == s.signature);
      // The key in the store is the key of the certificate.
      CHECK(show["private_key"] == true);
    }
  }
}

TEST_CASE("cert self-signed with rsa:4096", "[cli][cert]") {
  Appliance a;
  Json c = self_signed(a, "big", {"--key", "rsa:4096", "--cn", "big.example.com"});
  Oracle o = inspect(export_as(a, "big", "pem", "big.pem"));
  CHECK(contains(o.text, "Public-Key: (4096 bit)"));
  CHECK(contains(o.text, "Signature Algorithm: sha256WithRSAEncryption"));
  CHECK(c["fingerprint_sha256"] == o.fingerprint);
  CHECK(a.json({"cert", "show", "big"})["public_key"]["bits"] == 4096);
}

TEST_CASE("cert self-signed writes the subject, SANs and validity asked for", "[cli][cert]") {
  Appliance a;
  a.json({"init", "--hostname", "www.example.com"});
  Json c = self_signed(a, "web", {"--key", "ec:P-256", "--country", "us", "--state", "California", "--locality",
                                  "San Jose", "--org", "Acme", "--ou", "Ops", "--cn", "www.example.com", "--san",
                                  "api.example.com", "--san", "IP:10.1.2.3", "--san", "2001:db8::1", "--san",
                                  "DNS:www.example.com", "--days", "90"});
  check_list_fields(c);
  fs::path pem = export_as(a, "web", "pem", "web.pem");
  Oracle o = inspect(pem);
  INFO(o.text);

  auto subject = rdns(o.subject);
  CHECK(subject == std::map<std::string, std::string>{{"C", "US"}, {"ST", "California"}, {"L", "San Jose"},
                                                       {"O", "Acme"}, {"OU", "Ops"}, {"CN", "www.example.com"}});
  CHECK(o.issuer == o.subject);
  // CN first, then the SANs in the order given, the repeated CN not twice; IPv4 and IPv6.
  CHECK(o.sans == std::vector<std::string>{"DNS:www.example.com", "DNS:api.example.com", "IP Address:10.1.2.3",
                                           "IP Address:2001:DB8:0:0:0:0:0:1"});
  CHECK(c["alt_names"] == Json({"DNS:www.example.com", "DNS:api.example.com", "IP:10.1.2.3", "IP:2001:db8::1"}));
  CHECK(c["issued_to"] == "www.example.com");
  CHECK(c["issued_by"] == "www.example.com");
  CHECK(c["role"] == "leaf");
  CHECK(c["private_key"] == true);
  CHECK(c["default"] == false);
  CHECK(c["ips"].empty());
  CHECK(c["fingerprint_sha256"] == o.fingerprint);

  // --days: the validity period, starting now; the JSON times are the certificate's.
  CHECK(c["not_before"] == o.not_before);
  CHECK(c["not_after"] == o.not_after);
  const auto period = parse_time(o.not_after) - parse_time(o.not_before);
  CHECK(std::abs(period - 90 * 86400) <= 86400);
  CHECK(std::abs(parse_time(o.not_before) - std::time(nullptr)) <= 86400);

  // The output of self-signed is what list and show say about the certificate.
  Json listed = find_cert(a.json({"cert", "list"}), "web");
  for (const char* f : {"fingerprint_sha256", "issued_to", "issued_by", "not_before", "not_after", "alt_names",
                        "private_key", "default", "role", "ips", "warnings"})
    CHECK(listed[f] == c[f]);
}

TEST_CASE("a wildcard CN is the first SAN", "[cli][cert]") {
  Appliance a;
  Json c = self_signed(a, "wild", {"--key", "ec:P-256", "--cn", "*.example.com", "--san", "example.com"});
  Oracle o = inspect(export_as(a, "wild", "pem", "wild.pem"));
  CHECK(o.sans == std::vector<std::string>{"DNS:*.example.com", "DNS:example.com"});
  CHECK(c["alt_names"] == Json({"DNS:*.example.com", "DNS:example.com"}));
  CHECK(rdns(o.subject)["CN"] == "*.example.com");
}

TEST_CASE("a certificate with SANs and no subject marks the SAN extension critical", "[cli][cert]") {
  Appliance a;
  self_signed(a, "bare", {"--key", "ec:P-256", "--san", "bare.example.com"});
  Oracle o = inspect(export_as(a, "bare", "pem", "bare.pem"));
  INFO(o.text);
  CHECK(o.subject.empty());
  CHECK(contains(o.text, "X509v3 Subject Alternative Name: critical"));  // RFC 5280 4.2.1.6
  CHECK(o.sans == std::vector<std::string>{"DNS:bare.example.com"});
}

TEST_CASE("serial numbers are random 128-bit numbers, and cert show prints them as openssl does", "[cli][cert]") {
  Appliance a;
  self_signed(a, "one", {"--key", "ec:P-256", "--cn", "same.example.com"});
  self_signed(a, "two", {"--key", "ec:P-256", "--cn", "same.example.com"});
  Oracle one = inspect(export_as(a, "one", "pem", "one.pem"));
  Oracle two = inspect(export_as(a, "two", "pem", "two.pem"));
  CHECK(one.serial.size() == 32);  // 16 bytes, top bit set: never shorter
  CHECK(two.serial.size() == 32);
  CHECK(one.serial != two.serial);
  for (const auto& [name, o] : {std::pair{"one", one}, std::pair{"two", two}}) {
    std::string expected = o.serial;
    expected.erase(0, std::min(expected.find_first_not_of('0'), expected.size() - 1));
    CHECK(a.json({"cert", "show", name})["serial"] == expected);
  }
}

TEST_CASE("cert list flags what is wrong with each certificate", "[cli][cert]") {
  Appliance a;
  a.json({"init", "--hostname", "appl.example.com"});
  self_signed(a, "covered", {"--key", "ec:P-256", "--cn", "appl.example.com"});
  self_signed(a, "nosan", {"--key", "ec:P-256", "--cn", "My Appliance"});
  self_signed(a, "ipsan", {"--key", "ec:P-256", "--cn", "appl.example.com", "--san", "10.0.0.1"});
  self_signed(a, "other", {"--key", "ec:P-256", "--cn", "other.example.org"});
  self_signed(a, "soon", {"--key", "ec:P-256", "--cn", "appl.example.com", "--days", "10"});
  self_signed(a, "wild", {"--key", "ec:P-256", "--cn", "*.example.com"});

  Json list = a.json({"cert", "list"});
  REQUIRE(list.size() == 7);
  using Codes = std::set<std::string>;
  CHECK(warning_codes(find_cert(list, "covered")) == Codes{"self-signed"});
  CHECK(warning_codes(find_cert(list, "nosan")) == Codes{"self-signed", "no-san", "hostname-not-covered"});
  CHECK(warning_codes(find_cert(list, "ipsan")) == Codes{"self-signed", "ip-san"});
  CHECK(warning_codes(find_cert(list, "other")) == Codes{"self-signed", "hostname-not-covered"});
  CHECK(warning_codes(find_cert(list, "soon")) == Codes{"self-signed", "expires-soon"});
  CHECK(warning_codes(find_cert(list, "wild")) == Codes{"self-signed"});  // *.example.com covers appl.example.com
  CHECK(find_cert(list, "nosan")["alt_names"].empty());
  CHECK(find_cert(list, "nosan")["issued_to"] == "My Appliance");
  // cn-not-first-san and weak-key cannot be produced by self-signed (applctl puts the CN first and
  // refuses RSA below 2048); imported certificates are tested elsewhere.

  int defaults = 0;
  for (const auto& c : list) {
    check_list_fields(c);
    CHECK(c["role"] == "leaf");
    CHECK(c["private_key"] == true);
    if (c["default"] == true) {
      ++defaults;
      CHECK(c["friendly_name"] == "factory-default");
    }
  }
  CHECK(defaults == 1);

  // The table: a header, one row per certificate with its warning codes.
  Result table = a.run({"cert", "list"});
  REQUIRE(table.code == 0);
  CHECK(table.err.empty());
  std::vector<std::string> lines;
  std::istringstream in(table.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  REQUIRE(lines.size() == 8);
  CHECK(lines[0].rfind("NAME", 0) == 0);
  CHECK(contains(lines[0], "WARNINGS"));
  for (const auto& [name, code] : {std::pair{"nosan", "no-san"}, std::pair{"ipsan", "ip-san"},
                                   std::pair{"soon", "expires-soon"}, std::pair{"other", "hostname-not-covered"}}) {
    auto it = std::find_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.rfind(std::string(name) + " ", 0) == 0; });
    REQUIRE(it != lines.end());
    CHECK(contains(*it, code));
  }
}

// A cert list or cert show entry with the day count of its expires-soon message ("expires in N
// days, on <not_after>") replaced by "N", after checking N against the entry's not_after and the
// wall clock before and after the command that wrote it: (not_after - now) / 86400 for some now
// in [from, to].
Json without_days_left(Json entry, std::time_t from, std::time_t to) {
  const std::string prefix = "expires in ";
  for (auto& w : entry["warnings"]) {
    if (w["code"] != "expires-soon") continue;
    const std::string message = w["message"];
    INFO("expires-soon: " << message);
    REQUIRE(message.rfind(prefix, 0) == 0);
    const std::size_t end = message.find(" days, on ");
    REQUIRE(end != std::string::npos);
    const long days = std::stol(message.substr(prefix.size(), end - prefix.size()));
    const std::time_t not_after = parse_time(entry["not_after"]);
    CHECK(days <= (not_after - from) / 86400);
    CHECK(days >= (not_after - to) / 86400);
    w["message"] = prefix + "N" + message.substr(end);
  }
  return entry;
}

TEST_CASE("cert list --json is the text nlohmann writes and each entry is what cert show says", "[cli][cert]") {
  // cert list writes its JSON text itself (render.cpp, append_json): nlohmann's dump(2) of the
  // parsed document is the reference for the text, and cert show, built with nlohmann from the
  // same summary, for the members.
  Appliance a;
  a.json({"init", "--hostname", "appl.example.com"});
  self_signed(a, "we\"ird\\name", {"--key", "ec:P-256", "--cn", "appl.example.com", "--san", "10.0.0.1"});
  self_signed(a, "ünï€😀", {"--key", "rsa:2048", "--cn", "My \"Appliance\" ü", "--days", "10"});
  self_signed(a, "wild", {"--key", "ec:P-256", "--cn", "*.example.com", "--san", "a.example.com", "--san", "::1"});
  REQUIRE(a.run({"ip", "add", "10.1.1.1"}).code == 0);
  REQUIRE(a.run({"ip", "add", "10.1.1.2"}).code == 0);
  REQUIRE(a.run({"ip", "assign", "ünï€😀", "10.1.1.1", "10.1.1.2"}).code == 0);

  // The 10-day certificate's expires-soon warning says "expires in N days", N counted from the
  // wall clock of each command: a day boundary of not_after (10 days after the second it was
  // made) may fall between cert list and cert show. Both messages are checked against the clock
  // around their command, then compared without the number, which is all that cannot drift.
  const std::time_t list_from = std::time(nullptr);
  Result r = a.run({"--json", "cert", "list"});
  const std::time_t list_to = std::time(nullptr);
  REQUIRE(r.code == 0);
  const Json list = r.json();
  REQUIRE(list.size() == 4);
  CHECK(r.out == list.dump(2) + "\n");
  CHECK(find_cert(list, "ünï€😀")["ips"] == Json{"10.1.1.1", "10.1.1.2"});
  CHECK(find_cert(list, "ünï€😀")["issued_to"] == "My \"Appliance\" ü");
  CHECK(warning_codes(find_cert(list, "ünï€😀")).count("expires-soon") == 1);
  for (const auto& c : list) {
    const std::time_t show_from = std::time(nullptr);
    Json shown = a.json({"cert", "show", c["fingerprint_sha256"]});
    const std::time_t show_to = std::time(nullptr);
    for (const char* only_in_show : {"subject", "issuer", "serial", "signature_algorithm", "public_key", "chain"}) {
      CHECK(shown.contains(only_in_show));
      shown.erase(only_in_show);
    }
    CHECK(without_days_left(shown, show_from, show_to) == without_days_left(c, list_from, list_to));
  }
  // An empty store: an empty array.
  Appliance empty;
  Result none = empty.run({"--json", "cert", "list"});
  CHECK(none.code == 0);
  CHECK(none.out == "[]\n");
}

TEST_CASE("cert show prints the certificate's details as openssl reads them", "[cli][cert]") {
  Appliance a;
  self_signed(a, "web", {"--key", "ec:P-384", "--org", "Acme", "--country", "DE", "--cn", "www.example.com"});
  Oracle o = inspect(export_as(a, "web", "pem", "web.pem"));
  Json s = a.json({"cert", "show", "web"});
  check_list_fields(s);
  CHECK(s["subject"] == o.subject);  // RFC 4514, as openssl's RFC2253 output
  CHECK(s["issuer"] == o.issuer);
  CHECK(rdns(s["subject"]) == std::map<std::string, std::string>{{"C", "DE"}, {"O", "Acme"}, {"CN", "www.example.com"}});
  CHECK(s["signature_algorithm"] == "ecdsa-with-SHA256");
  CHECK(s["public_key"]["type"] == "EC");
  CHECK(s["public_key"]["bits"] == 384);
  std::string serial = o.serial;
  serial.erase(0, std::min(serial.find_first_not_of('0'), serial.size() - 1));
  CHECK(s["serial"] == serial);
  CHECK(s["chain"]["mode"] == "automatic");
  CHECK(s["chain"]["certificates"] == Json({o.fingerprint}));
  CHECK(s["chain"]["complete"] == true);

  Result human = a.run({"cert", "show", "web"});
  REQUIRE(human.code == 0);
  CHECK(contains(human.out, "web"));
  CHECK(contains(human.out, o.fingerprint));
  CHECK(contains(human.out, serial));
}

TEST_CASE("cert check exits 10 when a certificate expires within the window", "[cli][cert]") {
  Appliance a;
  a.json({"init", "--hostname", "appl.example.com"});  // factory default: 10 years
  self_signed(a, "year", {"--key", "ec:P-256", "--cn", "appl.example.com", "--days", "365"});

  Json ok = a.json({"cert", "check"});
  CHECK(ok["ok"] == true);
  REQUIRE(ok["certificates"].size() == 2);
  for (const auto& c : ok["certificates"]) CHECK(c["status"] == "ok");
  CHECK(a.json({"cert", "check", "--expires-in", "30d"})["ok"] == true);

  Json soon = a.json({"cert", "check", "--expires-in", "400d"}, 10);
  CHECK(soon["ok"] == false);
  REQUIRE(soon["certificates"].size() == 2);
  for (const auto& c : soon["certificates"])
    CHECK(c["status"] == (c["friendly_name"] == "year" ? "expires-soon" : "ok"));
  CHECK(a.run({"cert", "check", "--expires-in", "400d"}).code == 10);  // human form too

  // Only the certificates named are checked.
  Json named = a.json({"cert", "check", "factory-default", "--expires-in", "400d"});
  REQUIRE(named["certificates"].size() == 1);
  CHECK(named["certificates"][0]["friendly_name"] == "factory-default");
  CHECK(a.json({"cert", "check", "year", "--expires-in", "400d"}, 10)["certificates"].size() == 1);
  CHECK(a.json({"cert", "check", "year", "--expires-in", "360d"})["ok"] == true);
  CHECK(a.json({"cert", "check", "year", "--expires-in", "24h"})["ok"] == true);

  // The default window is 30 days.
  self_signed(a, "short", {"--key", "ec:P-256", "--cn", "appl.example.com", "--days", "10"});
  CHECK(a.json({"cert", "check"}, 10)["ok"] == false);
  CHECK(a.json({"cert", "check", "year"})["ok"] == true);

  for (std::string bad : {"abc", "30x", "-5d", ""}) {
    Result r = a.run({"cert", "check", "--expires-in", bad});
    INFO("'" << bad << "': " << r.err);
    CHECK(r.code == 6);
  }
  CHECK(a.run({"cert", "check", "nosuch"}).code == 4);
  CHECK(a.run({"cert", "check", "year", "nosuch"}).code == 4);
}

TEST_CASE("cert rename, remove and default", "[cli][cert]") {
  Appliance a;
  a.json({"init", "--hostname", "appl.example.com"});
  Json web = self_signed(a, "web", {"--key", "ec:P-256", "--cn", "appl.example.com"});
  self_signed(a, "api", {"--key", "ed25519", "--cn", "api.example.com"});

  SECTION("rename") {
    Json r = a.json({"cert", "rename", "web", "web-2027"});
    CHECK(r["friendly_name"] == "web-2027");
    CHECK(a.json({"cert", "show", "web-2027"})["fingerprint_sha256"] == web["fingerprint_sha256"]);
    CHECK(a.run({"cert", "show", "web"}).code == 4);
    const std::string before = a.dump();
    Result taken = a.run({"cert", "rename", "web-2027", "api"});
    CHECK(taken.code == 5);
    CHECK(contains(taken.err, "api"));
    CHECK(a.run({"cert", "rename", "web-2027", "factory-default"}).code == 5);
    CHECK(a.run({"cert", "rename", "nosuch", "x"}).code == 4);
    CHECK(a.run({"cert", "rename", "web-2027", ""}).code == 6);
    CHECK(a.dump() == before);
  }
  SECTION("remove takes the certificate and its key") {
    const auto keys = count_rows(a, "keys");
    const std::string before = a.dump();
    Result factory = a.run({"cert", "remove", "factory-default"});
    CHECK(factory.code == 5);
    CHECK(contains(factory.err, "factory-default"));
    CHECK(a.dump() == before);
    Json removed = a.json({"cert", "remove", "api"});
    CHECK(removed["friendly_name"] == "api");
    CHECK(a.run({"cert", "show", "api"}).code == 4);
    CHECK(count_rows(a, "keys") == keys - 1);
    CHECK(a.json({"cert", "list"}).size() == 2);
    CHECK(a.run({"cert", "remove", "api"}).code == 4);
  }
  SECTION("default moves, and comes back to the factory certificate when its certificate is removed") {
    Json d = a.json({"cert", "default", "web"});
    CHECK(d["default"] == true);
    Json list = a.json({"cert", "list"});
    CHECK(find_cert(list, "web")["default"] == true);
    CHECK(find_cert(list, "factory-default")["default"] == false);
    CHECK(find_cert(list, "api")["default"] == false);
    CHECK(a.json({"status"})["default"] == "web");

    a.json({"cert", "default", "api"});
    list = a.json({"cert", "list"});
    CHECK(find_cert(list, "api")["default"] == true);
    CHECK(find_cert(list, "web")["default"] == false);

    CHECK(a.json({"cert", "remove", "api"})["was_default"] == true);
    list = a.json({"cert", "list"});
    CHECK(find_cert(list, "factory-default")["default"] == true);
    CHECK(find_cert(list, "web")["default"] == false);
    CHECK(a.json({"status"})["default"] == "factory-default");
    CHECK(a.run({"cert", "default", "nosuch"}).code == 4);
  }
}

TEST_CASE("cert export writes files openssl reads, and keys only encrypted unless told otherwise", "[cli][cert]") {
  Appliance a;
  Json web = self_signed(a, "web", {"--key", "ec:P-256", "--cn", "www.example.com"});
  const std::string fp = web["fingerprint_sha256"];
  fs::path out = a.dir / "out.pem";
  fs::path pass = a.dir / "pass.txt";
  clitest::spit(pass, "s3cret passphrase\nsecond line is ignored\n");
  fs::path wrong = a.dir / "wrong.txt";
  clitest::spit(wrong, "not the passphrase\n");
  // The public key the certificate carries, to compare every exported key with.
  Result cert_pub = openssl({"x509", "-in", export_as(a, "web", "pem", "cert.pem").string(), "-noout", "-pubkey"});
  REQUIRE(cert_pub.code == 0);

  SECTION("an existing file is kept without --force and replaced with it") {
    clitest::spit(out, "keep me\n");
    Result r = a.run({"cert", "export", "web", "--format", "pem", "-o", out.string()});
    CHECK(r.code == 5);
    CHECK(clitest::slurp(out) == "keep me\n");
    r = a.run({"cert", "export", "web", "--format", "pem", "-o", out.string(), "--force"});
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(inspect(out).fingerprint == fp);
  }
  SECTION("certificate-only files are 0644") {
    ScopedUmask normal(022);
    for (const char* format : {"pem", "der", "p7b"}) {
      fs::path f = export_as(a, "web", format, std::string("c.") + format);
      CHECK(mode_of(f) == 0644);
    }
    Result p7 = openssl({"pkcs7", "-in", (a.dir / "c.p7b").string(), "-inform", "DER", "-print_certs", "-noout"});
    if (p7.code != 0) p7 = openssl({"pkcs7", "-in", (a.dir / "c.p7b").string(), "-print_certs", "-noout"});
    CHECK(p7.code == 0);
  }
  SECTION("usage and refusals") {
    CHECK(a.run({"cert", "export", "web", "--format", "der", "--with-key", "-o", out.string()}).code == 2);
    Result no_source = a.run({"cert", "export", "web", "--format", "pkcs8", "-o", out.string()});
    CHECK(no_source.code == 5);
    CHECK(a.run({"cert", "export", "web", "--format", "p12", "-o", out.string()}).code == 5);
    CHECK(a.run({"cert", "export", "web", "--format", "pem", "--with-key", "-o", out.string()}).code == 5);
    CHECK(a.run({"cert", "export", "web", "--format", "pkcs8", "--no-passphrase", "-o", out.string()}).code == 5);
    CHECK(a.run({"cert", "export", "web", "--format", "p12", "--no-passphrase", "--insecure", "-o", out.string()})
              .code == 5);
    CHECK(a.run({"cert", "export", "nosuch", "--format", "pem", "-o", out.string()}).code == 4);
    CHECK_FALSE(fs::exists(out));
  }
  SECTION("pkcs8 --no-passphrase --insecure: a 0600 plain key that matches the certificate") {
    ScopedUmask permissive(0);
    Result r = a.run({"cert", "export", "web", "--format", "pkcs8", "--no-passphrase", "--insecure", "-o", out.string()});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(mode_of(out) == 0600);
    CHECK(contains(clitest::slurp(out), "-----BEGIN PRIVATE KEY-----"));
    Result pub = openssl({"pkey", "-in", out.string(), "-pubout", "-passin", "pass:"});
    INFO(pub.err);
    REQUIRE(pub.code == 0);
    CHECK(pub.out == cert_pub.out);
    // Replacing a world-readable file with --force still leaves a private file.
    fs::path readable = a.dir / "readable.pem";
    clitest::spit(readable, "old\n");
    ::chmod(readable.c_str(), 0644);
    REQUIRE(a.run({"cert", "export", "web", "--format", "pkcs8", "--no-passphrase", "--insecure", "-o",
                   readable.string(), "--force"})
                .code == 0);
    CHECK(mode_of(readable) == 0600);
    CHECK(openssl({"pkey", "-in", readable.string(), "-noout", "-passin", "pass:"}).code == 0);
  }
  SECTION("pkcs8 with --passphrase-file: encrypted with the file's first line") {
    ScopedUmask permissive(0);
    Result r = a.run({"cert", "export", "web", "--format", "pkcs8", "--passphrase-file", pass.string(), "-o", out.string()});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(mode_of(out) == 0600);
    CHECK(contains(clitest::slurp(out), "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    Result pub = openssl({"pkey", "-in", out.string(), "-passin", "file:" + pass.string(), "-pubout"});
    INFO(pub.err);
    REQUIRE(pub.code == 0);
    CHECK(pub.out == cert_pub.out);
    CHECK(openssl({"pkey", "-in", out.string(), "-passin", "file:" + wrong.string(), "-noout"}).code != 0);
    CHECK(openssl({"pkey", "-in", out.string(), "-passin", "pass:", "-noout"}).code != 0);
  }
  SECTION("pem --with-key: the certificate and its encrypted key") {
    a.env["APPLCTL_TEST_PASS"] = "env passphrase";
    Result r = a.run({"cert", "export", "web", "--format", "pem", "--with-key", "--passphrase-env", "APPLCTL_TEST_PASS",
                      "-o", out.string()});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(mode_of(out) == 0600);
    CHECK(inspect(out).fingerprint == fp);
    Result pub = openssl({"pkey", "-in", out.string(), "-passin", "pass:env passphrase", "-pubout"});
    REQUIRE(pub.code == 0);
    CHECK(pub.out == cert_pub.out);
  }
  SECTION("p12 with --passphrase-env") {
    a.env["APPLCTL_P12_PASS"] = "p12 passphrase";
    fs::path p12 = a.dir / "web.p12";
    Result r = a.run({"cert", "export", "web", "--format", "p12", "--passphrase-env", "APPLCTL_P12_PASS", "-o", p12.string()});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(mode_of(p12) == 0600);
    std::map<std::string, std::string> env{{"P12PASS", "p12 passphrase"}};
    Result info = clitest::run_process({"openssl", "pkcs12", "-in", p12.string(), "-info", "-noout", "-passin", "env:P12PASS"}, env);
    INFO(info.err);
    CHECK(info.code == 0);
    CHECK(clitest::run_process({"openssl", "pkcs12", "-in", p12.string(), "-info", "-noout", "-passin", "pass:wrong"}).code != 0);
    // The certificate and key inside are the stored ones.
    Result certs = clitest::run_process({"openssl", "pkcs12", "-in", p12.string(), "-nokeys", "-passin", "env:P12PASS"}, env);
    REQUIRE(certs.code == 0);
    fs::path from_p12 = a.dir / "from-p12.pem";
    clitest::spit(from_p12, certs.out);
    CHECK(inspect(from_p12).fingerprint == fp);
    Result key = clitest::run_process(
        {"openssl", "pkcs12", "-in", p12.string(), "-nocerts", "-nodes", "-passin", "env:P12PASS"}, env);
    REQUIRE(key.code == 0);
    Result pub = openssl({"pkey", "-pubout"}, key.out);
    REQUIRE(pub.code == 0);
    CHECK(pub.out == cert_pub.out);
    // An unset variable is bad input, and nothing is written.
    fs::path other = a.dir / "other.p12";
    CHECK(a.run({"cert", "export", "web", "--format", "p12", "--passphrase-env", "APPLCTL_UNSET_VARIABLE", "-o",
                 other.string()})
              .code == 6);
    CHECK_FALSE(fs::exists(other));
  }
}

TEST_CASE("the export confirmation does not call an unencrypted key encrypted", "[cli][cert]") {
  Appliance a;
  self_signed(a, "web", {"--key", "ec:P-256", "--cn", "www.example.com"});
  for (const char* format : {"pkcs8", "pem"}) {
    fs::path out = a.dir / (std::string("plain.") + format);
    std::vector<std::string> args{"cert", "export", "web", "--format", format, "--no-passphrase", "--insecure", "-o",
                                  out.string()};
    if (std::string(format) == "pem") args.push_back("--with-key");
    Result r = a.run(args);
    INFO(format << ": " << r.out << r.err);
    REQUIRE(r.code == 0);
    REQUIRE(contains(clitest::slurp(out), "-----BEGIN PRIVATE KEY-----"));  // written in the clear
    CHECK_FALSE(contains(r.out, "encrypted"));
    CHECK(contains(r.out, "IN THE CLEAR"));
    fs::remove(out);
    args.push_back("--json");
    Result j = a.run(args);
    REQUIRE(j.code == 0);
    Json doc = Json::parse(j.out);
    CHECK(doc["private_key"] == true);
    CHECK(doc["key_encrypted"] == false);
  }
}
