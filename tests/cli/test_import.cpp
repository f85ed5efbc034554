// End-to-end: `cert import` of every file format a CA or an old appliance hands out, key linking,
// request fulfilment, duplicates, and refusal of bad input without any change to the store.
// Inputs are made by the openssl CLI (tests/cli/test_pki.hpp); fingerprints are openssl's.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/harness.hpp"
#include "cli/test_pki.hpp"

namespace {

using clitest::Appliance;
using clitest::concat;
using clitest::crlf;
using clitest::has;
using clitest::openssl_fingerprint;
using clitest::openssl_ok;
using clitest::Result;
using clitest::TempDir;
using clitest::test_pki;
namespace fs = std::filesystem;
using Json = nlohmann::json;

const char* const kPass = "import passphrase";

// The certificate of `list` with this fingerprint (fails the test when there is none).
Json by_fingerprint(const Json& list, const std::string& fp) {
  for (const auto& c : list)
    if (c.at("fingerprint_sha256") == fp) return c;
  INFO("no certificate " << fp << " in " << list.dump(2));
  FAIL("certificate not listed");
  return {};
}

std::set<std::string> codes_of(const Json& cert) {
  std::set<std::string> out;
  for (const auto& w : cert.at("warnings")) out.insert(w.at("code").get<std::string>());
  return out;
}

// The warnings of one certificate as `cert show` reports them.
std::set<std::string> shown_warnings(const Appliance& a, const std::string& fp) {
  return codes_of(a.json({"cert", "show", fp.substr(0, 16)}));
}

std::int64_t unattached_keys(const Appliance& a) { return a.json({"status"}).at("unattached_keys").get<std::int64_t>(); }

// The pieces every test starts from, in a directory of the test.
struct Inputs {
  TempDir dir;
  fs::path pass = dir / "pass.txt";
  Inputs() { clitest::spit(pass, std::string(kPass) + "\nnot part of it\n"); }
  fs::path operator/(const std::string& name) const { return dir / name; }
};

}  // namespace

