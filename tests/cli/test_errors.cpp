// End-to-end: exit codes and error reports (cli.md "Exit codes", `--json` errors), input
// validation that must leave the store unchanged, and how certificates are named.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "cli/harness.hpp"

namespace {

using clitest::Appliance;
using clitest::Result;
namespace fs = std::filesystem;
using Json = nlohmann::json;

using clitest::contains;

// A store with its factory default certificate and one more, "web".
struct Fixture {
  Appliance a;
  Json web;
  Fixture() {
    a.json({"init", "--hostname", "appl.example.com"});
    web = a.json({"cert", "self-signed", "--name", "web", "--key", "ec:P-256", "--cn", "www.example.com"});
  }
};

void check_sql(const Appliance& a, const std::string& query) {
  Result r = clitest::run_process({"sqlite3", a.db().string(), query});
  INFO(query << ": " << r.err);
  REQUIRE(r.code == 0);
}

}  // namespace

TEST_CASE("usage errors exit 2 with the usage line on stderr", "[cli][errors]") {
  Fixture f;
  const std::string before = f.a.dump();
  const std::vector<std::vector<std::string>> cases = {
      {"cert", "list", "--no-such-flag"},
      {"--no-such-global", "cert", "list"},
      {"cert", "self-signed", "--cn", "x.example.com"},                 // --name missing
      {"cert", "export", "web", "-o", (f.a.dir / "x").string()},        // --format missing
      {"cert", "export", "web", "--format", "pem"},                     // -o missing
      {"cert", "show"},                                                 // CERT missing
      {"cert", "rename", "web"},                                        // NEW_NAME missing
      {"csr", "create", "--cn", "x.example.com"},                       // --name missing
      {"no-such-group", "list"},
      {"cert", "no-such-verb"},
      {"csr", "no-such-verb"},
      {"cert"},
      {},
      {"cert", "self-signed", "--name", "x", "--cn", "x.example.com", "extra-argument"},
      {"cert", "self-signed", "--name", "x", "--cn", "x.example.com", "--key"},  // value missing
      // CLI11's own exit codes (105 conversion, 106 validation, 109 extras...) never leak.
      {"cert", "self-signed", "--name", "x", "--cn", "x.example.com", "--days", "abc"},
      {"cert", "self-signed", "--name", "x", "--cn", "x.example.com", "--days", "0"},
      {"cert", "self-signed", "--name", "x", "--cn", "x.example.com", "--days", "36501"},
      {"cert", "self-signed", "--name", "x", "--cn", "x.example.com", "--days", "1.5"},
      {"cert", "export", "web", "--format", "xyz", "-o", (f.a.dir / "x").string()},
      {"cert", "export", "web", "--format", "pem", "-o", (f.a.dir / "x").string(), "--passphrase-file", "a",
       "--passphrase-env", "B"},
  };
  for (const auto& args : cases) {
    Result r = f.a.run(args);
    std::string line;
    for (const auto& s : args) line += s + " ";
    INFO("applctl " << line << "\nstdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.code == 2);
    CHECK(contains(r.err, "Usage"));
    // The usage line names the whole command, not only its last word.
    static const std::set<std::string> verbs{"list", "self-signed", "export", "show", "rename", "create"};
    if (args.size() > 1 && args[1] == "no-such-verb") CHECK(contains(r.err, "'no-such-verb' is not a command of 'applctl " + args[0] + "'"));
    if (!args.empty() && args[0] == "no-such-group") CHECK(contains(r.err, "'no-such-group' is not a command of 'applctl'"));
    if (args.size() > 1 && (args[0] == "cert" || args[0] == "csr") && verbs.contains(args[1])) CHECK(contains(r.err, "Usage: applctl " + args[0] + " " + args[1] + " "));
    CHECK(r.out.empty());
  }
  CHECK_FALSE(fs::exists(f.a.dir / "x"));
  CHECK(f.a.dump() == before);
}

TEST_CASE("help and version exit 0 on stdout", "[cli][errors]") {
  Appliance a;
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"}, {"cert", "--help"}, {"cert", "self-signed", "--help"},
                                        {"csr", "create", "--help"}, {"--version"}}) {
    Result r = a.run(args);
    INFO(args.front() << ": " << r.err);
    CHECK(r.code == 0);
    CHECK_FALSE(r.out.empty());
  }
  CHECK(contains(a.run({"cert", "self-signed", "--help"}).out, "--days"));
  CHECK_FALSE(fs::exists(a.store));
}

