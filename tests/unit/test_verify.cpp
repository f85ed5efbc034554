// Path validation against a test PKI made with the openssl CLI; `openssl verify` with the matching
// flags is the oracle for every row of the table (and where applctl deliberately does better, the
// row says so and checks that openssl indeed disagrees).
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "applctl/base/error.hpp"
#include "applctl/verify/verify.hpp"
#include "test_verify_pki.hpp"

using namespace applctl;
using testpki::kCheckTime;
using testpki::TestPki;

namespace {

std::string ca_ext() { return TestPki::default_ca_ext(); }
std::string leaf_ext(const std::string& san) { return TestPki::default_leaf_ext(san); }

void build(TestPki& p) {
  p.root("root", "Test Root");
  p.root("root2", "Test Root 2");
  p.issue("inter", "Test Intermediate", "inter", "root", ca_ext());
  // The same CA (subject and key) cross-signed by root2, and an expired copy under root.
  p.issue("inter_x", "Test Intermediate", "inter", "root2", ca_ext());
  p.issue("inter_expired", "Test Intermediate", "inter", "root", ca_ext(), "20300101000000Z", "20310101000000Z");
  p.issue("leaf", "www.example.test", "leaf", "inter", leaf_ext("DNS:www.example.test, IP:192.0.2.10"));
  p.issue("leaf_client", "client.example.test", "leaf", "inter",
          "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth\n"
          "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\nsubjectAltName = DNS:client.example.test\n");
  p.issue("nc_ca", "Constrained CA", "nc_ca", "root", ca_ext() + "nameConstraints = critical,permitted;DNS:allowed.test\n");
  p.issue("leaf_nc_ok", "a.allowed.test", "leaf", "nc_ca", leaf_ext("DNS:a.allowed.test"));
  p.issue("leaf_nc_bad", "www.example.test", "leaf", "nc_ca", leaf_ext("DNS:www.example.test"));
  p.issue("pl0", "PathLen0 CA", "pl0", "root",
          "basicConstraints = critical,CA:TRUE,pathlen:0\nkeyUsage = critical,keyCertSign,cRLSign\n"
          "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n");
  p.issue("sub", "Sub CA", "sub", "pl0", ca_ext());
  p.issue("leaf_pl", "deep.example.test", "leaf", "sub", leaf_ext("DNS:deep.example.test"));
  // A self-issued intermediate (the intermediate re-keyed under the same name).
  p.issue("inter_rekey", "Test Intermediate", "inter_rekey", "inter", ca_ext());
  p.issue("leaf_rekey", "rekey.example.test", "leaf", "inter_rekey", leaf_ext("DNS:rekey.example.test"));
  // Valid for one day only: 2035-01-01T00:00:00Z .. 2035-01-02T00:00:00Z.
  p.issue("leaf_day", "day.example.test", "leaf", "inter", leaf_ext("DNS:day.example.test"), "20350101000000Z",
          "20350102000000Z");
}

TestPki& pki() {
  static TestPki p;
  static const bool built = (build(p), true);
  (void)built;
  return p;
}

struct Case {
  const char* name;
  std::string leaf;
  std::vector<std::string> untrusted;
  std::vector<std::string> roots;
  std::optional<std::string> hostname = std::nullopt;
  std::optional<std::string> ip = std::nullopt;
  Purpose purpose = Purpose::Server;
  std::optional<int> max_depth = std::nullopt;
  std::int64_t at = kCheckTime;
  std::string reason = "";      // "" when the path is valid
  bool openssl_agrees = true;   // false: applctl is deliberately right where OpenSSL 3.0 is not
};

VerifyPolicy policy_of(const Case& c) {
  VerifyPolicy p;
  for (const auto& r : c.roots) p.roots.push_back(pki().der(r));
  for (const auto& u : c.untrusted) p.untrusted.push_back(pki().der(u));
  p.hostname = c.hostname;
  p.ip = c.ip;
  p.purpose = c.purpose;
  p.max_depth = c.max_depth;
  p.at = Instant{c.at, 0};
  return p;
}

// `openssl verify` with the flags verify_chain uses (see lib/verify/verify.cpp).
bool openssl_says_valid(const Case& c, std::string& output) {
  auto& p = pki();
  std::string cmd = "openssl verify -no-CApath -no-CAstore -x509_strict -partial_chain -auth_level 2 -CAfile " +
                    testpki::quote(p.bundle("roots-oracle.pem", c.roots)) + " -attime " + std::to_string(c.at);
  if (!c.untrusted.empty()) cmd += " -untrusted " + testpki::quote(p.bundle("untrusted-oracle.pem", c.untrusted));
  if (c.hostname) cmd += " -verify_hostname " + *c.hostname;
  if (c.ip) cmd += " -verify_ip " + *c.ip;
  cmd += c.purpose == Purpose::Server ? " -purpose sslserver" : c.purpose == Purpose::Client ? " -purpose sslclient" : " -purpose any";
  if (c.max_depth) cmd += " -verify_depth " + std::to_string(*c.max_depth);
  cmd += " " + testpki::quote(p.path(c.leaf + ".pem"));
  return testpki::sh(cmd, &output) == 0;
}

}  // namespace