TEST_CASE("cert import detects DER, PEM, PKCS#7 and PKCS#12 by content, whatever the file is called", "[cli][import]") {
  const auto& pki = test_pki();
  Inputs in;
  const std::string leaf = pki.fingerprint("leaf"), inter = pki.fingerprint("int"), root = pki.fingerprint("root");
  concat(in / "introot.pem", {pki / "int.pem", pki / "root.pem"});
  concat(in / "chain.pem", {pki / "leaf.pem", pki / "int.pem", pki / "root.pem"});

  // DER under a PEM-ish name.
  fs::copy_file(pki / "leaf.der", in / "leaf.pem.txt");
  // PEM as a mail body: leading text, CRLF, three certificates and the key in one file.
  clitest::spit(in / "bundle.crt", crlf("Hello, here are your files.\nsubject=CN = www.example.com\n" +
                                        clitest::slurp(in / "chain.pem") + "\n" + clitest::slurp(pki / "leaf.key") +
                                        "-- \nThe CA\n"));
  openssl_ok({"crl2pkcs7", "-nocrl", "-certfile", (in / "chain.pem").string(), "-outform", "DER", "-out",
              (in / "chain.p7b").string()});
  openssl_ok({"crl2pkcs7", "-nocrl", "-certfile", (in / "chain.pem").string(), "-outform", "PEM", "-out",
              (in / "chain.bin").string()});
  const std::string passin = "file:" + in.pass.string();
  std::vector<std::string> p12 = {"pkcs12", "-export", "-in", (pki / "leaf.pem").string(), "-inkey",
                                  (pki / "leaf.key").string(), "-certfile", (in / "introot.pem").string(), "-passout", passin};
  auto make_p12 = [&](const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> args = p12;
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"-out", (in / out).string()});
    openssl_ok(args);
  };
  make_p12("modern.pfx", {});
  make_p12("legacy.der", {"-legacy"});
  make_p12("tripledes.p12", {"-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1"});
  // The files are what their names in this test say (openssl -info as the oracle).
  std::string info = openssl_ok({"pkcs12", "-in", (in / "modern.pfx").string(), "-info", "-noout", "-passin", passin}).err;
  CHECK(has(info, "AES-256-CBC"));
  info = openssl_ok({"pkcs12", "-legacy", "-in", (in / "legacy.der").string(), "-info", "-noout", "-passin", passin}).err;
  CHECK(has(info, "pbeWithSHA1And40BitRC2-CBC"));
  CHECK(has(info, "pbeWithSHA1And3-KeyTripleDES-CBC"));
  info = openssl_ok({"pkcs12", "-in", (in / "tripledes.p12").string(), "-info", "-noout", "-passin", passin}).err;
  CHECK(has(info, "pbeWithSHA1And3-KeyTripleDES-CBC"));
  CHECK_FALSE(has(info, "RC2"));

  struct Case {
    std::string file;
    std::vector<std::string> fingerprints;  // what must be imported
    bool key;                               // the leaf comes with its private key
    bool passphrase_env;                    // env instead of file
  };
  const std::vector<Case> cases{
      {"leaf.pem.txt", {leaf}, false, false},
      {"bundle.crt", {leaf, inter, root}, true, false},
      {"chain.p7b", {leaf, inter, root}, false, false},
      {"chain.bin", {leaf, inter, root}, false, false},
      {"modern.pfx", {leaf, inter, root}, true, false},
      {"legacy.der", {leaf, inter, root}, true, true},
      {"tripledes.p12", {leaf, inter, root}, true, false},
  };
  for (const auto& c : cases) {
    INFO("importing " << c.file);
    Appliance a;
    a.env["IMPORT_PASS"] = kPass;
    std::vector<std::string> args{"cert", "import", (in / c.file).string()};
    if (c.passphrase_env)
      args.insert(args.end(), {"--passphrase-env", "IMPORT_PASS"});
    else
      args.insert(args.end(), {"--passphrase-file", in.pass.string()});
    Json out = a.json(args);
    REQUIRE(out.is_array());
    REQUIRE(out.size() == c.fingerprints.size());
    Json list = a.json({"cert", "list"});
    for (const auto& fp : c.fingerprints) {
      Json imported = by_fingerprint(out, fp);
      CHECK(imported.at("status") == "added");
      for (const char* f : {"friendly_name", "issued_to", "issued_by", "not_before", "not_after", "alt_names", "private_key",
                            "default", "role", "ips", "warnings"})
        CHECK(imported.contains(f));
      CHECK(by_fingerprint(list, fp).at("private_key") == (fp == leaf && c.key));
    }
    // Roles from the certificates themselves.
    CHECK(by_fingerprint(list, leaf).at("role") == "leaf");
    if (c.fingerprints.size() == 3) {
      CHECK(by_fingerprint(list, inter).at("role") == "intermediate");
      CHECK(by_fingerprint(list, root).at("role") == "root");
      CHECK(by_fingerprint(list, root).at("private_key") == false);
    }
    auto codes = shown_warnings(a, leaf);
    CHECK(codes.count("chain-incomplete") == (c.fingerprints.size() == 3 ? 0u : 1u));
    CHECK(codes.count("no-private-key") == (c.key ? 0u : 1u));
    CHECK(codes.count("weak-signature") == 0);
    CHECK(unattached_keys(a) == 0);
    if (c.key) {  // the imported key is the leaf's key: openssl reads it back from a pkcs8 export
      fs::path key = a.dir / "key.pem";
      Result r = a.run({"cert", "export", leaf.substr(0, 16), "--format", "pkcs8", "--passphrase-file", in.pass.string(),
                        "-o", key.string()});
      INFO(r.err);
      REQUIRE(r.code == 0);
      CHECK(openssl_ok({"pkey", "-in", key.string(), "-passin", passin, "-pubout"}).out ==
            clitest::openssl_cert_pubkey(pki / "leaf.pem"));
    }
  }
}

