// End-to-end: `chain show | set | verify`. `chain verify --file` is compared case by case with
// `openssl verify -x509_strict` on the test PKI of tests/cli/test_pki.hpp.
#include <algorithm>
#include <ctime>
#include <string>
#include <vector>

#include "cli/harness.hpp"
#include "cli/test_pki.hpp"

namespace {

using clitest::Appliance;
using clitest::concat;
using clitest::has;
using clitest::openssl;
using clitest::openssl_fingerprint;
using clitest::openssl_ok;
using clitest::Result;
using clitest::TempDir;
using clitest::test_pki;
namespace fs = std::filesystem;
using Json = nlohmann::json;

std::vector<std::string> fingerprints(const Json& certificates) {
  std::vector<std::string> out;
  for (const auto& c : certificates) out.push_back(c.is_string() ? c.get<std::string>() : c.at("fingerprint_sha256").get<std::string>());
  return out;
}

std::vector<std::string> roles(const Json& certificates) {
  std::vector<std::string> out;
  for (const auto& c : certificates) out.push_back(c.at("role").get<std::string>());
  return out;
}

// The subject as applctl spells it (RFC 4514), by openssl.
std::string subject_4514(const fs::path& cert) {
  std::string s = openssl_ok({"x509", "-in", cert.string(), "-noout", "-subject", "-nameopt", "RFC2253"}).out;
  s = s.substr(s.find('=') + 1);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// notBefore / notAfter of a certificate as Unix time, by openssl.
std::time_t cert_time(const fs::path& cert, const std::string& which) {
  std::string s = openssl_ok({"x509", "-in", cert.string(), "-noout", "-" + which, "-dateopt", "iso_8601"}).out;
  s = s.substr(s.find('=') + 1);
  std::tm tm{};
  const char* end = ::strptime(s.c_str(), "%Y-%m-%d %H:%M:%SZ", &tm);
  INFO("time: " << s);
  REQUIRE(end != nullptr);
  return ::timegm(&tm);
}

std::string rfc3339(std::time_t t, const std::string& fraction = "") {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf) + fraction + "Z";
}

// An appliance holding `web` (a signed request of its own, so with its key), the intermediate
// and the root.
struct WebStore {
  Appliance a;
  fs::path web_pem = a.dir / "web.pem";
  std::string web, inter, root;
  WebStore() {
    const auto& pki = test_pki();
    fs::path req = a.dir / "web.csr";
    a.json({"csr", "create", "--name", "web", "--key", "ec:P-256", "--cn", "www.example.com", "-o", req.string()});
    pki.sign_csr(req, web_pem);
    web = openssl_fingerprint(web_pem);
    inter = pki.fingerprint("int");
    root = pki.fingerprint("root");
    a.json({"cert", "import", web_pem.string(), (pki / "int.pem").string(), (pki / "root.pem").string()});
  }
  Json show_chain() const { return a.json({"cert", "show", "web"}).at("chain"); }
};

}  // namespace