TEST_CASE("verify_chain agrees with openssl verify on a table of paths", "[chain]") {
  const std::vector<Case> cases = {
      {"leaf, intermediate, root", "leaf", {"inter"}, {"root"}, "www.example.test"},
      {"no hostname asked", "leaf", {"inter"}, {"root"}},
      {"intermediate missing", "leaf", {}, {"root"}, std::nullopt, std::nullopt, Purpose::Server, std::nullopt,
       kCheckTime, "unknown-issuer"},
      {"other root only", "leaf", {"inter"}, {"root2"}, std::nullopt, std::nullopt, Purpose::Server, std::nullopt,
       kCheckTime, "unknown-issuer"},
      {"intermediate as trust anchor", "leaf", {}, {"inter"}, "www.example.test"},
      {"cross-signed intermediate to root2", "leaf", {"inter_x"}, {"root2"}, "www.example.test"},
      // OpenSSL 3.0 commits to the first candidate issuer and does not backtrack.
      {"both intermediates, root2 trusted", "leaf", {"inter", "inter_x"}, {"root2"}, "www.example.test",
       std::nullopt, Purpose::Server, std::nullopt, kCheckTime, "", /*openssl_agrees=*/false},
      {"cross-signed candidate first, root trusted", "leaf", {"inter_x", "inter"}, {"root"}, "www.example.test",
       std::nullopt, Purpose::Server, std::nullopt, kCheckTime, "", /*openssl_agrees=*/false},
      {"expired alternative first", "leaf", {"inter_expired", "inter"}, {"root"}, "www.example.test"},
      {"expired intermediate only", "leaf", {"inter_expired"}, {"root"}, std::nullopt, std::nullopt, Purpose::Server,
       std::nullopt, kCheckTime, "expired"},
      {"hostname mismatch", "leaf", {"inter"}, {"root"}, "other.example.test", std::nullopt, Purpose::Server,
       std::nullopt, kCheckTime, "hostname-mismatch"},
      {"IP in SAN", "leaf", {"inter"}, {"root"}, std::nullopt, "192.0.2.10"},
      {"IP mismatch", "leaf", {"inter"}, {"root"}, std::nullopt, "192.0.2.11", Purpose::Server, std::nullopt,
       kCheckTime, "ip-mismatch"},
      {"name constraints permit", "leaf_nc_ok", {"nc_ca"}, {"root"}, "a.allowed.test"},
      {"name constraints forbid", "leaf_nc_bad", {"nc_ca"}, {"root"}, "www.example.test", std::nullopt,
       Purpose::Server, std::nullopt, kCheckTime, "name-constraints"},
      {"pathlen:0 CA with a sub-CA", "leaf_pl", {"sub", "pl0"}, {"root"}, std::nullopt, std::nullopt, Purpose::Server,
       std::nullopt, kCheckTime, "path-length-exceeded"},
      {"client-only leaf as server", "leaf_client", {"inter"}, {"root"}, std::nullopt, std::nullopt, Purpose::Server,
       std::nullopt, kCheckTime, "key-usage"},
      {"client-only leaf as client", "leaf_client", {"inter"}, {"root"}, std::nullopt, std::nullopt, Purpose::Client},
      {"server leaf as client", "leaf", {"inter"}, {"root"}, std::nullopt, std::nullopt, Purpose::Client,
       std::nullopt, kCheckTime, "key-usage"},
      {"any purpose", "leaf_client", {"inter"}, {"root"}, std::nullopt, std::nullopt, Purpose::Any},
      {"max depth 1", "leaf", {"inter"}, {"root"}, std::nullopt, std::nullopt, Purpose::Server, 1},
      {"max depth 0", "leaf", {"inter"}, {"root"}, std::nullopt, std::nullopt, Purpose::Server, 0, kCheckTime,
       "depth-exceeded"},
      {"max depth 1, self-issued intermediate not counted", "leaf_rekey", {"inter_rekey", "inter"}, {"root"},
       std::nullopt, std::nullopt, Purpose::Server, 1, kCheckTime, "", /*openssl_agrees=*/false},
      {"max depth 0, two intermediates", "leaf_pl", {"sub", "pl0"}, {"sub"}, std::nullopt, std::nullopt,
       Purpose::Server, 0},
      {"before notBefore", "leaf", {"inter"}, {"root"}, std::nullopt, std::nullopt, Purpose::Server, std::nullopt,
       1893455999, "not-yet-valid"},
      {"after notAfter", "leaf", {"inter"}, {"root"}, std::nullopt, std::nullopt, Purpose::Server, std::nullopt,
       2208988801, "expired"},
  };
  for (const auto& c : cases) {
    INFO("case: " << c.name);
    const VerifyResult r = verify_chain(pki().der(c.leaf), policy_of(c));
    INFO("applctl: " << (r.valid ? "valid" : r.reason) << " " << r.detail);
    CHECK(r.valid == c.reason.empty());
    CHECK(r.reason == c.reason);
    CHECK(r.checked_at == c.at);
    std::string output;
    const bool openssl_valid = openssl_says_valid(c, output);
    INFO("openssl verify: " << output);
    CHECK((openssl_valid == r.valid) == c.openssl_agrees);
  }
}

