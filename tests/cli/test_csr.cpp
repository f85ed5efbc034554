// End-to-end: `csr create | list | show | remove` through the built binary; `openssl req` is the
// oracle for every request applctl prints or writes.
#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "cli/harness.hpp"

namespace {
using clitest::chomp;
using clitest::count_rows;

using clitest::Appliance;
using clitest::openssl;
using clitest::Result;
namespace fs = std::filesystem;
using Json = nlohmann::json;

using clitest::contains;

// The SAN line of `openssl req -text`, split: {"DNS:a", "IP Address:10.0.0.1"}.
std::vector<std::string> req_sans(const std::string& text) {
  auto pos = text.find("X509v3 Subject Alternative Name:");
  if (pos == std::string::npos) return {};
  pos = text.find('\n', pos);
  return clitest::split_san_line(text.substr(pos + 1, text.find('\n', pos + 1) - pos - 1));
}

std::string req_subject(const std::string& pem) {
  Result r = openssl({"req", "-noout", "-subject", "-nameopt", "RFC2253"}, pem);
  REQUIRE(r.code == 0);
  std::string v = chomp(r.out);
  return v.substr(v.find('=') + 1);
}

// SHA-256 of the request's DER, as openssl computes it.
std::string der_sha256(const Appliance& a, const std::string& pem) {
  fs::path der = a.dir / "req.der";
  REQUIRE(openssl({"req", "-outform", "DER", "-out", der.string()}, pem).code == 0);
  Result d = openssl({"dgst", "-sha256", "-r", der.string()});
  REQUIRE(d.code == 0);
  return d.out.substr(0, 64);
}

}  // namespace