TEST_CASE("chain show: leaf to root with roles, and what is missing", "[cli][chain]") {
  const auto& pki = test_pki();
  Appliance a;
  const std::string leaf = pki.fingerprint("leaf");
  // Read-only: a missing store is an empty one, and is not created.
  CHECK(a.run({"chain", "show", "www.example.com"}).code == 4);
  CHECK_FALSE(fs::exists(a.store));

  a.json({"cert", "import", (pki / "leaf.pem").string()});
  Json c = a.json({"chain", "show", leaf.substr(0, 12)});
  CHECK(c.at("complete") == false);
  CHECK(fingerprints(c.at("certificates")) == std::vector<std::string>{leaf});
  CHECK(roles(c.at("certificates")) == std::vector<std::string>{"leaf"});
  CHECK(c.at("missing") == subject_4514(pki / "int.pem"));
  CHECK(c.at("mode") == "automatic");

  a.json({"cert", "import", (pki / "int.der").string()});
  c = a.json({"chain", "show", leaf.substr(0, 12)});
  CHECK(c.at("complete") == false);
  CHECK(fingerprints(c.at("certificates")) == std::vector<std::string>{leaf, pki.fingerprint("int")});
  CHECK(c.at("missing") == subject_4514(pki / "root.pem"));

  a.json({"cert", "import", (pki / "root.pem").string()});
  c = a.json({"chain", "show", leaf.substr(0, 12)});
  CHECK(c.at("complete") == true);
  CHECK(fingerprints(c.at("certificates")) ==
        std::vector<std::string>{leaf, pki.fingerprint("int"), pki.fingerprint("root")});
  CHECK(roles(c.at("certificates")) == std::vector<std::string>{"leaf", "intermediate", "root"});
  CHECK(c.at("certificates")[0].at("subject") == subject_4514(pki / "leaf.pem"));
  CHECK(c.at("certificates")[2].at("subject") == subject_4514(pki / "root.pem"));
  CHECK((c.at("missing").is_null() || c.at("missing") == ""));
  // cert show carries the same chain.
  Json shown = a.json({"cert", "show", leaf.substr(0, 12)}).at("chain");
  CHECK(shown.at("certificates") == Json(fingerprints(c.at("certificates"))));
  CHECK(shown.at("complete") == true);
  // Human output names every link.
  Result human = a.run({"chain", "show", leaf.substr(0, 12)});
  CHECK(human.code == 0);
  CHECK(has(human.out, "Test Intermediate CA"));
  CHECK(has(human.out, "Test Root CA"));
  CHECK(a.run({"chain", "show", "no-such-cert"}).code == 4);
}

TEST_CASE("chain set: automatic, current and manual chains, as cert show reports them", "[cli][chain]") {
  const auto& pki = test_pki();
  WebStore s;
  Appliance& a = s.a;
  Json c = s.show_chain();
  CHECK(c.at("mode") == "automatic");
  CHECK(c.at("certificates") == Json({s.web, s.inter, s.root}));
  CHECK(c.at("complete") == true);

  SECTION("no mode, or two modes, is a usage error that changes nothing") {
    const std::string before = a.dump();
    CHECK(a.run({"chain", "set", "web"}).code == 2);
    CHECK(a.run({"chain", "set", "web", "--automatic", "--current"}).code == 2);
    CHECK(a.run({"chain", "set", "web", "--current", "--manual", (pki / "int.pem").string()}).code == 2);
    CHECK(a.dump() == before);
    CHECK(a.run({"chain", "set", "nosuch", "--current"}).code == 4);
  }
  SECTION("--current freezes the chain; --automatic follows the store again") {
    Json set = a.json({"chain", "set", "web", "--current"});
    CHECK(set.at("mode") == "current");
    CHECK(fingerprints(set.at("certificates")) == std::vector<std::string>{s.web, s.inter, s.root});
    // The root leaves the store: the frozen chain still has it, the automatic one would not.
    REQUIRE(a.run({"cert", "remove", s.root.substr(0, 16)}).code == 0);
    c = s.show_chain();
    CHECK(c.at("mode") == "current");
    CHECK(c.at("certificates") == Json({s.web, s.inter, s.root}));
    CHECK(c.at("complete") == true);
    CHECK(fingerprints(a.json({"chain", "show", "web"}).at("certificates")) ==
          std::vector<std::string>{s.web, s.inter, s.root});
    a.json({"chain", "set", "web", "--automatic"});
    c = s.show_chain();
    CHECK(c.at("mode") == "automatic");
    CHECK(c.at("certificates") == Json({s.web, s.inter}));
    CHECK(c.at("complete") == false);
  }
  SECTION("--manual: the file's certificates, in order") {
    fs::path only_int = pki / "int.pem";
    a.json({"chain", "set", "web", "--manual", only_int.string()});
    c = s.show_chain();
    CHECK(c.at("mode") == "manual");
    CHECK(c.at("certificates") == Json({s.web, s.inter}));
    CHECK(c.at("complete") == false);
    Json shown = a.json({"chain", "show", "web"});
    CHECK(shown.at("complete") == false);
    CHECK(shown.at("mode") == "manual");

    // The cross-signed path to the second root (which is not even in the store).
    fs::path cross = concat(a.dir / "cross.pem", {pki / "xint.pem", pki / "root2.pem"});
    a.json({"chain", "set", "web", "--manual", cross.string()});
    c = s.show_chain();
    CHECK(c.at("certificates") == Json({s.web, pki.fingerprint("xint"), pki.fingerprint("root2")}));
    CHECK(c.at("complete") == true);
    // The file may start with the certificate itself.
    fs::path full = concat(a.dir / "full.pem", {s.web_pem, pki / "int.pem", pki / "root.pem"});
    a.json({"chain", "set", "web", "--manual", full.string()});
    c = s.show_chain();
    CHECK(c.at("certificates") == Json({s.web, s.inter, s.root}));
    CHECK(c.at("complete") == true);
  }
  SECTION("--manual with certificates that do not chain: exit 6, nothing changed") {
    a.json({"chain", "set", "web", "--current"});
    const std::string before = a.dump();
    fs::path reversed = concat(a.dir / "reversed.pem", {pki / "root.pem", pki / "int.pem"});
    fs::path foreign = pki / "root2.pem";
    fs::path skips = concat(a.dir / "skips.pem", {pki / "int.pem", pki / "root2.pem"});
    fs::path garbage = a.dir / "garbage.pem";
    clitest::spit(garbage, "no certificates here\n");
    for (const auto& f : {reversed, foreign, skips, garbage}) {
      INFO("--manual " << f);
      Result r = a.run({"chain", "set", "web", "--manual", f.string()});
      INFO(r.err);
      CHECK(r.code == 6);
      CHECK(has(r.err, f.filename().string()));
      CHECK(a.dump() == before);
    }
    CHECK(s.show_chain().at("mode") == "current");
  }
}

