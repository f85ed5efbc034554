// applctl acme account --account-key against pebble: an operator moving from lego keeps the
// account. lego registers on pebble; applctl, given lego's account key file, finds that account
// (not a new one, the same URL lego recorded), makes the key the store's account key (replacing
// the one it had), and issues with it. A fresh key gets a new account. Key files that cannot be
// used are exit 6 naming the file, with the store unchanged.
#include "integration/pebble.hpp"

namespace {

using clitest::Appliance;
using clitest::Result;
using pebbletest::PebbleServer;
namespace fs = std::filesystem;

std::vector<std::string> key_account_args(const PebbleServer& server, std::vector<std::string> extra) {
  std::vector<std::string> args{"acme", "account", "--server", server.directory_url(), "--email", "ops@example.org",
                                "--ca-bundle", server.ca_bundle()};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// lego's account directory for ops@example.org: DIR/accounts/<server>/ops@example.org/.
fs::path lego_account_dir(const fs::path& lego) {
  for (const auto& server : fs::directory_iterator(lego / "accounts"))
    if (fs::exists(server.path() / "ops@example.org" / "account.json")) return server.path() / "ops@example.org";
  FAIL("lego wrote no account under " << (lego / "accounts"));
  return {};
}

}  // namespace

TEST_CASE("acme account --account-key: lego's account key finds lego's account and issues", "[integration][acme]") {
  PebbleServer& server = PebbleServer::shared(true);
  const std::string port = std::to_string(server.http01_port());
  Appliance a;
  // The store has an account of its own first: --account-key replaces its key.
  nlohmann::json own = a.json(key_account_args(server, {"--accept-tos"}));
  REQUIRE(own["created"] == true);

  const fs::path lego = a.dir / "lego";
  Result run = clitest::run_process({"lego", "--server", server.directory_url(), "--accept-tos", "--email",
                                     "ops@example.org", "--path", lego.string(), "--http", "--http.port",
                                     "127.0.0.1:" + port, "-d", "test.example", "run"},
                                    {{"LEGO_CA_CERTIFICATES", server.ca_bundle()}});
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);
  const fs::path acct = lego_account_dir(lego);
  const std::string key_file = (acct / "keys" / "ops@example.org.key").string();
  REQUIRE(fs::exists(key_file));
  const std::string lego_kid =
      nlohmann::json::parse(clitest::slurp(acct / "account.json"))["registration"]["uri"].get<std::string>();
  REQUIRE(!lego_kid.empty());
  CHECK(lego_kid != own["kid"]);

  nlohmann::json r = a.json(key_account_args(server, {"--account-key", key_file}));
  CHECK(r["created"] == false);
  CHECK(r["kid"] == lego_kid);
  CHECK(r["new_key"] == true);
  CHECK(r["status"] == "valid");
  CHECK(r["key_thumbprint"] != own["key_thumbprint"]);
  CHECK(a.json({"acme", "show"})["kid"] == lego_kid);
  CHECK(a.json({"status"})["unattached_keys"] == 0);  // the replaced key went

  // The stored key is lego's from now on: without --account-key the same account, no new key.
  nlohmann::json again = a.json(key_account_args(server, {}));
  CHECK(again["created"] == false);
  CHECK(again["new_key"] == false);
  CHECK(again["kid"] == lego_kid);
  CHECK(again["key_thumbprint"] == r["key_thumbprint"]);
  // The same file again changes no key either.
  CHECK(a.json(key_account_args(server, {"--account-key", key_file}))["new_key"] == false);

  // Human output and logs never show the key.
  Result human = a.run({"-vv", "acme", "account", "--server", server.directory_url(), "--email", "ops@example.org",
                        "--ca-bundle", server.ca_bundle(), "--account-key", key_file});
  CHECK(human.code == 0);
  const std::string pem = clitest::slurp(key_file);
  const std::string body_line = pem.substr(pem.find('\n') + 1, 40);
  CHECK(human.out.find("found") != std::string::npos);
  CHECK((human.out + human.err).find("PRIVATE KEY") == std::string::npos);
  CHECK((human.out + human.err).find(body_line) == std::string::npos);

  // The account issues: the certificate's order belongs to lego's account.
  nlohmann::json cert = a.json({"acme", "issue", "--name", "web", "--domain", "test.example", "--http-port", port});
  CHECK(cert["friendly_name"] == "web");
  CHECK(cert["chain_certificates"] == 2);
}

TEST_CASE("acme account --account-key: a key with no account gets one with --accept-tos", "[integration][acme]") {
  PebbleServer& server = PebbleServer::shared();
  Appliance a;
  const std::string key = (a.dir / "fresh.key").string();
  REQUIRE(clitest::openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key}).code == 0);

  Result no_tos = a.run(key_account_args(server, {"--account-key", key}));
  CHECK(no_tos.code == 5);
  CHECK_FALSE(fs::exists(a.db()));

  nlohmann::json r = a.json(key_account_args(server, {"--account-key", key, "--accept-tos"}));
  CHECK(r["created"] == true);
  CHECK(r["new_key"] == true);
  // Found again with the file, and with the stored key.
  CHECK(a.json(key_account_args(server, {"--account-key", key}))["kid"] == r["kid"]);
  CHECK(a.json(key_account_args(server, {}))["kid"] == r["kid"]);
}

TEST_CASE("acme account --account-key: unusable key files are exit 6 naming the file, the store unchanged",
          "[integration][acme]") {
  PebbleServer& server = PebbleServer::shared();
  Appliance a;
  a.json(key_account_args(server, {"--accept-tos"}));
  const std::string before = a.dump();
  auto path = [&](const std::string& n) { return (a.dir / n).string(); };
  auto ossl = [](std::vector<std::string> args) {
    Result r = clitest::openssl(std::move(args));
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
  };
  ossl({"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path("rsa.key")});
  ossl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", path("p384.key")});
  ossl({"genpkey", "-algorithm", "ed25519", "-out", path("ed25519.key")});
  ossl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256", "-pass", "pass:x", "-out",
        path("encrypted.key")});
  clitest::spit(a.dir / "garbage.key", "not a key at all\n");

  const std::vector<std::pair<std::string, std::string>> cases = {
      {path("missing.key"), "no such file"},
      {server.ca_bundle(), "certificate"},
      {path("garbage.key"), "no PEM private key"},
      {path("encrypted.key"), "encrypted"},
      {path("rsa.key"), "only EC P-256 (ES256) account keys are supported"},
      {path("p384.key"), "P-384"},
      {path("ed25519.key"), "Ed25519"},
  };
  for (const auto& [file, problem] : cases) {
    INFO(file);
    Result r = a.run(key_account_args(server, {"--account-key", file}));
    INFO(r.out << r.err);
    CHECK(r.code == 6);
    CHECK(r.err.find(file) != std::string::npos);
    CHECK(r.err.find(problem) != std::string::npos);
    CHECK(a.dump() == before);
  }
  // A store that does not exist yet is not created by a refused key.
  Appliance b;
  CHECK(b.run(key_account_args(server, {"--account-key", path("rsa.key"), "--accept-tos"})).code == 6);
  CHECK_FALSE(fs::exists(b.db()));
}
