// [crash] Mutating commands killed with SIGKILL at random moments. After every kill the store
// opens, passes PRAGMA integrity_check (the sqlite3 CLI) and `applctl doctor`, and holds either
// the state before the command or the state the same command leaves when it runs to completion
// (on a copy) - never a mix. The number of kills: APPLCTL_KILL_RUNS (default 300, cut short by a
// time budget of ~35 s so the suite stays fast; 15 s under the sanitizers, where a kill and its
// checks take about a second: some 10 kills, each command at least once); scripts/killtest runs more.
#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cli/spawn.hpp"
#include "cli/test_pki.hpp"

namespace {

using clitest::Appliance;
using clitest::Child;
using clitest::openssl_ok;
using clitest::Result;
using clitest::run_process;
using clitest::TempDir;
using clitest::test_pki;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const char* const kP12Pass = "crash p12 pass";

// The store's logical content through the sqlite3 CLI (an independent reader), names instead of
// ids, with the fingerprints of certificates that `before` does not know replaced by "new": a
// command that makes a key (self-signed, renew, apply) makes another certificate on every run.
std::string canonical_state(const fs::path& store, const std::set<std::string>& known_fingerprints) {
  const std::string db = (store / "applctl.db").string();
  Result r = run_process(
      {"sqlite3", "-separator", "|", db,
       "SELECT 'cert', friendly_name, fingerprint_sha256, subject, issuer, key_id IS NOT NULL, role, source, chain_mode,"
       " replace(alt_names, char(10), ',') FROM certificates ORDER BY friendly_name;"
       "SELECT 'ip', i.address, coalesce(c.friendly_name, '-') FROM ip_addresses i LEFT JOIN certificates c"
       " ON c.id = i.certificate_id ORDER BY i.address;"
       "SELECT 'request', r.friendly_name, r.subject, coalesce(c.friendly_name, '-') FROM requests r LEFT JOIN certificates c"
       " ON c.id = r.renews_certificate_id ORDER BY r.friendly_name;"
       "SELECT 'setting', s.key, CASE WHEN s.key IN ('default_cert', 'factory_cert') THEN (SELECT friendly_name FROM"
       " certificates WHERE id = CAST(s.value AS INTEGER)) ELSE s.value END FROM settings s ORDER BY s.key;"
       "SELECT 'renewal', c.friendly_name, coalesce(n.method, ''), n.last_error IS NULL OR n.last_error = ''"
       " FROM renewals n JOIN certificates c ON c.id = n.certificate_id ORDER BY c.friendly_name;"
       "SELECT 'keys', count(*) FROM keys;"
       "SELECT 'unattached keys', count(*) FROM keys k WHERE NOT EXISTS (SELECT 1 FROM certificates WHERE key_id = k.id)"
       " AND NOT EXISTS (SELECT 1 FROM requests WHERE key_id = k.id);"
       "SELECT 'audit', count(*), (SELECT command FROM audit_log ORDER BY id DESC LIMIT 1) FROM audit_log;"});
  INFO("sqlite3 on " << db << ": " << r.err);
  REQUIRE(r.code == 0);
  std::string out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("cert|", 0) == 0) {
      // cert|name|fingerprint|...
      auto a = line.find('|', 5), b = line.find('|', a + 1);
      std::string fp = line.substr(a + 1, b - a - 1);
      if (known_fingerprints.count(fp) == 0) line = line.substr(0, a + 1) + "new" + line.substr(b);
    }
    out += line + "\n";
  }
  return out;
}

std::set<std::string> store_fingerprints(const fs::path& store) {
  Result r = run_process({"sqlite3", (store / "applctl.db").string(), "SELECT fingerprint_sha256 FROM certificates"});
  REQUIRE(r.code == 0);
  std::set<std::string> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) out.insert(line);
  return out;
}

// A store directory copied as it is at rest (its WAL checkpointed into the database first).
void copy_store(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::remove_all(to, ec);
  fs::copy(from, to, fs::copy_options::recursive);
}

struct KillCommand {
  std::string name;
  std::vector<std::string> args;  // after --store DIR
  bool both_required = true;      // whether both outcomes must be seen across the runs
};

struct Outcomes {
  int runs = 0, old_state = 0, new_state = 0, failures = 0;
};

Result applctl_in(const fs::path& store, std::vector<std::string> args, const std::map<std::string, std::string>& env) {
  args.insert(args.begin(), {APPLCTL_BIN, "--store", store.string()});
  return run_process(args, env);
}

