// [crash] kmip encrypt and kmip decrypt (which rewrite the whole store through the encrypting
// VFS) killed with SIGKILL at random moments against PyKMIP's server. After every kill the store
// reads as before (cert list, ip list, csr list), `applctl doctor` (which reads an encrypted store
// as every read command does) passes, and the store is either still in its old form or wholly in
// the new one. Runs: APPLCTL_KILL_RUNS / 10 per direction (default 10, 4 under the sanitizers,
// where each kill and its checks take seconds); scripts/killtest runs the CLI kill test, this one
// runs with the integration suite.
#include <csignal>
#include <random>

#include "integration/pykmip.hpp"

namespace {

using clitest::Appliance;
using clitest::Background;
using clitest::Result;
using kmiptest::KmipPki;
using kmiptest::PyKmipServer;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using kmiptest::pki;

struct KmipStore : Appliance {
  explicit KmipStore(const PyKmipServer& server) {
    Result c = run({"kmip", "configure", "--host", "127.0.0.1", "--port", std::to_string(server.port()), "--ca",
                    pki() / "ca.crt", "--client-cert", pki() / "client.crt", "--client-key", pki() / "client.key"});
    INFO(c.out << c.err);
    REQUIRE(c.code == 0);
    REQUIRE(run({"cert", "self-signed", "--name", "web", "--key", "ec:P-256", "--cn", "www.example.com"}).code == 0);
    REQUIRE(run({"csr", "create", "--name", "api", "--key", "ec:P-256", "--cn", "api.example.com"}).code == 0);
    REQUIRE(run({"ip", "add", "192.0.2.1"}).code == 0);
    REQUIRE(run({"ip", "assign", "web", "192.0.2.1"}).code == 0);
  }
  std::string view() const { return kmiptest::store_view(*this); }
  bool encrypted() const { return json({"kmip", "status"})["encrypted"] == true; }
};

int runs_per_direction() {
  const char* v = std::getenv("APPLCTL_KILL_RUNS");
  return v != nullptr && *v != '\0' ? std::max(1, std::atoi(v) / 10) : clitest::full_or_sanitized(10, 4);
}

}  // namespace

TEST_CASE("kmip encrypt and decrypt killed at random moments leave a whole store, old or new form",
          "[integration][kmip][crash][long]") {
  PyKmipServer server(pki());
  KmipStore a(server);
  const std::string before = a.view();
  const std::string uid = clitest::chomp(a.run({"kmip", "create-key", "--name", "crash-test"}).out);
  REQUIRE(!uid.empty());
  const std::vector<std::string> encrypt{"kmip", "encrypt", "--key", uid};
  const std::vector<std::string> decrypt{"kmip", "decrypt"};
  // Normal durations, measured.
  auto timed = [&](const std::vector<std::string>& args) {
    const auto t0 = Clock::now();
    Result r = a.run(args);
    INFO(r.err);
    REQUIRE(r.code == 0);
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  const double t_enc = timed(encrypt), t_dec = timed(decrypt);
  std::mt19937 rng(std::random_device{}());
  const int runs = runs_per_direction();
  for (const bool encrypting : {true, false}) {
    int old_form = 0, new_form = 0, failures = 0;
    for (int i = 0; i < runs; ++i) {
      // Start from the form this direction changes.
      if (a.encrypted() == encrypting) REQUIRE(a.run(encrypting ? decrypt : encrypt).code == 0);
      const double t = encrypting ? t_enc : t_dec;
      std::uniform_real_distribution<double> delay(0, t);
      const double d = delay(rng);
      INFO((encrypting ? "kmip encrypt" : "kmip decrypt") << " killed after " << d * 1000 << " ms");
      std::vector<std::string> argv{APPLCTL_BIN, "--store", a.store.string()};
      argv.insert(argv.end(), (encrypting ? encrypt : decrypt).begin(), (encrypting ? encrypt : decrypt).end());
      Background cmd(argv);
      std::this_thread::sleep_for(std::chrono::duration<double>(d));
      cmd.stop(SIGKILL, 5s);
      const bool same = a.view() == before;
      CHECK(same);
      Result doctor = a.run({"doctor"});
      INFO("doctor: " << doctor.out << doctor.err);
      CHECK(doctor.code == 0);
      if (!same || doctor.code != 0) ++failures;
      (a.encrypted() == encrypting ? new_form : old_form)++;
    }
    WARN("kill test: " << (encrypting ? "kmip encrypt" : "kmip decrypt") << ": " << runs << " kills (normal duration "
                       << (encrypting ? t_enc : t_dec) * 1000 << " ms): old form " << old_form << ", new form "
                       << new_form << ", failures " << failures);
  }
}