TEST_CASE("verify_chain reports the path leaf first with roles and statuses", "[chain]") {
  auto& p = pki();
  VerifyPolicy policy;
  policy.roots = p.ders({"root"});
  policy.untrusted = p.ders({"inter"});
  policy.hostname = "www.example.test";
  policy.at = Instant{kCheckTime, 0};
  const VerifyResult r = verify_chain(p.der("leaf"), policy);
  REQUIRE(r.valid);
  CHECK(r.reason.empty());
  REQUIRE(r.path.size() == 3);
  const char* names[] = {"leaf", "inter", "root"};
  const Role roles[] = {Role::Leaf, Role::Intermediate, Role::Root};
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(r.path[i].fingerprint_sha256 == sha256_hex(p.der(names[i])));
    CHECK(r.path[i].role == roles[i]);
    CHECK(r.path[i].status == "ok");
  }
  CHECK(r.path[0].subject == "CN=www.example.test");
  CHECK(r.path[2].subject == "CN=Test Root");

  SECTION("an invalid result still carries the partial path, with the failing certificate marked") {
    policy.roots = p.ders({"root2"});
    const VerifyResult bad = verify_chain(p.der("leaf"), policy);
    CHECK_FALSE(bad.valid);
    CHECK(bad.reason == "unknown-issuer");
    CHECK_FALSE(bad.detail.empty());
    REQUIRE(bad.path.size() == 2);
    CHECK(bad.path[0].status == "ok");
    CHECK(bad.path[1].status == "unknown-issuer");
    CHECK(bad.path[1].fingerprint_sha256 == sha256_hex(p.der("inter")));
  }
  SECTION("the expired certificate is the one marked expired") {
    policy.untrusted = p.ders({"inter_expired"});
    const VerifyResult bad = verify_chain(p.der("leaf"), policy);
    CHECK(bad.reason == "expired");
    REQUIRE(bad.path.size() == 3);
    CHECK(bad.path[0].status == "ok");
    CHECK(bad.path[1].status == "expired");
    CHECK(bad.path[2].status == "ok");
  }
  SECTION("the expired alternative is passed over for the valid one") {
    policy.untrusted = p.ders({"inter_expired", "inter"});
    const VerifyResult ok = verify_chain(p.der("leaf"), policy);
    CHECK(ok.valid);
    REQUIRE(ok.path.size() == 3);
    CHECK(ok.path[1].fingerprint_sha256 == sha256_hex(p.der("inter")));
  }
}