TEST_CASE("cert import takes private keys in every encoding and keeps them until their certificate comes", "[cli][import]") {
  const auto& pki = test_pki();
  Inputs in;
  const std::string passout = "file:" + in.pass.string();
  const std::string rsa = (pki / "leaf.key").string(), ec = (pki / "leaf_ec.key").string();
  openssl_ok({"rsa", "-in", rsa, "-traditional", "-out", (in / "pkcs1.pem").string()});
  openssl_ok({"rsa", "-in", rsa, "-traditional", "-outform", "DER", "-out", (in / "pkcs1.der").string()});
  openssl_ok({"ec", "-in", ec, "-out", (in / "sec1.pem").string()});
  openssl_ok({"ec", "-in", ec, "-outform", "DER", "-out", (in / "sec1.der").string()});
  fs::copy_file(rsa, in / "pkcs8.pem");
  openssl_ok({"pkcs8", "-topk8", "-nocrypt", "-in", ec, "-outform", "DER", "-out", (in / "pkcs8.der").string()});
  openssl_ok({"pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", rsa, "-passout", passout, "-out", (in / "enc.pem").string()});
  openssl_ok({"pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", ec, "-passout", passout, "-outform", "DER", "-out",
              (in / "enc.der").string()});
  CHECK(has(clitest::slurp(in / "pkcs1.pem"), "-----BEGIN RSA PRIVATE KEY-----"));
  CHECK(has(clitest::slurp(in / "sec1.pem"), "-----BEGIN EC PRIVATE KEY-----"));
  CHECK(has(clitest::slurp(in / "pkcs8.pem"), "-----BEGIN PRIVATE KEY-----"));
  CHECK(has(clitest::slurp(in / "enc.pem"), "-----BEGIN ENCRYPTED PRIVATE KEY-----"));

  struct Case {
    std::string file, cert;
    bool encrypted;
  };
  const std::vector<Case> cases{{"pkcs1.pem", "leaf", false},  {"pkcs1.der", "leaf", false}, {"sec1.pem", "leaf_ec", false},
                                {"sec1.der", "leaf_ec", false}, {"pkcs8.pem", "leaf", false}, {"pkcs8.der", "leaf_ec", false},
                                {"enc.pem", "leaf", true},      {"enc.der", "leaf_ec", true}};
  for (const auto& c : cases) {
    INFO("key file " << c.file);
    Appliance a;
    a.env["KEY_PASS"] = kPass;
    std::vector<std::string> args{"cert", "import", (in / c.file).string()};
    if (c.encrypted) {
      // Encrypted and no passphrase source: bad input, nothing stored.
      Result none = a.run(args);
      CHECK(none.code == 6);
      CHECK(has(none.err, c.file));
      args.insert(args.end(), {"--passphrase-env", "KEY_PASS"});
    }
    Json out = a.json(args);
    CHECK(out.is_array());
    CHECK(out.empty());  // no certificate imported or present
    CHECK(unattached_keys(a) == 1);
    // The certificate arrives later: it gets the key.
    const std::string fp = pki.fingerprint(c.cert);
    out = a.json({"cert", "import", (pki / (c.cert + ".pem")).string()});
    REQUIRE(out.size() == 1);
    CHECK(out[0].at("status") == "added");
    CHECK(out[0].at("private_key") == true);
    CHECK(out[0].at("fingerprint_sha256") == fp);
    CHECK(by_fingerprint(a.json({"cert", "list"}), fp).at("private_key") == true);
    CHECK(unattached_keys(a) == 0);
  }
}

TEST_CASE("a certificate stored without its key is linked when it comes again with the key", "[cli][import]") {
  const auto& pki = test_pki();
  Appliance a;
  const std::string fp = pki.fingerprint("leaf");
  Json first = a.json({"cert", "import", (pki / "leaf.der").string()});
  REQUIRE(first.size() == 1);
  CHECK(first[0].at("private_key") == false);
  const std::size_t count = a.json({"cert", "list"}).size();
  Json again = a.json({"cert", "import", (pki / "leaf.pem").string(), (pki / "leaf.key").string()});
  REQUIRE(again.size() == 1);
  CHECK(again[0].at("status") == "linked");
  CHECK(again[0].at("private_key") == true);
  CHECK(again[0].at("friendly_name") == first[0].at("friendly_name"));
  Json list = a.json({"cert", "list"});
  CHECK(list.size() == count);
  CHECK(by_fingerprint(list, fp).at("private_key") == true);
  CHECK(codes_of(by_fingerprint(list, fp)).count("no-private-key") == 0);
  CHECK(unattached_keys(a) == 0);
}

// cli.md: "A certificate whose public key matches a stored key (from `csr create` or an earlier
// import) gets that key linked". Here the certificate is stored first and its key imported alone.
TEST_CASE("a key imported alone is linked to its certificate already in the store", "[cli][import]") {
  const auto& pki = test_pki();
  Appliance a;
  const std::string fp = pki.fingerprint("leaf");
  REQUIRE(a.json({"cert", "import", (pki / "leaf.pem").string()}).size() == 1);
  a.json({"cert", "import", (pki / "leaf.key").string()});
  CHECK(by_fingerprint(a.json({"cert", "list"}), fp).at("private_key") == true);
  CHECK(unattached_keys(a) == 0);
}

