// applctl acme account against pebble (Let's Encrypt's test ACME server), end to end: an account
// registered, found again with the same URL, its key kept in the store and never shown; many
// registrations with pebble's default 5% badNonce rejection on (the retry must carry them); and
// the failures: terms of service not accepted, a server that is down, a TLS certificate that does
// not verify, a URL that is no ACME directory, an unusable email address, a rate limit. External
// account binding against a pebble that requires it; acme show. (acme issue: test_acme_issue.cpp.)
#include <regex>

#include "integration/pebble.hpp"

namespace {

using clitest::Appliance;
using clitest::Result;
using pebbletest::PebblePki;
using pebbletest::PebbleServer;
namespace fs = std::filesystem;

PebbleServer& pebble() { return PebbleServer::shared(); }

std::vector<std::string> account_args(const std::string& server, const std::string& ca_bundle,
                                      std::vector<std::string> extra = {"--accept-tos"}) {
  std::vector<std::string> args{"acme", "account", "--server", server, "--email", "ops@example.org"};
  if (!ca_bundle.empty()) args.insert(args.end(), {"--ca-bundle", ca_bundle});
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<std::string> pebble_args(std::vector<std::string> extra = {"--accept-tos"}) {
  return account_args(pebble().directory_url(), pebble().ca_bundle(), std::move(extra));
}

std::string setting(const Appliance& a, const std::string& key) {
  Result r = clitest::run_process({"sqlite3", a.db().string(), "SELECT value FROM settings WHERE key = '" + key + "'"});
  REQUIRE(r.code == 0);
  return clitest::chomp(r.out);
}

// How many badNonce retries `-v` reported on stderr.
int retries_of(const Result& r) {
  std::smatch m;
  static const std::regex re(R"((\d+) badNonce retries)");
  return std::regex_search(r.err, m, re) ? std::stoi(m[1]) : 0;
}

}  // namespace

TEST_CASE("acme account registers with pebble, then finds the same account with the stored key",
          "[integration][acme]") {
  Appliance a;
  nlohmann::json first = a.json(pebble_args());
  const std::string prefix = "https://127.0.0.1:" + std::to_string(pebble().port()) + "/";
  CHECK(first["created"] == true);
  CHECK(first["new_key"] == true);
  CHECK(first["status"] == "valid");
  CHECK(first["server"] == pebble().directory_url());
  CHECK(first["email"] == "ops@example.org");
  const std::string kid = first["kid"];
  CHECK(kid.rfind(prefix, 0) == 0);
  CHECK(first["account_url"] == kid);
  CHECK(std::regex_match(first["key_thumbprint"].get<std::string>(), std::regex("[A-Za-z0-9_-]{43}")));
  CHECK(first["terms_of_service"].is_string());

  // The settings, and one key in the keys table: EC P-256, which status does not count as a key
  // waiting for its certificate.
  CHECK(setting(a, "acme.account_url") == kid);
  CHECK(setting(a, "acme.server") == pebble().directory_url());
  CHECK(setting(a, "acme.email") == "ops@example.org");
  CHECK(!setting(a, "acme.account_key_id").empty());
  CHECK(a.json({"status"})["unattached_keys"] == 0);

  // Again: the same key finds the same account (onlyReturnExisting); --accept-tos is not needed.
  nlohmann::json again = a.json(pebble_args({}));
  CHECK(again["created"] == false);
  CHECK(again["new_key"] == false);
  CHECK(again["kid"] == kid);
  CHECK(again["key_thumbprint"] == first["key_thumbprint"]);

  // Human output: a key: value block; never a key.
  Result human = a.run(pebble_args());
  INFO(human.out << human.err);
  CHECK(human.code == 0);
  CHECK(human.out.find("account:") != std::string::npos);
  CHECK(human.out.find(kid) != std::string::npos);
  CHECK(human.out.find("PRIVATE") == std::string::npos);
  CHECK(human.err.find("PRIVATE") == std::string::npos);

  // The audit log names the account, never the key.
  Result audit = clitest::run_process({"sqlite3", a.db().string(), "SELECT * FROM audit_log"});
  CHECK(audit.out.find("acme account") != std::string::npos);
  CHECK(audit.out.find(kid) != std::string::npos);

  // Another store is another key, and so another account.
  Appliance b;
  nlohmann::json other = b.json(pebble_args());
  CHECK(other["created"] == true);
  CHECK(other["kid"] != kid);
}

TEST_CASE("acme account: registrations and look-ups in many stores through pebble's default badNonce rejection",
          "[integration][acme]") {
  // One registration and three look-ups per store. pebble 2.4 rejects 5% of good nonces: in the
  // release run 40 stores make 160 signed requests (40 newAccount, 120 onlyReturnExisting) that
  // meet about 8 rejections, which the retry with the error's nonce must carry; the chance of
  // meeting none is 0.03%, so a retry is required. Under the sanitizers (every process several
  // times slower) 10 stores make 40 requests: with a 13% chance of meeting no rejection at all,
  // retries are counted there but not required; every run must still succeed.
  const int stores = clitest::full_or_sanitized(40, 10);
  int retries = 0;
  for (int i = 0; i < stores; ++i) {
    Appliance a;
    std::string kid;
    for (int round = 0; round < 4; ++round) {
      std::vector<std::string> args = pebble_args();
      args.insert(args.begin(), {"-v", "--json"});
      Result r = a.run(args);
      INFO("store " << i << " round " << round << ": " << r.out << r.err);
      REQUIRE(r.code == 0);
      nlohmann::json j = r.json();
      CHECK(j["created"] == (round == 0));
      if (round == 0) kid = j["kid"];
      CHECK(j["kid"] == kid);
      retries += retries_of(r);
    }
  }
  WARN("badNonce retries: " << retries << " in " << 4 * stores << " signed requests");
  if constexpr (!clitest::kSanitized) CHECK(retries > 0);
}

TEST_CASE("acme account failures: no --accept-tos, bad email, and nothing is saved", "[integration][acme]") {
  Appliance a;
  Result tos = a.run(pebble_args({}));
  INFO(tos.out << tos.err);
  CHECK(tos.code == 5);
  CHECK(tos.err.find("terms of service") != std::string::npos);
  CHECK(tos.err.find("--accept-tos") != std::string::npos);
  CHECK_FALSE(fs::exists(a.db()));

  Result email = a.run({"acme", "account", "--server", pebble().directory_url(), "--email", "not an address",
                        "--ca-bundle", pebble().ca_bundle(), "--accept-tos"});
  CHECK(email.code == 6);
  Result url = a.run({"acme", "account", "--server", "ftp://example.org/dir", "--email", "ops@example.org"});
  CHECK(url.code == 6);
  Result missing = a.run({"acme", "account", "--server", pebble().directory_url()});
  CHECK(missing.code == 2);
  CHECK_FALSE(fs::exists(a.db()));

  // --json: the error object on stdout.
  Result j = a.run({"--json", "acme", "account", "--server", pebble().directory_url(), "--email", "ops@example.org",
                    "--ca-bundle", pebble().ca_bundle()});
  CHECK(j.code == 5);
  CHECK(j.json()["error"]["code"] == "refused");
}

TEST_CASE("acme account: a server that is down, a TLS certificate that does not verify, not a directory: exit 7",
          "[integration][acme]") {
  Appliance a;
  SECTION("nothing listens on the port") {
    const std::string down = "https://127.0.0.1:" + std::to_string(clitest::free_port()) + "/dir";
    Result r = a.run(account_args(down, pebble().ca_bundle()));
    INFO(r.out << r.err);
    CHECK(r.code == 7);
    CHECK(r.err.find(down) != std::string::npos);
    nlohmann::json j = a.json({"acme", "account", "--server", down, "--email", "ops@example.org", "--accept-tos"}, 7);
    CHECK(j["error"]["code"] == "remote-failed");
    CHECK_FALSE(fs::exists(a.db()));
  }
  SECTION("--ca-bundle of another CA") {
    Result r = a.run(account_args(pebble().directory_url(), PebblePki::get() / "other-ca.crt"));
    INFO(r.out << r.err);
    CHECK(r.code == 7);
    CHECK(r.err.find("--ca-bundle") != std::string::npos);
    CHECK_FALSE(fs::exists(a.db()));
  }
  SECTION("no --ca-bundle: the system's roots do not know pebble's TLS CA") {
    Result r = a.run(account_args(pebble().directory_url(), ""));
    INFO(r.out << r.err);
    CHECK(r.code == 7);
    CHECK_FALSE(fs::exists(a.db()));
  }
  SECTION("a URL of the server that is not its directory") {
    const std::string url = "https://127.0.0.1:" + std::to_string(pebble().port()) + "/no-such-directory";
    Result r = a.run(account_args(url, pebble().ca_bundle()));
    INFO(r.out << r.err);
    CHECK(r.code == 7);
    CHECK_FALSE(fs::exists(a.db()));
  }
  SECTION("the server stopped after a first registration: the stored account stays as it was") {
    PebbleServer own;
    nlohmann::json first =
        a.json({"acme", "account", "--server", own.directory_url(), "--email", "ops@example.org", "--ca-bundle",
                own.ca_bundle(), "--accept-tos"});
    const std::string before = a.dump();
    own.stop();
    Result r = a.run({"acme", "account", "--server", own.directory_url(), "--email", "new@example.org", "--ca-bundle",
                      own.ca_bundle()});
    CHECK(r.code == 7);
    CHECK(a.dump() == before);
    CHECK(setting(a, "acme.account_url") == first["kid"].get<std::string>());
  }
}

TEST_CASE("acme account with external account binding: pebble requires it and the key stays out of argv and output",
          "[integration][acme]") {
  const std::string mac = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
  PebbleServer server(false, {},
                      {{"externalAccountBindingRequired", true}, {"externalAccountMACKeys", {{"kid-1", mac}}}});
  Appliance a;
  std::vector<std::string> base{"acme", "account", "--server", server.directory_url(), "--email", "ops@example.org",
                                "--ca-bundle", server.ca_bundle(), "--accept-tos"};

  // Without EAB: refused before any account is made, with the flags in the hint.
  Result none = a.run(base);
  INFO(none.out << none.err);
  CHECK(none.code == 5);
  CHECK(none.err.find("--eab-kid") != std::string::npos);
  CHECK_FALSE(fs::exists(a.db()));

  auto with_eab = [&](const std::string& kid, const std::string& value) {
    std::vector<std::string> args = base;
    args.insert(args.begin(), "-vv");
    args.insert(args.end(), {"--eab-kid", kid, "--eab-hmac-env", "TEST_EAB_KEY"});
    a.env["TEST_EAB_KEY"] = value;
    Result r = a.run(args);
    a.env.erase("TEST_EAB_KEY");
    return r;
  };

  SECTION("the right kid and key: an account") {
    Result ok = with_eab("kid-1", mac);
    INFO(ok.out << ok.err);
    REQUIRE(ok.code == 0);
    CHECK(ok.out.find("registered") != std::string::npos);
    CHECK(ok.out.find(mac) == std::string::npos);
    CHECK(ok.err.find(mac) == std::string::npos);
    nlohmann::json show = a.json({"acme", "show"});
    CHECK(show["status"] == "valid");
    CHECK(show["server"] == server.directory_url());
    // Found again by its key, without EAB.
    CHECK(a.json(base)["created"] == false);
  }
  SECTION("a key the server does not know: exit 7, nothing stored, the key not shown") {
    const std::string wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    Result bad = with_eab("kid-1", wrong);
    INFO(bad.out << bad.err);
    CHECK(bad.code == 7);
    CHECK(bad.err.find(wrong) == std::string::npos);
    CHECK_FALSE(fs::exists(a.db()));
  }
  SECTION("--eab-kid without --eab-hmac-env is a usage error") {
    std::vector<std::string> args = base;
    args.insert(args.end(), {"--eab-kid", "kid-1"});
    CHECK(a.run(args).code == 2);
  }
}

TEST_CASE("acme show: the stored account without a request to the server and exit 4 without one", "[integration][acme]") {
  Appliance a;
  Result none = a.run({"acme", "show"});
  CHECK(none.code == 4);
  CHECK(none.err.find("acme account") != std::string::npos);
  nlohmann::json reg = a.json(pebble_args());
  nlohmann::json show = a.json({"acme", "show"});
  CHECK(show["server"] == pebble().directory_url());
  CHECK(show["email"] == "ops@example.org");
  CHECK(show["status"] == "valid");
  CHECK(show["kid"] == reg["kid"]);
  CHECK(show["key_thumbprint"] == reg["key_thumbprint"]);
  CHECK(show["ca_bundle"] == pebble().ca_bundle());
  Result human = a.run({"acme", "show"});
  CHECK(human.code == 0);
  CHECK(human.out.find(reg["kid"].get<std::string>()) != std::string::npos);
  CHECK(human.out.find("PRIVATE") == std::string::npos);
  // No network: the same answer with the server unreachable (its URL changed in the store).
  REQUIRE(clitest::run_process({"sqlite3", a.db().string(),
                                "UPDATE settings SET value = 'https://127.0.0.1:1/dir' WHERE key = 'acme.server'"}).code == 0);
  CHECK(a.json({"acme", "show"})["server"] == "https://127.0.0.1:1/dir");
}

// A stand-in ACME server (plain HTTP) whose newAccount answers, in turn, the statuses given
// (429 rateLimited or 503, each with its Retry-After), then 201 with an account.
class StandIn {
 public:
  explicit StandIn(const std::string& answers) : port_(clitest::free_port()) {
    const std::string script = R"PY(
import http.server, json, sys
port = int(sys.argv[1])
answers = [a.split(":") for a in sys.argv[2].split(",") if a]
base = "http://127.0.0.1:%d" % port
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def send(self, code, body, ctype, extra={}):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Replay-Nonce", "nonce%d" % code)
        for k, v in extra.items(): self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self.send(200, {"newNonce": base + "/nonce", "newAccount": base + "/acct", "newOrder": base + "/order"},
                  "application/json")
    def do_HEAD(self):
        self.send_response(200); self.send_header("Replay-Nonce", "n0"); self.end_headers()
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        if answers:
            code, wait = answers.pop(0)
            kind = "rateLimited" if code == "429" else "serverInternal"
            self.send(int(code), {"type": "urn:ietf:params:acme:error:" + kind, "detail": "too many registrations"},
                      "application/problem+json", {"Retry-After": wait})
        else:
            self.send(201, {"status": "valid", "contact": ["mailto:ops@example.org"]}, "application/json",
                      {"Location": base + "/acct/1"})
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
)PY";
    proc_ = std::make_unique<clitest::Background>(
        std::vector<std::string>{"/usr/bin/python3", "-c", script, std::to_string(port_), answers});
    for (int i = 0; i < 100; ++i) {
      if (clitest::run_process({"curl", "-sf", "--max-time", "1", url(), "-o", "/dev/null"}).code == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/dir"; }

 private:
  int port_;
  std::unique_ptr<clitest::Background> proc_;
};

TEST_CASE("acme account against a rate-limited server: exit 7 with when to try again", "[integration][acme]") {
  // As Let's Encrypt answers an address that registers too often: an hour's wait.
  StandIn server("429:3600");
  Appliance a;
  Result r = a.run({"acme", "account", "--server", server.url(), "--email", "ops@example.org", "--accept-tos"});
  INFO(r.out << r.err);
  CHECK(r.code == 7);
  CHECK(r.err.find("too many registrations (rateLimited)") != std::string::npos);
  CHECK(r.err.find("try again after 20") != std::string::npos);  // an RFC 3339 time
  CHECK_FALSE(fs::exists(a.db()));
}

TEST_CASE("acme account: a busy server is asked again after its short Retry-After", "[integration][acme]") {
  StandIn server("503:1,429:1");
  Appliance a;
  const auto t0 = std::chrono::steady_clock::now();
  nlohmann::json j = a.json({"acme", "account", "--server", server.url(), "--email", "ops@example.org", "--accept-tos"});
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(j["created"] == true);
  CHECK(j["kid"].get<std::string>().find("/acct/1") != std::string::npos);
  CHECK(took >= std::chrono::seconds(2));  // both waits were kept
  CHECK(took < std::chrono::seconds(10));
}
