// End-to-end: `cert export` of a CA-signed certificate with its chain and key, every file read
// back by the openssl CLI, and the copy of a certificate to a failover appliance.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "cli/harness.hpp"
#include "cli/test_pki.hpp"

namespace {
using clitest::mode_of;
using clitest::ScopedUmask;

using clitest::Appliance;
using clitest::concat;
using clitest::has;
using clitest::openssl;
using clitest::openssl_fingerprint;
using clitest::openssl_ok;
using clitest::Result;
using clitest::test_pki;
namespace fs = std::filesystem;
using Json = nlohmann::json;

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The "subject=" lines openssl prints, in order.
std::vector<std::string> subjects(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while ((at = text.find("subject=", at)) != std::string::npos) {
    auto end = text.find('\n', at);
    out.push_back(text.substr(at + 8, end - at - 8));
    at = end;
  }
  return out;
}

const std::vector<std::string> kChainSubjects{"CN = www.example.com", "CN = Test Intermediate CA, O = applctl tests",
                                              "CN = Test Root CA, O = applctl tests"};

// `web`, signed by the test intermediate for a request of the appliance (so with its key), and
// the intermediate and root, in the store.
struct Exporter {
  Appliance a;
  fs::path web_pem = a.dir / "web.pem";
  fs::path pass = a.dir / "pass.txt";
  std::string passin = "file:" + pass.string();
  std::string web, pubkey;
  Exporter() {
    const auto& pki = test_pki();
    clitest::spit(pass, "export secret\n");
    fs::path req = a.dir / "web.csr";
    a.json({"csr", "create", "--name", "web", "--key", "rsa:2048", "--cn", "www.example.com", "-o", req.string()});
    pki.sign_csr(req, web_pem);
    web = openssl_fingerprint(web_pem);
    pubkey = clitest::openssl_cert_pubkey(web_pem);
    a.json({"cert", "import", web_pem.string(), (pki / "int.pem").string(), (pki / "root.pem").string()});
  }
  Result run(const std::string& format, const fs::path& out, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{"cert", "export", "web", "--format", format, "-o", out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return a.run(args);
  }
  fs::path ok(const std::string& format, const std::string& name, std::vector<std::string> extra = {}) const {
    fs::path out = a.dir / name;
    Result r = run(format, out, std::move(extra));
    INFO("export " << format << ": " << r.err);
    REQUIRE(r.code == 0);
    return out;
  }
};

}  // namespace

TEST_CASE("cert export p12: AES-256/SHA-256 by default, 3DES/RC2-40/SHA-1 with --legacy", "[cli][export]") {
  ScopedUmask normal(022);
  Exporter e;
  const auto& pki = test_pki();

  SECTION("modern, with the chain") {
    fs::path p12 = e.ok("p12", "web.p12", {"--with-chain", "--passphrase-file", e.pass.string()});
    CHECK(mode_of(p12) == 0600);
    Result info = openssl_ok({"pkcs12", "-in", p12.string(), "-info", "-nokeys", "-passin", e.passin});
    const std::string& text = info.err;  // -info prints the algorithms on stderr; stdout has base64 that may spell "AES"
    CHECK(has(text, "MAC: sha256"));
    CHECK(has(text, "PBES2, PBKDF2, AES-256-CBC"));
    CHECK(has(text, "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC"));
    CHECK_FALSE(has(text, "pbeWithSHA1"));
    CHECK(count(text, "Certificate bag") == 3);
    CHECK(subjects(info.out) == kChainSubjects);
    // The key inside is the certificate's.
    Result key = openssl_ok({"pkcs12", "-in", p12.string(), "-nocerts", "-nodes", "-passin", e.passin});
    CHECK(openssl_ok({"pkey", "-pubout"}, key.out).out == e.pubkey);
    CHECK(openssl({"pkcs12", "-in", p12.string(), "-info", "-noout", "-passin", "pass:wrong"}).code != 0);
  }
  SECTION("modern, without the chain: the certificate and key only") {
    fs::path p12 = e.ok("p12", "web.p12", {"--passphrase-file", e.pass.string()});
    Result info = openssl_ok({"pkcs12", "-in", p12.string(), "-info", "-nokeys", "-passin", e.passin});
    CHECK(count(info.out + info.err, "Certificate bag") == 1);
    CHECK(subjects(info.out) == std::vector<std::string>{kChainSubjects[0]});
  }
  SECTION("--legacy") {
    fs::path p12 = e.ok("p12", "legacy.p12", {"--with-chain", "--legacy", "--passphrase-file", e.pass.string()});
    CHECK(mode_of(p12) == 0600);
    // OpenSSL 3 needs its legacy provider for RC2: without -legacy it cannot read the file.
    CHECK(openssl({"pkcs12", "-in", p12.string(), "-info", "-nokeys", "-noout", "-passin", e.passin}).code != 0);
    Result info = openssl_ok({"pkcs12", "-legacy", "-in", p12.string(), "-info", "-nokeys", "-passin", e.passin});
    const std::string& text = info.err;  // -info prints the algorithms on stderr; stdout has base64 that may spell "AES"
    CHECK(has(text, "MAC: sha1"));
    CHECK(has(text, "pbeWithSHA1And40BitRC2-CBC"));
    CHECK(has(text, "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC"));
    CHECK_FALSE(has(text, "AES"));
    CHECK(subjects(info.out) == kChainSubjects);
    Result key = openssl_ok({"pkcs12", "-legacy", "-in", p12.string(), "-nocerts", "-nodes", "-passin", e.passin});
    CHECK(openssl_ok({"pkey", "-pubout"}, key.out).out == e.pubkey);
  }
  SECTION("a certificate without a private key cannot be a p12") {
    fs::path out = e.a.dir / "int.p12";
    Result r = e.a.run({"cert", "export", pki.fingerprint("int").substr(0, 16), "--format", "p12", "--passphrase-file",
                        e.pass.string(), "-o", out.string()});
    CHECK(r.code == 5);
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("cert export p7b, pem and der hold the chain in order and no key", "[cli][export]") {
  ScopedUmask normal(022);
  Exporter e;
  const auto& pki = test_pki();

  SECTION("p7b: leaf, intermediate, root") {
    fs::path p7b = e.ok("p7b", "web.p7b");
    CHECK(mode_of(p7b) == 0644);
    Result certs = openssl_ok({"pkcs7", "-in", p7b.string(), "-inform", "DER", "-print_certs"});
    CHECK(subjects(certs.out) == kChainSubjects);
    CHECK_FALSE(has(clitest::slurp(p7b), "PRIVATE"));
  }
  SECTION("p7b follows a manual chain") {
    REQUIRE(e.a.run({"chain", "set", "web", "--manual", (pki / "int.pem").string()}).code == 0);
    fs::path p7b = e.ok("p7b", "web.p7b");
    Result certs = openssl_ok({"pkcs7", "-in", p7b.string(), "-inform", "DER", "-print_certs"});
    CHECK(subjects(certs.out) == std::vector<std::string>{kChainSubjects[0], kChainSubjects[1]});
  }
  SECTION("pem --with-chain: openssl verify accepts it against the root") {
    fs::path pem = e.ok("pem", "chain.pem", {"--with-chain"});
    CHECK(mode_of(pem) == 0644);
    const std::string text = clitest::slurp(pem);
    CHECK(count(text, "-----BEGIN CERTIFICATE-----") == 3);
    CHECK_FALSE(has(text, "PRIVATE KEY"));
    CHECK(openssl_fingerprint(pem) == e.web);  // the first certificate is the leaf
    Result v = openssl({"verify", "-x509_strict", "-CAfile", (pki / "root.pem").string(), "-untrusted", pem.string(),
                        pem.string()});
    INFO(v.out << v.err);
    CHECK(v.code == 0);
    // And without the chain, openssl cannot verify the leaf against the root alone.
    fs::path alone = e.ok("pem", "alone.pem");
    CHECK(count(clitest::slurp(alone), "-----BEGIN CERTIFICATE-----") == 1);
    CHECK(openssl({"verify", "-CAfile", (pki / "root.pem").string(), alone.string()}).code != 0);
  }
  SECTION("der: the certificate alone, byte for byte") {
    fs::path der = e.ok("der", "web.der");
    CHECK(mode_of(der) == 0644);
    CHECK(openssl_fingerprint(der, "DER") == e.web);
    Result to_der = openssl_ok({"x509", "-in", e.web_pem.string(), "-outform", "DER"});
    CHECK(clitest::slurp(der) == to_der.out);
    CHECK(e.run("der", e.a.dir / "x.der", {"--with-chain"}).code == 2);
  }
}

TEST_CASE("cert export of keys: pkcs8 and pem --with-key, always encrypted unless --no-passphrase --insecure",
          "[cli][export]") {
  ScopedUmask normal(022);
  Exporter e;

  SECTION("pkcs8: encrypted, 0600, openssl decrypts it to the certificate's key") {
    fs::path key = e.ok("pkcs8", "web.key", {"--passphrase-file", e.pass.string()});
    CHECK(mode_of(key) == 0600);
    const std::string text = clitest::slurp(key);
    CHECK(has(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    CHECK_FALSE(has(text, "CERTIFICATE"));
    CHECK(openssl_ok({"pkey", "-in", key.string(), "-passin", e.passin, "-pubout"}).out == e.pubkey);
    CHECK(openssl({"pkey", "-in", key.string(), "-passin", "pass:wrong", "-noout"}).code != 0);
  }
  SECTION("pem --with-key --with-chain: certificates and an ENCRYPTED PRIVATE KEY block") {
    e.a.env["EXPORT_PASS"] = "env secret";
    fs::path pem = e.ok("pem", "full.pem", {"--with-key", "--with-chain", "--passphrase-env", "EXPORT_PASS"});
    CHECK(mode_of(pem) == 0600);
    const std::string text = clitest::slurp(pem);
    CHECK(count(text, "-----BEGIN CERTIFICATE-----") == 3);
    CHECK(count(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----") == 1);
    CHECK_FALSE(has(text, "-----BEGIN PRIVATE KEY-----"));
    CHECK_FALSE(has(text, "-----BEGIN RSA PRIVATE KEY-----"));
    CHECK(openssl_ok({"pkey", "-in", pem.string(), "-passin", "pass:env secret", "-pubout"}).out == e.pubkey);
    // The file is importable as it is (a round trip through applctl's own reader).
    Appliance b;
    b.env["EXPORT_PASS"] = "env secret";
    Json in = b.json({"cert", "import", pem.string(), "--passphrase-env", "EXPORT_PASS"});
    CHECK(in.size() == 3);
  }
  SECTION("--no-passphrase --insecure: a plain key, 0600, pem and pkcs8 only") {
    ScopedUmask permissive(0);
    fs::path key = e.ok("pkcs8", "plain.key", {"--no-passphrase", "--insecure"});
    CHECK(mode_of(key) == 0600);
    CHECK(has(clitest::slurp(key), "-----BEGIN PRIVATE KEY-----"));
    CHECK(openssl_ok({"pkey", "-in", key.string(), "-pubout"}).out == e.pubkey);
    fs::path pem = e.ok("pem", "plain.pem", {"--with-key", "--no-passphrase", "--insecure"});
    CHECK(mode_of(pem) == 0600);
    CHECK(has(clitest::slurp(pem), "-----BEGIN PRIVATE KEY-----"));
    // With a permissive umask, certificate-only files are still no more than 0644.
    CHECK(mode_of(e.ok("pem", "cert-only.pem")) == 0644);
  }
  SECTION("refusals: exit 5, no file written") {
    fs::path out = e.a.dir / "refused.out";
    const std::string before = e.a.dump();
    struct Case {
      std::string format;
      std::vector<std::string> extra;
    };
    const std::vector<Case> cases{
        {"pkcs8", {}},                                       // key export without a passphrase source
        {"p12", {"--with-chain"}},                           // the same for p12
        {"pem", {"--with-key"}},                             // and for pem with the key
        {"pkcs8", {"--no-passphrase"}},                      // --no-passphrase needs --insecure
        {"pem", {"--with-key", "--no-passphrase"}},          //
        {"p12", {"--no-passphrase", "--insecure"}},          // a p12 is always encrypted
        {"p12", {"--with-chain", "--no-passphrase", "--insecure"}},
    };
    for (const auto& c : cases) {
      std::string flags;
      for (const auto& f : c.extra) flags += " " + f;
      INFO("--format " << c.format << flags);
      Result r = e.run(c.format, out, c.extra);
      INFO(r.err);
      CHECK(r.code == 5);
      CHECK_FALSE(fs::exists(out));
    }
    // An existing output file is kept without --force, replaced with it.
    fs::path existing = e.a.dir / "existing.p12";
    clitest::spit(existing, "keep me\n");
    CHECK(e.run("p12", existing, {"--passphrase-file", e.pass.string()}).code == 5);
    CHECK(e.run("pem", existing).code == 5);
    CHECK(clitest::slurp(existing) == "keep me\n");
    Result forced = e.run("p12", existing, {"--passphrase-file", e.pass.string(), "--force"});
    INFO(forced.err);
    CHECK(forced.code == 0);
    CHECK(openssl({"pkcs12", "-in", existing.string(), "-info", "-noout", "-passin", e.passin}).code == 0);
    CHECK(mode_of(existing) == 0600);
    CHECK(e.a.dump() == before);
  }
}

TEST_CASE("a certificate copied to a failover appliance through a p12 is the same certificate", "[cli][export]") {
  Exporter e;
  const Json chain_a = e.a.json({"chain", "show", "web"});
  REQUIRE(chain_a.at("complete") == true);
  auto fps = [](const Json& chain) {
    std::vector<std::string> out;
    for (const auto& c : chain.at("certificates")) out.push_back(c.at("fingerprint_sha256"));
    return out;
  };
  for (bool legacy : {false, true}) {
    INFO((legacy ? "legacy p12" : "modern p12"));
    std::vector<std::string> flags{"--with-key", "--with-chain", "--passphrase-file", e.pass.string(), "--force"};
    if (legacy) flags.push_back("--legacy");
    fs::path p12 = e.ok("p12", "copy.p12", flags);
    Appliance b;
    b.env["COPY_PASS"] = "export secret";
    Json in = b.json({"cert", "import", p12.string(), "--passphrase-env", "COPY_PASS"});
    REQUIRE(in.size() == 3);
    Json list = b.json({"cert", "list"});
    bool found = false;
    for (const auto& c : list) {
      if (c.at("fingerprint_sha256") != e.web) continue;
      found = true;
      CHECK(c.at("private_key") == true);
      CHECK(c.at("role") == "leaf");
      const std::string name = c.at("friendly_name");
      CHECK(name == "web");  // the p12's friendlyName: the copy keeps its name
      Json chain_b = b.json({"chain", "show", name});
      CHECK(chain_b.at("complete") == true);
      CHECK(fps(chain_b) == fps(chain_a));
      // The key works on B: it exports again and matches the certificate.
      fs::path key = b.dir / "key.pem";
      Result r = b.run({"cert", "export", name, "--format", "pkcs8", "--passphrase-env", "COPY_PASS", "-o", key.string()});
      INFO(r.err);
      REQUIRE(r.code == 0);
      CHECK(openssl_ok({"pkey", "-in", key.string(), "-passin", "pass:export secret", "-pubout"}).out == e.pubkey);
    }
    CHECK(found);
    CHECK(b.json({"status"}).at("unattached_keys") == 0);
  }
  SECTION("a friendlyName that is taken, or not a valid name, gives way to one made from the subject") {
    const auto& pki = test_pki();
    Appliance b;
    b.json({"cert", "self-signed", "--name", "web", "--cn", "other.example.com"});
    fs::path p12 = e.ok("p12", "copy.p12", {"--with-key", "--passphrase-file", e.pass.string(), "--force"});
    Json in = b.json({"cert", "import", p12.string(), "--passphrase-file", e.pass.string()});
    REQUIRE(in.size() == 1);
    CHECK(in[0].at("friendly_name") == "www.example.com");
    // A name with a leading space is not one applctl accepts.
    fs::path odd = b.dir / "odd.p12";
    openssl_ok({"pkcs12", "-export", "-in", (pki / "leaf.pem").string(), "-inkey", (pki / "leaf.key").string(),
                "-name", " padded", "-passout", "pass:x", "-out", odd.string()});
    b.env["ODD_PASS"] = "x";
    Json odd_in = b.json({"cert", "import", odd.string(), "--passphrase-env", "ODD_PASS"});
    REQUIRE(odd_in.size() == 1);
    CHECK(odd_in[0].at("friendly_name") != " padded");
    CHECK(odd_in[0].at("private_key") == true);
  }
}