TEST_CASE("a signed request is fulfilled: the certificate takes its name and its key", "[cli][import]") {
  const auto& pki = test_pki();
  Appliance a;
  fs::path req = a.dir / "web.csr";
  Json created = a.json({"csr", "create", "--name", "web", "--key", "ec:P-256", "--cn", "www.example.com", "--san",
                         "example.com", "-o", req.string()});
  REQUIRE(a.json({"csr", "list"}).size() == 1);
  fs::path signed_pem = pki.sign_csr(req, a.dir / "web.pem");
  const std::string fp = openssl_fingerprint(signed_pem);
  const std::size_t before = a.json({"cert", "list"}).size();

  SECTION("the certificate alone") {
    Json out = a.json({"cert", "import", signed_pem.string()});
    REQUIRE(out.size() == 1);
    CHECK(out[0].at("status") == "added");
    CHECK(out[0].at("friendly_name") == "web");
    CHECK(out[0].at("private_key") == true);
    CHECK(out[0].at("fingerprint_sha256") == fp);
    CHECK(a.json({"csr", "list"}).empty());
    Json list = a.json({"cert", "list"});
    CHECK(list.size() == before + 1);
    auto codes = codes_of(by_fingerprint(list, fp));
    CHECK(codes.count("chain-incomplete") == 1);  // the intermediate is not in the store
    CHECK(shown_warnings(a, fp) == codes);
    CHECK(codes.count("no-private-key") == 0);
    CHECK(a.run({"csr", "show", "web"}).code == 4);
    CHECK(unattached_keys(a) == 0);
  }
  SECTION("with its chain, as DER files") {
    fs::path der = a.dir / "web.der";
    openssl_ok({"x509", "-in", signed_pem.string(), "-outform", "DER", "-out", der.string()});
    Json out = a.json({"cert", "import", (pki / "root.der").string(), der.string(), (pki / "int.der").string()});
    REQUIRE(out.size() == 3);
    Json web = by_fingerprint(out, fp);
    CHECK(web.at("friendly_name") == "web");
    CHECK(web.at("private_key") == true);
    CHECK(a.json({"csr", "list"}).empty());
    auto codes = shown_warnings(a, fp);
    CHECK(codes.count("chain-incomplete") == 0);
    CHECK(codes.count("no-private-key") == 0);
  }
}

TEST_CASE("cert import recognises what the store already holds", "[cli][import]") {
  const auto& pki = test_pki();
  Appliance a;
  fs::path bundle = concat(a.dir / "bundle.pem", {pki / "leaf.pem", pki / "int.pem", pki / "root.pem", pki / "leaf.key"});
  Json first = a.json({"cert", "import", bundle.string()});
  REQUIRE(first.size() == 3);
  for (const auto& c : first) CHECK(c.at("status") == "added");
  Json list = a.json({"cert", "list"});

  SECTION("the same file again: every certificate exists, nothing is added") {
    Json again = a.json({"cert", "import", bundle.string()});
    REQUIRE(again.size() == 3);
    for (const auto& c : again) {
      CHECK(c.at("status") == "exists");
      CHECK(c.at("friendly_name") == by_fingerprint(first, c.at("fingerprint_sha256")).at("friendly_name"));
    }
    CHECK(a.json({"cert", "list"}) == list);
    CHECK(unattached_keys(a) == 0);
  }
  SECTION("the same certificates in other encodings, twice in one command") {
    Json again = a.json({"cert", "import", (pki / "leaf.der").string(), (pki / "int.der").string(),
                         (pki / "leaf.pem").string()});
    REQUIRE(again.size() == 2);
    for (const auto& c : again) CHECK(c.at("status") == "exists");
    CHECK(a.json({"cert", "list"}).size() == list.size());
  }
  SECTION("a new certificate next to known ones") {
    Json again = a.json({"cert", "import", bundle.string(), (pki / "leaf_ec.pem").string()});
    REQUIRE(again.size() == 4);
    CHECK(by_fingerprint(again, pki.fingerprint("leaf_ec")).at("status") == "added");
    CHECK(by_fingerprint(again, pki.fingerprint("leaf")).at("status") == "exists");
    CHECK(a.json({"cert", "list"}).size() == list.size() + 1);
  }
}