TEST_CASE("csr create prints a request openssl verifies, with the subject, SANs and key asked for", "[cli][csr]") {
  Appliance a;
  Result r = a.run({"csr", "create", "--name", "web", "--key", "ec:P-384", "--country", "gb", "--org", "Acme", "--ou",
                    "Web", "--cn", "www.example.com", "--san", "shop.example.com", "--san", "192.0.2.7", "--san",
                    "www.example.com"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.rfind("-----BEGIN CERTIFICATE REQUEST-----\n", 0) == 0);
  CHECK(contains(r.out, "-----END CERTIFICATE REQUEST-----"));

  Result text = openssl({"req", "-verify", "-noout", "-text"}, r.out);
  INFO(text.out << text.err);
  REQUIRE(text.code == 0);
  CHECK(contains(text.out + text.err, "verify OK"));
  CHECK(contains(text.out, "NIST CURVE: P-384"));
  CHECK(contains(text.out, "Public-Key: (384 bit)"));
  CHECK(req_subject(r.out) == "CN=www.example.com,OU=Web,O=Acme,C=GB");
  CHECK(req_sans(text.out) == std::vector<std::string>{"DNS:www.example.com", "DNS:shop.example.com", "IP Address:192.0.2.7"});

  SECTION("the other key specs") {
    struct Spec {
      const char* flag;
      const char* text;
    };
    for (const Spec& s : {Spec{"rsa:2048", "Public-Key: (2048 bit)"}, Spec{"ed25519", "ED25519"},
                          Spec{"ec:P-256", "NIST CURVE: P-256"}}) {
      Result c = a.run({"csr", "create", "--name", std::string("k-") + s.flag, "--key", s.flag, "--cn", "*.example.com"});
      INFO(s.flag << ": " << c.err);
      REQUIRE(c.code == 0);
      Result t = openssl({"req", "-verify", "-noout", "-text"}, c.out);
      REQUIRE(t.code == 0);
      CHECK(contains(t.out, s.text));
      CHECK(req_sans(t.out) == std::vector<std::string>{"DNS:*.example.com"});  // a wildcard CN is the first SAN too
    }
  }
  SECTION("the default key is rsa:3072") {
    Result c = a.run({"csr", "create", "--name", "default-key", "--cn", "d.example.com"});
    REQUIRE(c.code == 0);
    Result t = openssl({"req", "-verify", "-noout", "-text"}, c.out);
    REQUIRE(t.code == 0);
    CHECK(contains(t.out, "Public-Key: (3072 bit)"));
    CHECK(contains(t.out, "sha256WithRSAEncryption"));
  }
}

TEST_CASE("csr create -o writes exactly what csr show prints", "[cli][csr]") {
  Appliance a;
  fs::path out = a.dir / "web.csr";
  Result r = a.run({"--json", "csr", "create", "--name", "web", "--key", "ec:P-256", "--cn", "www.example.com", "-o",
                    out.string()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  Json created = r.json();
  const std::string file = clitest::slurp(out);
  CHECK(created["pem"] == file);
  CHECK(openssl({"req", "-verify", "-noout", "-in", out.string()}).code == 0);

  Result by_name = a.run({"csr", "show", "web"});
  REQUIRE(by_name.code == 0);
  CHECK(by_name.out == file);  // byte-identical: what a CA asks for again at renewal
  Result by_id = a.run({"csr", "show", std::to_string(created["id"].get<std::int64_t>())});
  REQUIRE(by_id.code == 0);
  CHECK(by_id.out == file);
  Json details = a.json({"csr", "show", "web"});
  CHECK(details["pem"] == file);
  CHECK(details["friendly_name"] == "web");

  // Without -o, stdout is the request and nothing else.
  Result plain = a.run({"csr", "create", "--name", "api", "--key", "ec:P-256", "--cn", "api.example.com"});
  REQUIRE(plain.code == 0);
  CHECK(a.run({"csr", "show", "api"}).out == plain.out);
}

TEST_CASE("csr list describes each pending request", "[cli][csr]") {
  Appliance a;
  Json web = a.json({"csr", "create", "--name", "web", "--key", "ec:P-256", "--cn", "www.example.com", "--san",
                     "10.0.0.9"});
  Json api = a.json({"csr", "create", "--name", "api", "--key", "ed25519", "--org", "Acme", "--cn", "api.example.com"});
  Json list = a.json({"csr", "list"});
  REQUIRE(list.is_array());
  REQUIRE(list.size() == 2);
  const std::regex rfc3339(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)");
  for (const auto& row : list) {
    INFO(row.dump(2));
    for (const char* field : {"id", "friendly_name", "subject", "alt_names", "fingerprint_sha256", "created"})
      CHECK(row.contains(field));
    CHECK(row["id"].is_number_integer());
    CHECK(std::regex_match(row["created"].get<std::string>(), rfc3339));
    const std::string pem = a.run({"csr", "show", row["friendly_name"].get<std::string>()}).out;
    CHECK(row["fingerprint_sha256"] == der_sha256(a, pem));
    CHECK(row["subject"] == req_subject(pem));
  }
  const Json& w = list[0]["friendly_name"] == "web" ? list[0] : list[1];
  const Json& p = list[0]["friendly_name"] == "api" ? list[0] : list[1];
  CHECK(w["alt_names"] == Json({"DNS:www.example.com", "IP:10.0.0.9"}));
  CHECK(w["subject"] == "CN=www.example.com");
  CHECK(p["subject"] == "CN=api.example.com,O=Acme");
  CHECK(w["id"] != p["id"]);
  // What create printed is the list entry plus the PEM.
  for (const char* field : {"id", "friendly_name", "subject", "alt_names", "fingerprint_sha256", "created"}) {
    CHECK(w[field] == web[field]);
    CHECK(p[field] == api[field]);
  }

  Result table = a.run({"csr", "list"});
  REQUIRE(table.code == 0);
  CHECK(contains(table.out, "web"));
  CHECK(contains(table.out, "api"));
}

TEST_CASE("csr remove takes the request and its key", "[cli][csr]") {
  Appliance a;
  Json web = a.json({"csr", "create", "--name", "web", "--key", "ec:P-256", "--cn", "www.example.com"});
  a.json({"csr", "create", "--name", "api", "--key", "ec:P-256", "--cn", "api.example.com"});
  const auto keys = count_rows(a, "keys");
  const std::string id = std::to_string(web["id"].get<std::int64_t>());
  Json removed = a.json({"csr", "remove", id});
  CHECK(removed["friendly_name"] == "web");
  CHECK(a.run({"csr", "show", "web"}).code == 4);
  CHECK(a.run({"csr", "show", id}).code == 4);
  CHECK(a.run({"csr", "remove", "web"}).code == 4);
  CHECK(count_rows(a, "keys") == keys - 1);
  CHECK(a.json({"csr", "list"}).size() == 1);
  a.json({"csr", "remove", "api"});
  CHECK(a.json({"csr", "list"}).empty());
  CHECK(a.run({"csr", "show", "nosuch"}).code == 4);
  CHECK(a.run({"csr", "show", "999"}).code == 4);
}

TEST_CASE("csr create refuses an existing file or name and then adds no request", "[cli][csr]") {
  Appliance a;
  a.json({"csr", "create", "--name", "web", "--key", "ec:P-256", "--cn", "www.example.com"});
  fs::path out = a.dir / "taken.csr";
  clitest::spit(out, "keep me\n");
  const std::string before = a.dump();

  Result exists = a.run({"csr", "create", "--name", "api", "--key", "ec:P-256", "--cn", "api.example.com", "-o", out.string()});
  CHECK(exists.code == 5);
  CHECK(clitest::slurp(out) == "keep me\n");
  Result dup = a.run({"csr", "create", "--name", "web", "--key", "ec:P-256", "--cn", "other.example.com"});
  CHECK(dup.code == 5);
  CHECK(contains(dup.err, "web"));
  CHECK(dup.out.empty());
  CHECK(a.run({"csr", "create", "--name", "bad", "--key", "rsa:1024", "--cn", "b.example.com"}).code == 6);
  CHECK(a.dump() == before);
  CHECK(a.json({"csr", "list"}).size() == 1);

  Result forced = a.run({"csr", "create", "--name", "api", "--key", "ec:P-256", "--cn", "api.example.com", "-o",
                         out.string(), "--force"});
  INFO(forced.err);
  CHECK(forced.code == 0);
  CHECK(clitest::slurp(out) == a.run({"csr", "show", "api"}).out);
}