TEST_CASE("chain verify --file agrees with openssl verify on the test PKI", "[cli][chain]") {
  const auto& pki = test_pki();
  TempDir tmp;
  // Verify needs no store: this one never exists.
  const fs::path nostore = tmp / "no-store";
  const auto P = [&](const std::string& n) { return (pki / n).string(); };
  const std::string int_xint = concat(tmp / "int-xint.pem", {pki / "int.pem", pki / "xint.pem"}).string();
  const std::string xint_int = concat(tmp / "xint-int.pem", {pki / "xint.pem", pki / "int.pem"}).string();
  const std::string expint_int = concat(tmp / "expint-int.pem", {pki / "expint.pem", pki / "int.pem"}).string();
  const std::string int_sub = concat(tmp / "int-sub.pem", {pki / "int.pem", pki / "sub.pem"}).string();
  const std::string leaf_int = concat(tmp / "leaf-int.pem", {pki / "leaf.pem", pki / "int.pem"}).string();
  const std::time_t not_after = cert_time(pki / "leaf.pem", "enddate");
  const std::time_t not_before = cert_time(pki / "leaf.pem", "startdate");

  struct Case {
    std::string what;
    std::string file;                 // --file (first certificate verified)
    std::string roots;                // --roots / -CAfile
    std::vector<std::string> untrusted;
    std::vector<std::string> applctl_args;
    std::vector<std::string> openssl_args;
    int code;                         // applctl's exit
    std::string reason;               // "" when valid
    bool openssl_agrees = true;       // false: a documented difference, openssl's verdict asserted too
    std::size_t path = 3;             // certificates in the path when valid
  };
  const std::vector<Case> cases{
      {"valid chain", P("leaf.pem"), P("root.pem"), {P("int.pem")}, {}, {}, 0, ""},
      {"the intermediate in --file after the leaf", leaf_int, P("root.pem"), {}, {}, {}, 0, ""},
      {"missing intermediate", P("leaf.pem"), P("root.pem"), {}, {}, {}, 3, "unknown-issuer"},
      {"wrong root", P("leaf.pem"), P("root2.pem"), {P("int.pem")}, {}, {}, 3, "unknown-issuer"},
      {"expired intermediate alone", P("leaf.pem"), P("root.pem"), {P("expint.pem")}, {}, {}, 3, "expired"},
      {"expired and current intermediate both offered", P("leaf.pem"), P("root.pem"), {expint_int}, {}, {}, 0, ""},
      {"cross-signed: path via root2 listed first", P("leaf.pem"), P("root2.pem"), {xint_int}, {}, {}, 0, ""},
      {"cross-signed: path via root listed first", P("leaf.pem"), P("root.pem"), {int_xint}, {}, {}, 0, ""},
      // OpenSSL 3.0 builds one path and does not backtrack; applctl tries the other paths.
      {"cross-signed: the bad path listed first (root2 trusted)", P("leaf.pem"), P("root2.pem"), {int_xint}, {}, {}, 0, "",
       false},
      {"cross-signed: the bad path listed first (root trusted)", P("leaf.pem"), P("root.pem"), {xint_int}, {}, {}, 0, "",
       false},
      {"hostname ok", P("leaf.pem"), P("root.pem"), {P("int.pem")}, {"--hostname", "www.example.com"},
       {"-verify_hostname", "www.example.com"}, 0, ""},
      {"hostname ok (second SAN)", P("leaf.pem"), P("root.pem"), {P("int.pem")}, {"--hostname", "example.com"},
       {"-verify_hostname", "example.com"}, 0, ""},
      {"hostname mismatch", P("leaf.pem"), P("root.pem"), {P("int.pem")}, {"--hostname", "mail.example.com"},
       {"-verify_hostname", "mail.example.com"}, 3, "hostname-mismatch"},
      {"ip ok", P("leaf.pem"), P("root.pem"), {P("int.pem")}, {"--ip", "192.0.2.10"}, {"-verify_ip", "192.0.2.10"}, 0, ""},
      {"ip mismatch", P("leaf.pem"), P("root.pem"), {P("int.pem")}, {"--ip", "192.0.2.11"}, {"-verify_ip", "192.0.2.11"}, 3,
       "ip-mismatch"},
      {"--at long before notBefore", P("leaf.pem"), P("root.pem"), {P("int.pem")}, {"--at", "2001-09-09T01:46:40.250Z"},
       {"-attime", "1000000000"}, 3, "not-yet-valid"},
      {"--at half a second before the leaf's notBefore", P("leaf.pem"), P("root.pem"), {P("int.pem")},
       {"--at", rfc3339(not_before - 1, ".5")}, {"-attime", std::to_string(not_before - 1)}, 3, "not-yet-valid"},
      {"--at the leaf's notAfter, fractional zero", P("leaf.pem"), P("root.pem"), {P("int.pem")},
       {"--at", rfc3339(not_after, ".000")}, {"-attime", std::to_string(not_after - 1)}, 0, ""},
      {"--at half a second after the leaf's notAfter", P("leaf.pem"), P("root.pem"), {P("int.pem")},
       {"--at", rfc3339(not_after, ".5")}, {"-attime", std::to_string(not_after + 1)}, 3, "expired"},
      {"--max-depth 0 with one intermediate", P("leaf.pem"), P("root.pem"), {P("int.pem")}, {"--max-depth", "0"},
       {"-verify_depth", "0"}, 3, "*"},
      {"--max-depth 1 with one intermediate", P("leaf.pem"), P("root.pem"), {P("int.pem")}, {"--max-depth", "1"},
       {"-verify_depth", "1"}, 0, ""},
      {"path length exceeded (pathlen:0 intermediate over a sub-CA)", P("leaf_sub.pem"), P("root.pem"), {int_sub}, {}, {}, 3,
       "path-length-exceeded", true, 4},
      {"SHA-1 signed leaf (security level 2)", P("leaf_sha1.pem"), P("root.pem"), {P("int.pem")}, {}, {"-auth_level", "2"},
       3, "weak-signature"},
      {"purpose client, leaf with clientAuth", P("leaf.pem"), P("root.pem"), {P("int.pem")}, {"--purpose", "client"},
       {"-purpose", "sslclient"}, 0, ""},
      {"purpose client, leaf with serverAuth only", P("leaf_ec.pem"), P("root.pem"), {P("int.pem")}, {"--purpose", "client"},
       {"-purpose", "sslclient"}, 3, "*"},
      {"an intermediate as the trust anchor", P("leaf.pem"), P("int.pem"), {}, {}, {"-partial_chain"}, 0, "", true, 2},
  };

  std::vector<std::string> table;
  for (const auto& c : cases) {
    INFO("case: " << c.what);
    std::vector<std::string> args{APPLCTL_BIN, "--store", nostore.string(), "--json", "chain", "verify",
                                  "--file", c.file, "--roots", c.roots};
    for (const auto& u : c.untrusted) args.insert(args.end(), {"--untrusted", u});
    args.insert(args.end(), c.applctl_args.begin(), c.applctl_args.end());
    Result r = clitest::run_process(args);
    INFO("applctl stdout: " << r.out << "\nstderr: " << r.err);

    std::vector<std::string> o{"verify", "-x509_strict", "-CAfile", c.roots};
    for (const auto& u : c.untrusted) o.insert(o.end(), {"-untrusted", u});
    if (c.file == leaf_int) o.insert(o.end(), {"-untrusted", leaf_int});
    o.insert(o.end(), c.openssl_args.begin(), c.openssl_args.end());
    o.push_back(c.file);
    Result ref = openssl(o);
    INFO("openssl verify: " << ref.out << ref.err);
    table.push_back(c.what + ": applctl " + std::to_string(r.code) + ", openssl " + std::to_string(ref.code));

    CHECK(r.code == c.code);
    if (c.openssl_agrees)
      CHECK((ref.code == 0) == (c.code == 0));
    else
      CHECK((ref.code == 0) != (c.code == 0));

    Json j = r.json();
    CHECK(j.at("valid") == (c.code == 0));
    if (c.reason.empty())
      CHECK(j.at("reason").is_null());
    else if (c.reason == "*")
      CHECK((j.at("reason").is_string() && !j.at("reason").get<std::string>().empty()));
    else
      CHECK(j.at("reason") == c.reason);
    REQUIRE(j.at("path").is_array());
    REQUIRE_FALSE(j.at("path").empty());
    for (const auto& e : j.at("path"))
      for (const char* f : {"fingerprint_sha256", "subject", "role", "status"}) CHECK(e.contains(f));
    CHECK(j.at("path")[0].at("fingerprint_sha256") == openssl_fingerprint(c.file));
    CHECK(j.at("path")[0].at("role") == "leaf");
    CHECK(j.at("checked_at").is_string());
    if (c.code == 0) {
      CHECK(j.at("path").size() == c.path);
      for (const auto& e : j.at("path")) CHECK(e.at("status") == "ok");
      CHECK(j.at("path").back().at("fingerprint_sha256") == openssl_fingerprint(c.roots));
    } else if (c.reason != "*") {
      bool named = std::any_of(j.at("path").begin(), j.at("path").end(), [&](const Json& e) { return e.at("status") == c.reason; });
      CHECK(named);
    }
    auto at = std::find(c.applctl_args.begin(), c.applctl_args.end(), "--at");
    if (at != c.applctl_args.end()) CHECK(j.at("checked_at").get<std::string>().substr(0, 19) == (at + 1)->substr(0, 19));
    // Human output: the verdict, same exit.
    args.erase(std::find(args.begin(), args.end(), "--json"));
    Result human = clitest::run_process(args);
    CHECK(human.code == c.code);
    CHECK(has(human.out, c.code == 0 ? "valid" : "invalid"));
  }
  CHECK_FALSE(fs::exists(nostore));
  std::string summary;
  for (const auto& line : table) summary += line + "\n";
  INFO(summary);
  CHECK(table.size() == cases.size());
}