class KillTest {
 public:
  KillTest() {
    const auto& pki = test_pki();
    openssl_ok({"pkcs12", "-export", "-in", (pki / "leaf.pem").string(), "-inkey", (pki / "leaf.key").string(), "-certfile",
                (pki / "int.pem").string(), "-passout", std::string("pass:") + kP12Pass, "-out", (work_ / "corp.p12").string()});
    clitest::spit(work_ / "appliance.yaml",
                  "version: 1\nhostnames: [appl.example.com]\ncertificates:\n"
                  "  - name: site\n    self_signed: {key: \"ec:P-256\", cn: site.example.com}\n"
                  "  - name: corp\n    import: {file: corp.p12, passphrase_env: CORP_P12_PASS}\n"
                  "ips:\n  - {address: 192.0.2.20, certificate: site}\n  - {address: 192.0.2.21, certificate: corp}\n"
                  "default: site\n");
    env_["CORP_P12_PASS"] = kP12Pass;
    // The store every run starts from: initialized, two certificates with keys, two addresses,
    // a pending request.
    const fs::path s = base();
    auto ok = [&](std::vector<std::string> args) {
      Result r = applctl_in(s, args, env_);
      INFO("applctl " << args.front() << ": " << r.err);
      REQUIRE(r.code == 0);
    };
    ok({"init", "--hostname", "appl.example.com"});
    ok({"cert", "self-signed", "--name", "web", "--key", "ec:P-256", "--cn", "web.example.com"});
    ok({"cert", "self-signed", "--name", "mail", "--key", "ec:P-256", "--cn", "mail.example.com"});
    ok({"ip", "add", "192.0.2.10", "192.0.2.11"});
    ok({"csr", "create", "--name", "pending", "--key", "ec:P-256", "--cn", "pending.example.com"});
    REQUIRE(run_process({"sqlite3", (s / "applctl.db").string(), "PRAGMA wal_checkpoint(TRUNCATE)"}).code == 0);
    known_ = store_fingerprints(s);
    before_ = canonical_state(s, known_);
  }

  fs::path base() const { return work_ / "base"; }
  const fs::path& work() const { return work_.path; }

  // Runs the command to completion on a copy, three times: its duration and the state it leaves.
  std::pair<double, std::string> complete(const KillCommand& c) {
    std::vector<double> times;
    std::string after;
    for (int i = 0; i < 3; ++i) {
      const fs::path s = work_ / "complete";
      copy_store(base(), s);
      const auto t0 = Clock::now();
      Result r = applctl_in(s, c.args, env_);
      times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      INFO(c.name << ": " << r.out << r.err);
      REQUIRE(r.code == 0);
      std::string state = canonical_state(s, known_);
      if (i > 0) REQUIRE(state == after);  // the reference is the same on every run
      after = state;
    }
    REQUIRE(after != before_);
    std::sort(times.begin(), times.end());
    return {times[2], after};  // the longest of three: a loaded machine runs it slower now and then
  }

  // Starts the command on a fresh copy, kills it after a random delay in [from, to] seconds, and
  // checks the store.
  void kill_once(const KillCommand& c, double from, double to, const std::string& after, Outcomes& o, std::mt19937& rng) {
    const fs::path s = work_ / "run";
    copy_store(base(), s);
    std::vector<std::string> argv{APPLCTL_BIN, "--store", s.string()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    std::uniform_real_distribution<double> delay(from, to);
    const double d = delay(rng);
    Child child = clitest::spawn(argv, work_ / "run.out", work_ / "run.err", {env_, -1});
    std::this_thread::sleep_for(std::chrono::duration<double>(d));
    ::kill(child.pid, SIGKILL);
    const int code = clitest::wait_child(child);
    ++o.runs;
    INFO(c.name << ": killed after " << d * 1000 << " ms (exit " << code << "), stderr: " << clitest::slurp(child.err));
    bool good = true;
    Result integrity = run_process({"sqlite3", (s / "applctl.db").string(), "PRAGMA integrity_check"});
    INFO("integrity_check: " << integrity.out << integrity.err);
    good = good && integrity.code == 0 && clitest::chomp(integrity.out) == "ok";
    Result doctor = applctl_in(s, {"doctor"}, {});
    INFO("doctor: " << doctor.out << doctor.err);
    good = good && doctor.code == 0;
    const std::string state = canonical_state(s, known_);
    INFO("state after the kill:\n" << state << "before:\n" << before_ << "after:\n" << after);
    if (state == before_)
      ++o.old_state;
    else if (state == after)
      ++o.new_state;
    else
      good = false;
    if (!good) ++o.failures;
    CHECK(good);
  }

  std::map<std::string, std::string> env_;

 private:
  TempDir work_;
  std::set<std::string> known_;
  std::string before_;
};

int kill_runs() {
  const char* v = std::getenv("APPLCTL_KILL_RUNS");
  return v != nullptr && *v != '\0' ? std::max(1, std::atoi(v)) : 300;
}

}  // namespace

