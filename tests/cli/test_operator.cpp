// Regressions from a new operator's run through the appliance guides (issue "What an operator
// meets"): each case runs the built binary on what the operator had, with the openssl CLI (and
// unzip) as the oracle.
#include <cstdint>
#include <string>

#include "cli/harness.hpp"
#include "cli/test_pki.hpp"

namespace {

using clitest::Appliance;
using clitest::Result;
namespace fs = std::filesystem;

// UTF-16 (with its byte-order mark) of ASCII text.
std::string utf16(const std::string& text, bool little) {
  std::string out = little ? std::string("\xFF\xFE", 2) : std::string("\xFE\xFF", 2);
  for (char c : text) {
    if (little) {
      out += c;
      out += '\0';
    } else {
      out += '\0';
      out += c;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("cert import reads PEM saved with a byte-order mark (Notepad: UTF-8, or UTF-16)", "[cli][import][operator]") {
  const auto& pki = clitest::test_pki();
  const std::string pem = clitest::slurp(pki / "leaf.pem");
  Appliance a;
  REQUIRE(a.run({"init", "--hostname", "appl.example.com"}).code == 0);

  const fs::path bom8 = a.dir / "answer-utf8.crt";
  clitest::spit(bom8, "\xEF\xBB\xBF" + pem);
  // openssl reads it too: the oracle agrees on the fingerprint.
  const std::string want = clitest::openssl_fingerprint(bom8);
  nlohmann::json r = a.json({"cert", "import", bom8.string(), "--name", "bom8"});
  REQUIRE(r.size() == 1);
  CHECK(r[0]["fingerprint_sha256"] == want);

  for (bool little : {true, false}) {
    Appliance b;
    REQUIRE(b.run({"init", "--hostname", "appl.example.com"}).code == 0);
    const fs::path f = b.dir / "answer-utf16.crt";
    clitest::spit(f, utf16(pem, little));
    nlohmann::json j = b.json({"cert", "import", f.string()});
    REQUIRE(j.size() == 1);
    CHECK(j[0]["fingerprint_sha256"] == want);
  }

  // UTF-16 holding something else than ASCII is not PEM: exit 6 naming the file, store unchanged.
  const fs::path odd = a.dir / "odd.crt";
  clitest::spit(odd, std::string("\xFF\xFE", 2) + "\xE9\x00-\x00");
  const std::string before = a.dump();
  Result bad = a.run({"cert", "import", odd.string()});
  CHECK(bad.code == 6);
  CHECK(clitest::has(bad.err, "odd.crt"));
  CHECK(clitest::has(bad.err, "UTF-16"));
  CHECK(a.dump() == before);
}

TEST_CASE("csr create and cert self-signed need --cn or a --san", "[cli][csr][operator]") {
  Appliance a;
  REQUIRE(a.run({"init", "--hostname", "appl.example.com"}).code == 0);
  const std::string before = a.dump();
  Result csr = a.run({"csr", "create", "--name", "r", "--org", "X"});
  CHECK(csr.code == 6);
  CHECK(clitest::has(csr.err, "--cn"));
  Result self = a.run({"cert", "self-signed", "--name", "s", "--org", "X"});
  CHECK(self.code == 6);
  CHECK(a.dump() == before);
  // Either one is enough; openssl reads the request.
  const fs::path out = a.dir / "r.csr";
  REQUIRE(a.run({"csr", "create", "--name", "r", "--org", "X", "--san", "r.example.com", "-o", out.string()}).code == 0);
  Result text = clitest::openssl_ok({"req", "-in", out.string(), "-noout", "-text"});
  CHECK(clitest::has(text.out, "DNS:r.example.com"));
}

TEST_CASE("cert bundle: zip entries are regular files of mode 0644", "[cli][bundle][operator]") {
  const auto& pki = clitest::test_pki();
  Appliance a;
  REQUIRE(a.run({"init", "--hostname", "appl.example.com"}).code == 0);
  REQUIRE(a.run({"cert", "import", (pki / "leaf.pem").string(), (pki / "int.pem").string(), (pki / "root.pem").string(),
                 "--name", "web"})
              .code == 0);
  const fs::path zip = a.dir / "web.zip";
  REQUIRE(a.run({"cert", "bundle", "web", "-o", zip.string()}).code == 0);
  // zipinfo's first column: the Unix mode of each entry.
  Result z = clitest::run_process({"zipinfo", zip.string()});
  REQUIRE(z.code == 0);
  int entries = 0;
  std::istringstream lines(z.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() < 10 || (line[0] != '-' && line[0] != 'd' && line[0] != '?')) continue;
    ++entries;
    INFO(line);
    CHECK(line.substr(0, 10) == "-rw-r--r--");
  }
  CHECK(entries >= 3);
}

TEST_CASE("cert export -o - writes to stdout, the confirmation to stderr", "[cli][export][operator]") {
  const auto& pki = clitest::test_pki();
  Appliance a;
  REQUIRE(a.run({"init", "--hostname", "appl.example.com"}).code == 0);
  REQUIRE(a.run({"cert", "import", (pki / "leaf.pem").string(), (pki / "int.pem").string(), "--name", "web"}).code == 0);
  const std::string fp = a.json({"cert", "show", "web"})["fingerprint_sha256"];

  Result pem = a.run({"cert", "export", "web", "--format", "pem", "--with-chain", "-o", "-"});
  REQUIRE(pem.code == 0);
  CHECK(pem.out.rfind("-----BEGIN CERTIFICATE-----", 0) == 0);  // nothing but PEM on stdout
  CHECK(clitest::has(pem.err, "exported 'web' as pem to standard output"));
  // The stream is what openssl reads: the leaf first.
  CHECK(clitest::openssl_ok({"x509", "-noout", "-fingerprint", "-sha256"}, pem.out).out.find(':') != std::string::npos);
  Result der = a.run({"cert", "export", "web", "--format", "der", "-o", "-"});  // stdout is a pipe here
  REQUIRE(der.code == 0);
  const fs::path cer = a.dir / "web.cer";
  clitest::spit(cer, der.out);
  std::string got = clitest::openssl_fingerprint(cer, "DER");
  CHECK(got == fp);
  // -q: nothing on stderr; --json with -o - is a usage error.
  Result quiet = a.run({"-q", "cert", "export", "web", "--format", "pem", "-o", "-"});
  CHECK(quiet.code == 0);
  CHECK(quiet.err.empty());
  CHECK(a.run({"--json", "cert", "export", "web", "--format", "pem", "-o", "-"}).code == 2);
  // Without a key written, the JSON has no key_encrypted.
  nlohmann::json j = a.json({"cert", "export", "web", "--format", "der", "-o", (a.dir / "w2.cer").string()});
  CHECK_FALSE(j.contains("key_encrypted"));
  CHECK(j["private_key"] == false);
}