TEST_CASE("chain verify trusts the store's roots, and verifies stored certificates", "[cli][chain]") {
  const auto& pki = test_pki();
  TempDir tmp;
  const std::string leaf_int = concat(tmp / "leaf-int.pem", {pki / "leaf.pem", pki / "int.pem"}).string();

  SECTION("no store, no --roots: nothing is trusted, and the store is not created") {
    Appliance a;
    Json j = a.json({"chain", "verify", "--file", leaf_int}, 3);
    CHECK(j.at("valid") == false);
    CHECK(j.at("reason") == "unknown-issuer");
    CHECK_FALSE(fs::exists(a.store));
  }
  SECTION("the imported root is a trust anchor; an imported intermediate is not enough") {
    Appliance a;
    a.json({"cert", "import", (pki / "int.pem").string()});
    CHECK(a.json({"chain", "verify", "--file", leaf_int}, 3).at("reason") == "unknown-issuer");
    a.json({"cert", "import", (pki / "root.der").string()});
    Json j = a.json({"chain", "verify", "--file", leaf_int});
    CHECK(j.at("valid") == true);
    CHECK(j.at("path").back().at("fingerprint_sha256") == pki.fingerprint("root"));
    CHECK(j.at("path").back().at("role") == "root");
    // --roots replaces the store's roots.
    CHECK(a.json({"chain", "verify", "--file", leaf_int, "--roots", (pki / "root2.pem").string()}, 3).at("reason") ==
          "unknown-issuer");
  }
  SECTION("a stored certificate, with its stored chain") {
    WebStore s;
    Json j = s.a.json({"chain", "verify", "web", "--hostname", "www.example.com"});
    CHECK(j.at("valid") == true);
    std::vector<std::string> path;
    for (const auto& e : j.at("path")) path.push_back(e.at("fingerprint_sha256"));
    CHECK(path == std::vector<std::string>{s.web, s.inter, s.root});
    CHECK(s.a.json({"chain", "verify", "web", "--hostname", "mail.example.com"}, 3).at("reason") == "hostname-mismatch");
    CHECK(s.a.json({"chain", "verify", s.web.substr(0, 10), "--at", "2001-01-01T00:00:00.999999Z"}, 3).at("reason") ==
          "not-yet-valid");
    CHECK(s.a.run({"chain", "verify", "nosuch"}).code == 4);
  }
}