TEST_CASE("JSON: --json errors print an error document on stdout and the message on stderr", "[cli][errors]") {
  Fixture f;
  struct Case {
    std::vector<std::string> args;
    int code;
    const char* error_code;
  };
  const std::vector<Case> cases = {
      {{"cert", "show", "nosuch"}, 4, "not-found"},
      {{"cert", "remove", "factory-default"}, 5, "refused"},
      {{"cert", "self-signed", "--name", "x", "--country", "XX", "--cn", "x.example.com"}, 6, "bad-input"},
      {{"cert", "list", "--no-such-flag"}, 2, "usage"},
      {{"cert", "self-signed", "--name", "x", "--cn", "x.example.com", "--days", "abc"}, 2, "usage"},
      {{"no-such-group"}, 2, "usage"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = c.args;
    args.insert(args.begin(), "--json");
    Result r = f.a.run(args);
    INFO(c.args.front() << " " << c.args.back() << "\nstdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.code == c.code);
    Json doc;
    REQUIRE_NOTHROW(doc = Json::parse(r.out));  // one document, nothing else
    REQUIRE(doc.is_object());
    REQUIRE(doc.contains("error"));
    CHECK(doc["error"]["code"] == c.error_code);
    REQUIRE(doc["error"]["message"].is_string());
    CHECK_FALSE(doc["error"]["message"].get<std::string>().empty());
    CHECK(doc["error"]["hint"].is_string());
    CHECK(contains(r.err, doc["error"]["message"].get<std::string>()));
  }
}

TEST_CASE("invalid input exits 6 naming what is wrong and changes nothing", "[cli][errors]") {
  Fixture f;
  const std::string before = f.a.dump();
  struct Case {
    std::vector<std::string> args;
    std::string named;  // must appear on stderr
  };
  const std::vector<Case> cases = {
      {{"--key", "rsa:1024", "--cn", "x.example.com"}, "rsa:1024"},
      {{"--key", "rsa:512", "--cn", "x.example.com"}, "rsa:512"},
      {{"--key", "dsa:2048", "--cn", "x.example.com"}, "dsa:2048"},
      {{"--key", "ec:P-521x", "--cn", "x.example.com"}, "ec:P-521x"},
      {{"--key", "rsa", "--cn", "x.example.com"}, "rsa"},
      {{"--country", "XX", "--cn", "x.example.com"}, "XX"},
      {{"--country", "UK", "--cn", "x.example.com"}, "UK"},
      {{"--country", "USA", "--cn", "x.example.com"}, "USA"},
      {{"--san", "a..b"}, "a..b"},
      {{"--san", "*.com"}, "*.com"},
      {{"--san", "foo.*.example.com"}, "foo.*.example.com"},
      {{"--san", "a*.example.com"}, "a*.example.com"},
      {{"--san", "under_score.example.com"}, "under_score.example.com"},
      {{"--cn", "x.example.com", "--san", "good.example.com", "--san", "-bad.example.com"}, "-bad.example.com"},
      {{"--cn", "x.example.com", "--san", "IP:300.1.2.3"}, "300.1.2.3"},
      {{}, ""},  // an empty subject and no SAN
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{"cert", "self-signed", "--name", "x"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    Result r = f.a.run(args);
    INFO("self-signed " << (c.args.empty() ? "" : c.args.front() + " " + c.args[1]) << ": " << r.err);
    CHECK(r.code == 6);
    CHECK(contains(r.err, c.named));
    CHECK(r.out.empty());
    // csr create validates the same way.
    args[0] = "csr";
    args[1] = "create";
    Result csr = f.a.run(args);
    INFO("csr create: " << csr.err);
    CHECK(csr.code == 6);
    CHECK(contains(csr.err, c.named));
  }
  CHECK(f.a.run({"cert", "self-signed", "--name", "", "--cn", "x.example.com"}).code == 6);
  CHECK(f.a.run({"cert", "self-signed", "--name", " padded ", "--cn", "x.example.com"}).code == 6);
  CHECK(f.a.dump() == before);
}

TEST_CASE("a lower-case country code is the upper-case one", "[cli][errors]") {
  Fixture f;
  f.a.json({"cert", "self-signed", "--name", "us", "--key", "ec:P-256", "--country", "us", "--cn", "us.example.com"});
  CHECK(f.a.json({"cert", "show", "us"})["subject"] == "CN=us.example.com,C=US");
  fs::path pem = f.a.dir / "us.pem";
  REQUIRE(f.a.run({"cert", "export", "us", "--format", "pem", "-o", pem.string()}).code == 0);
  Result subject = clitest::openssl({"x509", "-in", pem.string(), "-noout", "-subject", "-nameopt", "RFC2253"});
  CHECK(subject.out == "subject=CN=us.example.com,C=US\n");
}

TEST_CASE("a duplicate friendly name is refused (exit 5) and changes nothing", "[cli][errors]") {
  Fixture f;
  const std::string before = f.a.dump();
  Result r = f.a.run({"cert", "self-signed", "--name", "web", "--key", "ec:P-256", "--cn", "other.example.com"});
  CHECK(r.code == 5);
  CHECK(contains(r.err, "web"));
  CHECK(f.a.run({"cert", "self-signed", "--name", "factory-default", "--key", "ec:P-256", "--cn", "o.example.com"}).code ==
        5);
  CHECK(f.a.dump() == before);
  CHECK(f.a.json({"cert", "show", "web"})["fingerprint_sha256"] == f.web["fingerprint_sha256"]);
}

TEST_CASE("certificates are named by friendly name or a fingerprint prefix of 8 or more hex digits", "[cli][errors]") {
  Fixture f;
  const std::string fp = f.web["fingerprint_sha256"];
  auto upper = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
  };
  for (const std::string& ref : {std::string("web"), fp, fp.substr(0, 8), fp.substr(0, 12), upper(fp.substr(0, 8)),
                                 upper(fp)}) {
    Result r = f.a.run({"--json", "cert", "show", ref});
    INFO(ref << ": " << r.err);
    REQUIRE(r.code == 0);
    CHECK(r.json()["friendly_name"] == "web");
  }
  // Other verbs take the same references.
  fs::path out = f.a.dir / "by-prefix.pem";
  CHECK(f.a.run({"cert", "export", fp.substr(0, 10), "--format", "pem", "-o", out.string()}).code == 0);
  CHECK(f.a.json({"cert", "check", fp.substr(0, 8)})["certificates"][0]["friendly_name"] == "web");

  // Too short, not a fingerprint, or matching nothing: not found.
  Result short_prefix = f.a.run({"cert", "show", fp.substr(0, 7)});
  CHECK(short_prefix.code == 4);
  CHECK(f.a.run({"cert", "show", fp.substr(0, 1)}).code == 4);
  CHECK(f.a.run({"cert", "show", "nosuch"}).code == 4);
  CHECK(f.a.run({"cert", "show", "zzzzzzzzzz"}).code == 4);
  // An 8-digit prefix no stored fingerprint starts with.
  Json list = f.a.json({"cert", "list"});
  std::string absent = fp.substr(0, 8);
  for (int attempt = 0; attempt < 16; ++attempt) {
    absent[0] = "0123456789abcdef"[attempt];
    bool used = false;
    for (const auto& c : list) used = used || c["fingerprint_sha256"].get<std::string>().rfind(absent, 0) == 0;
    if (!used) break;
  }
  Result none = f.a.run({"cert", "show", absent});
  INFO(none.err);
  CHECK(none.code == 4);
  CHECK(f.a.run({"cert", "remove", absent}).code == 4);
  CHECK(f.a.run({"cert", "default", absent}).code == 4);
  // A friendly name that looks like a prefix would win over it (names are looked up first), so
  // such a name is refused (bad input) and the prefix keeps naming nothing.
  const std::string before = f.a.dump();
  Result hex_name = f.a.run({"cert", "self-signed", "--name", absent, "--key", "ec:P-256", "--cn", "hex.example.com"});
  CHECK(hex_name.code == 6);
  CHECK(contains(hex_name.err, "fingerprint prefix"));
  CHECK(f.a.dump() == before);
  CHECK(f.a.run({"cert", "show", absent}).code == 4);
}

// Two random fingerprints sharing 8 hex digits would take ~65000 certificates; instead two rows'
// stored fingerprints are made to share a prefix (sqlite3 on the store), which is what the
// lookup reads. The certificates themselves stay intact.
TEST_CASE("an ambiguous fingerprint prefix is refused (exit 5) listing the candidates", "[cli][errors]") {
  Fixture f;
  Json api = f.a.json({"cert", "self-signed", "--name", "api", "--key", "ec:P-256", "--cn", "api.example.com"});
  const std::string fp = f.web["fingerprint_sha256"];
  std::string forged = api["fingerprint_sha256"];
  forged.replace(0, 8, fp.substr(0, 8));
  forged[8] = fp[8] == '0' ? '1' : '0';  // the same 8 digits, a different 9th
  check_sql(f.a, "UPDATE certificates SET fingerprint_sha256 = '" + forged + "' WHERE friendly_name = 'api'");

  const std::string before = f.a.dump();
  for (const std::string verb : {"show", "remove", "default"}) {
    Result r = f.a.run({"cert", verb, fp.substr(0, 8)});
    INFO(verb << ": " << r.err);
    CHECK(r.code == 5);
    CHECK(contains(r.err, "web"));
    CHECK(contains(r.err, "api"));
  }
  Result json = f.a.run({"--json", "cert", "show", fp.substr(0, 8)});
  CHECK(json.code == 5);
  CHECK(json.json()["error"]["code"] == "refused");
  CHECK(f.a.dump() == before);
  // One more digit tells them apart.
  CHECK(f.a.json({"cert", "show", fp.substr(0, 9)})["friendly_name"] == "web");
  CHECK(f.a.json({"cert", "show", forged.substr(0, 9)})["friendly_name"] == "api");
}
