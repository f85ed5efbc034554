// Hostile certificate text, end to end (docs/robustness.md): what a malicious CA, a hostile TLS
// server or a crafted file puts in names and SANs. A SAN holding a newline stays one SAN and is
// never served; control characters, escape sequences and bytes that are not UTF-8 are shown as
// \xNN in tables, messages and JSON (cli.md); names of every string type import; a friendly name
// made from such a CN keeps the name rules. Certificates come from the openssl CLI where it can
// write them, else from tests/tools/hostile_cert.cpp (OpenSSL's C API: any bytes, any tag).
#include <set>
#include <string>
#include <vector>

#include "background.hpp"
#include "cli/harness.hpp"
#include "cli/test_pki.hpp"

namespace {

using clitest::Appliance;
using clitest::Background;
using clitest::has;
using clitest::openssl_ok;
using clitest::Result;
using clitest::TempDir;
namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string hex_of(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// tests/tools/hostile_cert: a self-signed leaf and its key in one PEM file.
fs::path hostile_cert(const TempDir& dir, const std::string& file, const std::string& type, const std::string& cn,
                      const std::vector<std::string>& sans = {"www.hostile.example"}) {
  std::vector<std::string> argv{HOSTILE_CERT_BIN, (dir / file).string(), type, hex_of(cn)};
  for (const auto& s : sans) argv.push_back(hex_of(s));
  Result r = clitest::run_process(argv);
  INFO(r.err);
  REQUIRE(r.code == 0);
  return dir / file;
}

// The openssl CLI: a self-signed leaf (certificate and key in one file) with this subject (raw
// bytes, -utf8) and subjectAltName config value (a "\n" escape in the config is a newline).
fs::path openssl_cert(const TempDir& dir, const std::string& file, const std::string& subject, const std::string& san) {
  clitest::spit(dir / (file + ".cnf"), "[req]\ndistinguished_name = dn\n[dn]\n[ext]\nsubjectAltName = " + san + "\n");
  openssl_ok({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
              (dir / (file + ".key")).string(), "-out", (dir / (file + ".crt")).string(), "-subj", subject, "-utf8",
              "-config", (dir / (file + ".cnf")).string(), "-extensions", "ext", "-days", "30"});
  clitest::spit(dir / file, clitest::slurp(dir / (file + ".crt")) + clitest::slurp(dir / (file + ".key")));
  return dir / file;
}

// Bytes a terminal would act on: C0 controls (ESC, BEL, CR, BS, NUL...), DEL, C1 controls in
// UTF-8 (U+0080..U+009F), and bytes that are not UTF-8. Nothing applctl prints may hold one.
std::string first_unsafe(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f) return "control byte at " + std::to_string(i);
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xa0)
      return "C1 control at " + std::to_string(i);
    if (c >= 0x80) {
      std::size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
      if (n == 0 || n > 4 || c > 0xf4 || i + n > s.size()) return "not UTF-8 at " + std::to_string(i);
      for (std::size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return "not UTF-8 at " + std::to_string(i);
      i += n - 1;
    }
  }
  return "";
}

void check_safe(const Result& r, const std::string& what) {
  INFO(what << ": stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(first_unsafe(r.out) == "");
  CHECK(first_unsafe(r.err) == "");
}

Json listed(const Appliance& a, const std::string& fingerprint) {
  for (const auto& c : a.json({"cert", "list"}))
    if (c.at("fingerprint_sha256") == fingerprint) return c;
  FAIL("certificate " << fingerprint << " not listed");
  return {};
}

}  // namespace