TEST_CASE("verify_chain treats validity bounds as instants, notAfter inclusive", "[chain]") {
  auto& p = pki();
  VerifyPolicy policy;
  policy.roots = p.ders({"root"});
  policy.untrusted = p.ders({"inter"});
  const std::int64_t not_before = 2051222400;  // 2035-01-01T00:00:00Z
  const std::int64_t not_after = 2051308800;   // 2035-01-02T00:00:00Z
  auto reason_at = [&](std::int64_t s, std::uint32_t ns) {
    policy.at = Instant{s, ns};
    const VerifyResult r = verify_chain(p.der("leaf_day"), policy);
    return r.valid ? std::string("ok") : r.reason;
  };
  CHECK(reason_at(not_before, 0) == "ok");
  CHECK(reason_at(not_before - 1, 500'000'000) == "not-yet-valid");  // 0.5 s before notBefore
  CHECK(reason_at(not_before - 1, 999'999'999) == "not-yet-valid");
  CHECK(reason_at(not_after, 0) == "ok");                            // RFC 5280: inclusive
  CHECK(reason_at(not_after, 500'000'000) == "expired");             // 0.5 s after notAfter
  CHECK(reason_at(not_after + 1, 0) == "expired");
}

TEST_CASE("verify_chain uses the current time when no --at is given", "[chain]") {
  auto& p = pki();
  VerifyPolicy policy;
  policy.roots = p.ders({"root"});
  policy.untrusted = p.ders({"inter"});
  const UnixTime before = now();
  const VerifyResult r = verify_chain(p.der("leaf"), policy);
  CHECK(r.checked_at >= before);
  CHECK(r.checked_at <= now());
  CHECK(r.reason == "not-yet-valid");  // the test PKI starts in 2030
}

TEST_CASE("verify_chain throws only when an input cannot be decoded", "[chain]") {
  auto& p = pki();
  VerifyPolicy policy;
  policy.roots = p.ders({"root"});
  const Bytes garbage = {0x30, 0x03, 0x02, 0x01};
  auto kind_of = [](auto&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return e.kind();
    }
    return ErrorKind::Failed;
  };
  CHECK(kind_of([&] { verify_chain(garbage, policy); }) == ErrorKind::BadInput);
  VerifyPolicy bad_root = policy;
  bad_root.roots.push_back(garbage);
  CHECK(kind_of([&] { verify_chain(p.der("leaf"), bad_root); }) == ErrorKind::BadInput);
  VerifyPolicy bad_ip = policy;
  bad_ip.ip = "192.0.2.300";
  CHECK(kind_of([&] { verify_chain(p.der("leaf"), bad_ip); }) == ErrorKind::Usage);
  VerifyPolicy bad_depth = policy;
  bad_depth.max_depth = -1;
  CHECK(kind_of([&] { verify_chain(p.der("leaf"), bad_depth); }) == ErrorKind::Usage);
  // A certificate that decodes but has no path is a result, not an exception.
  CHECK_FALSE(verify_chain(p.der("leaf"), VerifyPolicy{}).valid);
}

TEST_CASE("parse_purpose", "[chain]") {
  CHECK(parse_purpose("server") == Purpose::Server);
  CHECK(parse_purpose("client") == Purpose::Client);
  CHECK(parse_purpose("any") == Purpose::Any);
  CHECK_THROWS_AS(parse_purpose("sslserver"), Error);
}