TEST_CASE("chain verify exits 6 only when an input cannot be decoded", "[cli][chain]") {
  const auto& pki = test_pki();
  Appliance a;
  fs::path noise = a.dir / "noise.bin";
  clitest::spit(noise, clitest::run_process({"head", "-c", "4096", "/dev/urandom"}).out);
  fs::path key_only = pki / "leaf.key";
  const std::string leaf = (pki / "leaf.pem").string(), root = (pki / "root.pem").string();
  struct Case {
    std::vector<std::string> args;
    int code;
  };
  const std::vector<Case> cases{
      {{"--file", noise.string(), "--roots", root}, 6},
      {{"--file", leaf, "--roots", noise.string()}, 6},
      {{"--file", leaf, "--roots", root, "--untrusted", noise.string()}, 6},
      {{"--file", key_only.string(), "--roots", root}, 6},  // decodes, but holds no certificate
      {{"--file", (a.dir / "missing.pem").string(), "--roots", root}, 6},
      // Decodes, breaks a rule: 3.
      {{"--file", (pki / "expint.pem").string(), "--roots", root}, 3},
      {{"--file", (pki / "root2.pem").string(), "--roots", root}, 3},
      // Usage.
      {{"--roots", root}, 2},
      {{"--file", leaf, "--roots", root, "--purpose", "everything"}, 2},
      {{"--file", leaf, "--roots", root, "--max-depth", "-1"}, 2},
      {{"--file", leaf, "--roots", root, "--frobnicate"}, 2},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{"chain", "verify"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    Result r = a.run(args);
    std::string cmd;
    for (const auto& s : args) cmd += " " + s;
    INFO("applctl" << cmd << "\nstdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.code == c.code);
  }
  CHECK_FALSE(fs::exists(a.store));
}