TEST_CASE("a SAN holding a newline stays one SAN, escaped, and no TLS client is served by it", "[cli][hostile]") {
  Appliance a;
  REQUIRE(a.run({"init", "--hostname", "appl.example.com"}).code == 0);
  TempDir dir;
  fs::path pem = openssl_cert(dir, "nl.pem", "/CN=www.hostile.example", "@alt\n[alt]\nDNS.1 = a\\nb.example.com\nDNS.2 = www.hostile.example");
  Json imported = a.json({"cert", "import", pem.string()});
  REQUIRE(imported.size() == 1);
  const std::string fp = imported[0].at("fingerprint_sha256");
  const Json want = Json::array({"DNS:a\\x0ab.example.com", "DNS:www.hostile.example"});
  CHECK(imported[0].at("alt_names") == want);
  CHECK(listed(a, fp).at("alt_names") == want);
  CHECK(a.json({"cert", "show", fp.substr(0, 16)}).at("alt_names") == want);
  // Stored as a JSON array: no content of a SAN can split it.
  CHECK(Json::parse(clitest::sql(a, "SELECT alt_names FROM certificates WHERE fingerprint_sha256 = '" + fp + "'")) == want);
  // Neither half of the SAN, nor its escaped text, selects the certificate; its real SAN does.
  for (const char* host : {"a", "b.example.com", "a\\x0ab.example.com", "A\\X0AB.EXAMPLE.COM"}) {
    INFO(host);
    CHECK(a.json({"sni", "resolve", host}).at("rule") == "default");
  }
  CHECK(a.json({"sni", "resolve", "www.hostile.example"}).at("rule") == "exact-san");
  Result doctor = a.run({"doctor"});
  INFO(doctor.out << doctor.err);
  CHECK(doctor.code == 0);
}

TEST_CASE("doctor compares the stored SANs with the DER", "[cli][hostile]") {
  Appliance a;
  REQUIRE(a.run({"init", "--hostname", "appl.example.com"}).code == 0);
  TempDir dir;
  fs::path pem = openssl_cert(dir, "ok.pem", "/CN=www.hostile.example", "DNS:www.hostile.example");
  const std::string fp = a.json({"cert", "import", pem.string()})[0].at("fingerprint_sha256");
  REQUIRE(a.run({"doctor"}).code == 0);
  // What an older applctl stored for a SAN with a newline: two SANs the certificate does not have.
  clitest::sql(a, "UPDATE certificates SET alt_names = '[\"DNS:a\",\"DNS:b.example.com\"]' WHERE fingerprint_sha256 = '" +
                      fp + "'");
  Result r = a.run({"doctor"});
  INFO(r.out << r.err);
  CHECK(r.code != 0);
  CHECK(has(r.out + r.err, "alt_names"));
  CHECK(has(r.out + r.err, "stored SANs: 2; in the DER: 1"));
}