TEST_CASE("roles and warnings come from the certificates, not from the file names", "[cli][import]") {
  const auto& pki = test_pki();
  Appliance a;
  // Misleading names: the root in server.crt, the intermediate in root.cer, the leaf in ca.pem.
  fs::copy_file(pki / "root.pem", a.dir / "server.crt");
  fs::copy_file(pki / "int.der", a.dir / "root.cer");
  fs::copy_file(pki / "leaf_ec.pem", a.dir / "ca.pem");
  SECTION("a leaf without its issuer and without its key") {
    a.json({"cert", "import", (a.dir / "ca.pem").string()});
    auto codes = codes_of(by_fingerprint(a.json({"cert", "list"}), pki.fingerprint("leaf_ec")));
    CHECK(codes.count("chain-incomplete") == 1);
    CHECK(codes.count("no-private-key") == 1);
    CHECK(codes.count("weak-signature") == 0);
  }
  SECTION("the whole chain") {
    a.json({"cert", "import", (a.dir / "ca.pem").string(), (a.dir / "server.crt").string(), (a.dir / "root.cer").string()});
    Json list = a.json({"cert", "list"});
    Json leaf = by_fingerprint(list, pki.fingerprint("leaf_ec"));
    CHECK(leaf.at("role") == "leaf");
    CHECK(leaf.at("issued_to") == "ec.example.com");
    CHECK(leaf.at("issued_by") == "Test Intermediate CA");
    CHECK(by_fingerprint(list, pki.fingerprint("int")).at("role") == "intermediate");
    CHECK(by_fingerprint(list, pki.fingerprint("root")).at("role") == "root");
    auto codes = shown_warnings(a, pki.fingerprint("leaf_ec"));
    CHECK(codes.count("chain-incomplete") == 0);
    CHECK(codes.count("no-private-key") == 1);
    // CA certificates never need their private key here.
    CHECK(codes_of(by_fingerprint(list, pki.fingerprint("int"))).count("no-private-key") == 0);
    CHECK(codes_of(by_fingerprint(list, pki.fingerprint("root"))).count("no-private-key") == 0);
  }
  SECTION("a SHA-1 signed leaf") {
    a.json({"cert", "import", (pki / "leaf_sha1.pem").string(), (pki / "int.pem").string(), (pki / "root.pem").string()});
    auto codes = codes_of(by_fingerprint(a.json({"cert", "list"}), pki.fingerprint("leaf_sha1")));
    CHECK(codes.count("weak-signature") == 1);
    codes = shown_warnings(a, pki.fingerprint("leaf_sha1"));
    CHECK(codes.count("weak-signature") == 1);
    CHECK(codes.count("chain-incomplete") == 0);
  }
}