TEST_CASE("commands killed at random moments leave the old or the new state, never a mix", "[cli][crash][long]") {
  const auto& pki = test_pki();
  KillTest k;
  const std::vector<KillCommand> commands = {
      {"cert import",
       {"cert", "import", (pki / "root.pem").string(), (pki / "int.der").string(), (pki / "leaf_ec.pem").string(),
        (pki / "leaf_ec.key").string(), (k.work() / "corp.p12").string(), "--passphrase-env", "CORP_P12_PASS"}},
      {"cert self-signed", {"cert", "self-signed", "--name", "fresh", "--key", "ec:P-256", "--cn", "fresh.example.com"}},
      {"cert renew --force", {"cert", "renew", "web", "--force"}},
      {"ip assign", {"ip", "assign", "mail", "192.0.2.10", "192.0.2.11"}},
      {"apply", {"apply", "-f", (k.work() / "appliance.yaml").string()}},
  };
  const int runs = kill_runs();
  const bool budgeted = std::getenv("APPLCTL_KILL_RUNS") == nullptr;
  // For all commands together, when the number of runs is the default.
  const double budget_s = clitest::full_or_sanitized(35.0, 15.0);
  const auto started = Clock::now();
  std::mt19937 rng(std::random_device{}());
  std::map<std::string, Outcomes> outcomes;
  std::map<std::string, std::pair<double, std::string>> reference;
  for (const auto& c : commands) reference[c.name] = k.complete(c);
  int total = 0;
  // Round robin, so a time budget cuts every command short alike.
  for (int i = 0; i < runs; ++i) {
    const auto& c = commands[static_cast<std::size_t>(i) % commands.size()];
    if (budgeted && std::chrono::duration<double>(Clock::now() - started).count() > budget_s) break;
    k.kill_once(c, 0, reference[c.name].first, reference[c.name].second, outcomes[c.name], rng);
    ++total;
  }
  // A command that by chance showed one outcome only gets a few more kills aimed at the other
  // one (early: before its commit; late: around its end), so the check below does not flake.
  std::map<std::string, int> aimed;
  for (const auto& c : commands) {
    Outcomes& o = outcomes[c.name];
    const double t = reference[c.name].first;
    for (int extra = 0; c.both_required && o.runs >= 20 && o.new_state == 0 && extra < 30; ++extra, ++aimed[c.name])
      k.kill_once(c, 0.75 * t, 1.5 * t, reference[c.name].second, o, rng);
    for (int extra = 0; c.both_required && o.runs >= 20 && o.old_state == 0 && extra < 30; ++extra, ++aimed[c.name])
      k.kill_once(c, 0, 0.25 * t, reference[c.name].second, o, rng);
  }
  int failures = 0;
  for (const auto& c : commands) {
    const Outcomes& o = outcomes[c.name];
    failures += o.failures;
    WARN("kill test: " << c.name << ": " << o.runs << " kills (normal duration " << reference[c.name].first * 1000
                       << " ms): old state " << o.old_state << ", new state " << o.new_state << ", failures " << o.failures
                       << (aimed[c.name] > 0 ? " (" + std::to_string(aimed[c.name]) + " aimed kills)" : std::string()));
    if (c.both_required && o.runs >= 20) {
      INFO(c.name << ": the kills should land both before and after the commit");
      CHECK(o.old_state > 0);
      CHECK(o.new_state > 0);
    }
  }
  WARN("kill test: " << total << " kills in " << std::chrono::duration<double>(Clock::now() - started).count() << " s, "
                     << failures << " failures");
  CHECK(failures == 0);
  // The budget must not cut the runs too short: 25 kills (5 per command), under the sanitizers 5.
  CHECK(total >= std::min(runs, clitest::full_or_sanitized(25, 5)));
}