TEST_CASE("terminal escape sequences and control characters in names and SANs are shown as \\xNN", "[cli][hostile]") {
  Appliance a;
  REQUIRE(a.run({"init", "--hostname", "appl.example.com"}).code == 0);
  TempDir dir;
  // OSC (set the window title), CSI colour, CR, BS, and a C1 CSI (U+009B) in the CN; ESC in a SAN.
  const std::string cn = "evil\x1b]0;owned\x07\x1b[31m\rx\x08y\xc2\x9b" "2J";
  fs::path pem = hostile_cert(dir, "esc.pem", "utf8", cn, {"www.hostile.example", "x\x1b[2J.example.com"});
  Result human = a.run({"cert", "import", pem.string()});
  REQUIRE(human.code == 0);
  check_safe(human, "cert import");
  const std::string shown = "evil\\x1b]0;owned\\x07\\x1b[31m\\x0dx\\x08y\\xc2\\x9b2J";
  CHECK(has(human.out, shown));
  Json list = a.json({"cert", "list"});
  Json cert;
  for (const auto& c : list)
    if (c.at("issued_to") == shown) cert = c;
  REQUIRE(cert.is_object());
  CHECK(cert.at("alt_names") == Json::array({"DNS:www.hostile.example", "DNS:x\\x1b[2J.example.com"}));
  CHECK(cert.at("issued_by") == shown);
  const std::string fp = cert.at("fingerprint_sha256");
  Json show = a.json({"cert", "show", fp.substr(0, 16)});
  CHECK(show.at("issued_to") == shown);
  // RFC 4514 text: its own escapes (";" as "\;"), and \xNN for what is not printable.
  CHECK(has(show.at("subject").get<std::string>(), "\\x1b[31m\\x0dx\\x08y\\xc2\\x9b2J,O=Hostile Test"));
  using Args = std::vector<std::string>;  // spelled out: {"a", "b"} would be an iterator pair
  for (const Args& args : {Args{"cert", "list"}, Args{"cert", "show", fp.substr(0, 16)}, Args{"--json", "cert", "list"},
                           Args{"--json", "cert", "show", fp.substr(0, 16)}, Args{"cert", "check"},
                           Args{"chain", "show", fp.substr(0, 16)}, Args{"status"}}) {
    Result r = a.run(args);
    check_safe(r, args.front() + " " + args.back());
  }
  // The DER is untouched: the exported certificate is the one imported, byte for byte.
  fs::path der = dir / "out.der";
  REQUIRE(a.run({"cert", "export", fp.substr(0, 16), "--format", "der", "-o", der.string()}).code == 0);
  CHECK(clitest::openssl_fingerprint(der, "DER") == fp);
  // An error message that quotes a hostile argument escapes it as well, in JSON too.
  Result missing = a.run({"--json", "cert", "show", "no\x1b[31mthing"});
  CHECK(missing.code == 4);
  check_safe(missing, "cert show of a missing name");
  CHECK(has(missing.err, "no\\x1b[31mthing"));
  CHECK(missing.json().at("error").at("message").get<std::string>().find("\\x1b") != std::string::npos);
}

TEST_CASE("T61String and BMPString names import; a SAN that is not UTF-8 is escaped; an undecodable name is bad input",
          "[cli][hostile]") {
  Appliance a;
  REQUIRE(a.run({"init", "--hostname", "appl.example.com"}).code == 0);
  TempDir dir;
  // T61String (read as Latin-1) with a SAN holding a byte that is not UTF-8: before, exit 1
  // ("internal error: [json.exception.type_error.316]").
  fs::path t61 = hostile_cert(dir, "t61.pem", "t61", "caf\xe9", {"x\xff.example.com"});
  Json j = a.json({"cert", "import", t61.string()});
  REQUIRE(j.size() == 1);
  CHECK(j[0].at("issued_to") == "caf\xc3\xa9");
  CHECK(j[0].at("alt_names") == Json::array({"DNS:x\\xff.example.com"}));
  // BMPString (UTF-16) holding ESC.
  fs::path bmp = hostile_cert(dir, "bmp.pem", "bmp", std::string("\0A\0B\0\x1b\0[\0003\0001\0m", 14));
  Json b = a.json({"cert", "import", bmp.string()});
  REQUIRE(b.size() == 1);
  CHECK(b[0].at("issued_to") == "AB\\x1b[31m");
  Result human = a.run({"cert", "list"});
  check_safe(human, "cert list");
  // A UTF8String that is not UTF-8: OpenSSL's decoder refuses the whole certificate, so it is bad
  // input naming the file (exit 6), never an internal error, and the store is unchanged.
  fs::path bad = hostile_cert(dir, "bad-utf8.pem", "utf8", "bad\xff\xfe");
  const std::string before = a.dump();
  Result r = a.run({"--json", "cert", "import", bad.string()});
  CHECK(r.code == 6);
  check_safe(r, "import of an undecodable name");
  CHECK(has(r.err, "bad-utf8.pem"));
  CHECK(a.dump() == before);
}