TEST_CASE("cert import refuses bad input with exit 6, names the file and changes nothing", "[cli][import]") {
  const auto& pki = test_pki();
  Inputs in;
  const std::string passout = "file:" + in.pass.string();
  clitest::spit(in / "wrong.txt", "not the passphrase\n");
  // PKCS#12 and encrypted keys, read with the wrong passphrase.
  openssl_ok({"pkcs12", "-export", "-in", (pki / "leaf.pem").string(), "-inkey", (pki / "leaf.key").string(), "-passout",
              passout, "-out", (in / "good.p12").string()});
  openssl_ok({"pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", (pki / "leaf.key").string(), "-passout", passout, "-out",
              (in / "enc.key").string()});
  // Truncated DER; DER with trailing garbage.
  const std::string der = clitest::slurp(pki / "leaf.der");
  clitest::spit(in / "truncated.der", der.substr(0, der.size() / 2));
  clitest::spit(in / "trailing.der", der + "garbage after the certificate");
  // A certificate under a key's PEM label; a label nobody knows.
  std::string pem = clitest::slurp(pki / "leaf.pem");
  std::string relabelled = pem;
  for (std::size_t at; (at = relabelled.find("CERTIFICATE")) != std::string::npos;) relabelled.replace(at, 11, "PRIVATE KEY");
  clitest::spit(in / "wrong-label.pem", relabelled);
  std::string unknown = pem;
  for (std::size_t at; (at = unknown.find("CERTIFICATE")) != std::string::npos;) unknown.replace(at, 11, "SOMETHING ELSE");
  clitest::spit(in / "unknown-label.pem", unknown);
  // A certificate and someone else's key, as PEM and as PKCS#12 (the openssl CLI refuses to pair
  // them with -in/-inkey, but adds -certfile certificates without checking).
  concat(in / "mismatch.pem", {pki / "leaf.pem", pki / "other.key"});
  openssl_ok({"pkcs12", "-export", "-nocerts", "-inkey", (pki / "other.key").string(), "-certfile",
              (pki / "leaf.pem").string(), "-passout", passout, "-out", (in / "mismatch.p12").string()});
  std::string mm_info = openssl_ok({"pkcs12", "-in", (in / "mismatch.p12").string(), "-info", "-noout", "-passin", passout}).err;
  REQUIRE(has(mm_info, "Certificate bag"));
  REQUIRE(has(mm_info, "Shrouded Keybag"));
  // 1 MB of noise; an empty file.
  clitest::spit(in / "random.bin", clitest::run_process({"head", "-c", "1048576", "/dev/urandom"}).out);
  REQUIRE(fs::file_size(in / "random.bin") == 1048576);
  clitest::spit(in / "empty.pem", "");

  struct Case {
    std::string file;
    std::string passphrase_file;  // "" = none
  };
  const std::vector<Case> cases{
      {"good.p12", "wrong.txt"},    {"good.p12", ""},          {"enc.key", "wrong.txt"},  {"truncated.der", ""},
      {"trailing.der", ""},         {"wrong-label.pem", ""},   {"unknown-label.pem", ""}, {"mismatch.pem", ""},
      {"mismatch.p12", "pass.txt"}, {"random.bin", ""},        {"empty.pem", ""},
  };
  Appliance a;
  a.json({"cert", "import", (pki / "int.pem").string(), (pki / "root.pem").string()});
  a.json({"csr", "create", "--name", "pending", "--key", "ec:P-256", "--cn", "pending.example.com"});
  const std::string before = a.dump();
  REQUIRE_FALSE(before.empty());
  for (const auto& c : cases) {
    INFO("importing " << c.file << (c.passphrase_file.empty() ? "" : " with " + c.passphrase_file));
    std::vector<std::string> args{"cert", "import", (in / c.file).string()};
    if (!c.passphrase_file.empty()) args.insert(args.end(), {"--passphrase-file", (in / c.passphrase_file).string()});
    Result r = a.run(args);
    INFO("stderr: " << r.err);
    CHECK(r.code == 6);
    CHECK(has(r.err, c.file));
    CHECK(r.out.empty());
    CHECK(a.dump() == before);
    // --json: the error document on stdout.
    args.insert(args.begin(), "--json");
    Result j = a.run(args);
    CHECK(j.code == 6);
    Json doc = j.json();
    CHECK(doc.at("error").at("code").is_string());
    CHECK(has(doc.at("error").at("message").get<std::string>(), c.file));
    CHECK(a.dump() == before);
  }
  // The same files with the right passphrase are fine (the cases above fail for the reason given).
  Appliance b;
  CHECK(b.run({"cert", "import", (in / "good.p12").string(), (in / "enc.key").string(), "--passphrase-file",
               in.pass.string()})
            .code == 0);
}

TEST_CASE("several files are one transaction: one bad file and nothing is imported", "[cli][import]") {
  const auto& pki = test_pki();
  Appliance a;
  REQUIRE(a.run({"init"}).code == 0);
  const std::string before = a.dump();
  const std::size_t count = a.json({"cert", "list"}).size();
  const std::string der = clitest::slurp(pki / "int.der");
  clitest::spit(a.dir / "bad.der", der.substr(0, der.size() - 10));
  for (const auto& order : {std::vector<std::string>{(pki / "leaf.pem").string(), (pki / "leaf.key").string(),
                                                     (a.dir / "bad.der").string()},
                            std::vector<std::string>{(a.dir / "bad.der").string(), (pki / "root.pem").string()}}) {
    std::vector<std::string> args{"cert", "import"};
    args.insert(args.end(), order.begin(), order.end());
    Result r = a.run(args);
    INFO(r.err);
    CHECK(r.code == 6);
    CHECK(has(r.err, "bad.der"));
    CHECK(a.dump() == before);
    CHECK(a.json({"cert", "list"}).size() == count);
    CHECK(unattached_keys(a) == 0);
  }
  // Without the bad file the same command works.
  Json ok = a.json({"cert", "import", (pki / "leaf.pem").string(), (pki / "leaf.key").string()});
  REQUIRE(ok.size() == 1);
  CHECK(ok[0].at("private_key") == true);
}