TEST_CASE("probe escapes what a hostile TLS server's certificate says", "[cli][hostile][probe]") {
  TempDir dir;
  fs::path pem = openssl_cert(dir, "srv.pem", "/CN=probe\x1b]0;owned\x07", "DNS:a\\nb.example.com");
  const int port = clitest::free_port();
  Background server({"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
                     (dir / "srv.pem.crt").string(), "-key", (dir / "srv.pem.key").string(), "-www"});
  REQUIRE(server.wait_for("ACCEPT"));
  const std::string target = "127.0.0.1:" + std::to_string(port);
  for (bool json : {false, true}) {
    std::vector<std::string> argv{"timeout", "30", APPLCTL_BIN, "--store", (dir / "no-store").string()};
    if (json) argv.push_back("--json");
    for (const char* s : {"probe", target.c_str(), "--sni", "probe.example.com"}) argv.push_back(s);
    Result r = clitest::run_process(argv);
    INFO(r.out << r.err);
    CHECK(r.code == 3);  // self-signed: does not verify
    check_safe(r, "probe");
    if (json) {
      const Json chain = r.json().at("chain");
      REQUIRE(chain.size() == 1);
      CHECK(has(chain[0].at("subject").get<std::string>(), "CN=probe\\x1b]0"));
      CHECK(has(chain[0].at("subject").get<std::string>(), "owned\\x07"));
      CHECK(chain[0].at("alt_names") == Json::array({"DNS:a\\x0ab.example.com"}));
    } else {
      CHECK(has(r.out, "probe\\x1b]0"));
      CHECK(has(r.out, "owned\\x07"));
    }
  }
}

TEST_CASE("a friendly name made from a CN keeps the name rules, and export-config applies", "[cli][hostile]") {
  Appliance a;
  REQUIRE(a.run({"init", "--hostname", "appl.example.com"}).code == 0);
  TempDir dir;
  fs::path esc = hostile_cert(dir, "esc.pem", "utf8", std::string("  web\x1b[31m\0x  ", 14));
  Result human = a.run({"cert", "import", esc.string()});
  REQUIRE(human.code == 0);
  check_safe(human, "cert import");
  CHECK(has(human.out, "made from the certificate"));
  Json list = a.json({"cert", "list"});
  bool found = false;
  for (const auto& c : list)
    found = found || c.at("friendly_name") == "web\\x1b[31m\\x00x";
  CHECK(found);
  // A CN that looks like a fingerprint prefix is made distinct; as --name it is refused.
  fs::path hexcn = openssl_cert(dir, "hex.pem", "/CN=DEADBEEF01", "DNS:hex.example.com");
  Json h = a.json({"cert", "import", hexcn.string()});
  REQUIRE(h.size() == 1);
  CHECK(h[0].at("friendly_name") == "DEADBEEF01-cert");
  CHECK(h[0].at("name_changes").size() == 1);
  CHECK(has(h[0].at("name_changes")[0].get<std::string>(), "fingerprint"));
  fs::path other = openssl_cert(dir, "other.pem", "/CN=other.example.com", "DNS:other.example.com");
  for (const char* name : {"deadbeef", "0123456789abcdef", "de:ad:be:ef:01"}) {
    INFO(name);
    Result r = a.run({"cert", "import", other.string(), "--name", name});
    CHECK(r.code == 6);
    CHECK(has(r.err, "fingerprint"));
    CHECK(a.run({"cert", "rename", "DEADBEEF01-cert", name}).code == 6);
  }
  CHECK(a.run({"cert", "import", other.string(), "--name", "deadbeef-web"}).code == 0);
  // The whole store round-trips through export-config and apply.
  TempDir out;
  a.env["EXPORT_PASS"] = "export secret";
  REQUIRE(a.run({"export-config", "-o", (out / "export").string(), "--passphrase-env", "EXPORT_PASS"}).code == 0);
  Appliance b;
  b.env["EXPORT_PASS"] = "export secret";
  Result applied = b.run({"apply", "-f", (out / "export" / "appliance.yaml").string()});
  INFO(applied.out << applied.err);
  CHECK(applied.code == 0);
  std::set<std::string> names_a, names_b;
  for (const auto& c : a.json({"cert", "list"})) names_a.insert(c.at("friendly_name").get<std::string>());
  for (const auto& c : b.json({"cert", "list"})) names_b.insert(c.at("friendly_name").get<std::string>());
  CHECK(names_a == names_b);
}