// cli.md: a failing command changes nothing; on a store that does not exist yet, that means it
// stays absent.
TEST_CASE("cert import with a missing store creates it, a failed first import leaves no store",
          "[cli][import]") {
  const auto& pki = test_pki();
  Appliance a;
  clitest::spit(a.dir / "junk.pem", "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n");
  Result bad = a.run({"cert", "import", (a.dir / "junk.pem").string()});
  CHECK(bad.code == 6);
  CHECK(has(bad.err, "junk.pem"));
  CHECK_FALSE(fs::exists(a.db()));
  Json ok = a.json({"cert", "import", (pki / "root.der").string()});
  REQUIRE(ok.size() == 1);
  CHECK(ok[0].at("role") == "root");
  CHECK(fs::exists(a.db()));
}

// `cert list` summarises every certificate against the same store as `cert show` and `chain
// show`; a certificate listed after its issuer must not lose that issuer.
TEST_CASE("cert list, cert show and chain show agree on chain-incomplete", "[cli][import]") {
  const auto& pki = test_pki();
  Appliance a;
  // "Test ..." sorts before "www.example.com": the issuers come first in the list.
  a.json({"cert", "import", (pki / "leaf.pem").string(), (pki / "int.pem").string(), (pki / "root.pem").string()});
  const std::string fp = pki.fingerprint("leaf");
  REQUIRE(a.json({"chain", "show", fp.substr(0, 16)}).at("complete") == true);
  CHECK(shown_warnings(a, fp).count("chain-incomplete") == 0);
  Json list = a.json({"cert", "list"});
  for (const auto& c : list) {
    INFO("cert list entry " << c.at("friendly_name"));
    CHECK(codes_of(c) == shown_warnings(a, c.at("fingerprint_sha256")));
  }
  CHECK(codes_of(by_fingerprint(list, fp)).count("chain-incomplete") == 0);
}

TEST_CASE("one PEM file with two certificates and their keys in other encodings, --name", "[cli][import]") {
  const auto& pki = test_pki();
  Appliance a;
  fs::path pkcs1 = a.dir / "rsa.pem", sec1 = a.dir / "ec.pem";
  openssl_ok({"rsa", "-in", (pki / "leaf.key").string(), "-traditional", "-out", pkcs1.string()});
  openssl_ok({"ec", "-in", (pki / "leaf_ec.key").string(), "-out", sec1.string()});
  fs::path both = concat(a.dir / "both.pem", {sec1, pki / "leaf.pem", pkcs1, pki / "leaf_ec.pem"});
  SECTION("both certificates get their keys") {
    Json out = a.json({"cert", "import", both.string()});
    REQUIRE(out.size() == 2);
    CHECK(by_fingerprint(out, pki.fingerprint("leaf")).at("private_key") == true);
    CHECK(by_fingerprint(out, pki.fingerprint("leaf_ec")).at("private_key") == true);
    CHECK(unattached_keys(a) == 0);
    // --name names one server certificate: two in the input is a usage error, nothing changes.
    Appliance b;
    REQUIRE(b.run({"init"}).code == 0);
    const std::string before = b.dump();
    CHECK(b.run({"cert", "import", both.string(), "--name", "two"}).code == 2);
    CHECK(b.dump() == before);
  }
  SECTION("--name with one leaf and its chain names the leaf") {
    Json out = a.json({"cert", "import", (pki / "leaf_ec.pem").string(), sec1.string(), (pki / "int.pem").string(),
                       "--name", "ec-web"});
    REQUIRE(out.size() == 2);
    Json leaf = by_fingerprint(out, pki.fingerprint("leaf_ec"));
    CHECK(leaf.at("friendly_name") == "ec-web");
    CHECK(leaf.at("private_key") == true);
    CHECK(by_fingerprint(out, pki.fingerprint("int")).at("friendly_name") != "ec-web");
    CHECK(a.json({"cert", "show", "ec-web"}).at("fingerprint_sha256") == pki.fingerprint("leaf_ec"));
    // The name is taken now: another certificate under it is refused.
    CHECK(a.run({"cert", "import", (pki / "leaf.pem").string(), "--name", "ec-web"}).code == 5);
  }
}
