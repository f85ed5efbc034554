// End-to-end: several applctl processes racing on one store, including its creation. The store
// queues writers (SQLite BEGIN IMMEDIATE + busy timeout), so every command must succeed.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli/harness.hpp"

namespace {
using clitest::sql;

using clitest::Appliance;
using clitest::Result;
namespace fs = std::filesystem;
using Json = nlohmann::json;

struct Running {
  pid_t pid = 0;
  fs::path out, err;
  std::string what;
};

// Starts argv behind a start line: each child polls for `go` and then execs applctl, so all of
// them leave the gate within ~10 ms of each other instead of one spawn after another.
Running start(const fs::path& dir, int n, const fs::path& go, std::vector<std::string> argv) {
  Running p;
  p.out = dir / ("out" + std::to_string(n));
  p.err = dir / ("err" + std::to_string(n));
  for (const auto& s : argv) p.what += s + " ";
  std::vector<std::string> full{"sh", "-c", "while [ ! -e \"$0\" ]; do sleep 0.01; done; exec \"$@\"", go.string()};
  full.insert(full.end(), argv.begin(), argv.end());
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, p.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, p.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> cargv;
  for (auto& a : full) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  int rc = posix_spawnp(&p.pid, "sh", &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  return p;
}

int wait_for(const Running& p) {
  int status = 0;
  REQUIRE(::waitpid(p.pid, &status, 0) == p.pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Eight `cert self-signed` (and a few readers) on a store that does not exist yet.
void race_on_new_store(int round) {
  Appliance a;
  REQUIRE_FALSE(fs::exists(a.store));
  clitest::TempDir work;
  const fs::path go = work / "go";
  const std::string store = a.store.string();
  constexpr int kWriters = 8;
  std::vector<Running> procs;
  for (int i = 0; i < kWriters; ++i)
    procs.push_back(start(work.path, i, go,
                          {APPLCTL_BIN, "--store", store, "--json", "cert", "self-signed", "--name", "c" + std::to_string(i),
                           "--key", "ec:P-256", "--cn", "c" + std::to_string(i) + ".example.com"}));
  // Readers racing the creation: a missing or half-created store reads as empty, never an error.
  procs.push_back(start(work.path, kWriters, go, {APPLCTL_BIN, "--store", store, "--json", "cert", "list"}));
  procs.push_back(start(work.path, kWriters + 1, go, {APPLCTL_BIN, "--store", store, "--json", "status"}));
  procs.push_back(start(work.path, kWriters + 2, go, {APPLCTL_BIN, "--store", store, "--json", "csr", "list"}));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // all of them at the gate
  clitest::spit(go, "");

  std::set<std::string> fingerprints;
  for (const auto& p : procs) {
    const int code = wait_for(p);
    const std::string out = clitest::slurp(p.out);
    INFO("round " << round << ": " << p.what << "\nstdout: " << out << "\nstderr: " << clitest::slurp(p.err));
    CHECK(code == 0);
    Json doc;
    CHECK_NOTHROW(doc = Json::parse(out));
    if (doc.is_object() && doc.contains("fingerprint_sha256")) fingerprints.insert(doc["fingerprint_sha256"].get<std::string>());
  }
  CHECK(fingerprints.size() == kWriters);

  Json list = a.json({"cert", "list"});
  CHECK(list.size() == kWriters + 1);
  std::set<std::string> names;
  int defaults = 0;
  for (const auto& c : list) {
    names.insert(c["friendly_name"].get<std::string>());
    defaults += c["default"] == true ? 1 : 0;
  }
  for (int i = 0; i < kWriters; ++i) CHECK(names.count("c" + std::to_string(i)) == 1);
  CHECK(names.count("factory-default") == 1);  // made once, by whichever came first
  CHECK(defaults == 1);
  CHECK(sql(a, "SELECT count(*) FROM audit_log WHERE command = 'init'") == "1");
  CHECK(sql(a, "SELECT count(*) FROM audit_log WHERE command = 'cert self-signed'") == std::to_string(kWriters));
  CHECK(sql(a, "SELECT count(*) FROM keys") == std::to_string(kWriters + 1));
  CHECK(sql(a, "PRAGMA integrity_check") == "ok");
  struct stat st {};
  REQUIRE(::stat(a.store.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  REQUIRE(::stat(a.db().c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
}

}  // namespace

TEST_CASE("eight concurrent cert self-signed on a new store all succeed", "[cli][concurrency]") {
  race_on_new_store(1);
  race_on_new_store(2);
}

TEST_CASE("concurrent writers on an existing store queue instead of failing", "[cli][concurrency]") {
  Appliance a;
  a.json({"init", "--hostname", "appl.example.com"});
  for (int i = 0; i < 4; ++i)
    a.json({"cert", "self-signed", "--name", "old" + std::to_string(i), "--key", "ec:P-256", "--cn", "o.example.com"});
  clitest::TempDir work;
  const fs::path go = work / "go";
  const std::string store = a.store.string();
  std::vector<Running> procs;
  int n = 0;
  for (int i = 0; i < 4; ++i) {
    const std::string old = "old" + std::to_string(i);
    procs.push_back(start(work.path, n++, go, {APPLCTL_BIN, "--store", store, "cert", "rename", old, "new" + std::to_string(i)}));
    procs.push_back(start(work.path, n++, go,
                          {APPLCTL_BIN, "--store", store, "csr", "create", "--name", "r" + std::to_string(i), "--key",
                           "ec:P-256", "--cn", "r.example.com"}));
  }
  procs.push_back(start(work.path, n++, go, {APPLCTL_BIN, "--store", store, "cert", "check"}));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  clitest::spit(go, "");
  for (const auto& p : procs) {
    const int code = wait_for(p);
    INFO(p.what << "\nstderr: " << clitest::slurp(p.err));
    CHECK(code == 0);
  }
  Json list = a.json({"cert", "list"});
  CHECK(list.size() == 5);
  for (int i = 0; i < 4; ++i) CHECK(a.run({"cert", "show", "new" + std::to_string(i)}).code == 0);
  CHECK(a.json({"csr", "list"}).size() == 4);
  CHECK(sql(a, "PRAGMA integrity_check") == "ok");
}

TEST_CASE("a store locked too long refuses writers with exit 5, readers still read", "[cli][concurrency]") {
  Appliance a;
  a.json({"init", "--hostname", "appl.example.com"});
  a.json({"cert", "self-signed", "--name", "web", "--key", "ec:P-256", "--cn", "appl.example.com"});
  const std::string before = a.dump();
  clitest::TempDir work;
  const fs::path locked = work / "locked";
  const fs::path go = work / "go";
  // Another writer: sqlite3 holds the write lock until `go` appears (at most ~10 s).
  const std::string script = "BEGIN IMMEDIATE;\n.shell touch '" + locked.string() +
                             "'\n.shell i=0; while [ ! -e '" + go.string() +
                             "' ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done\nCOMMIT;\n";
  clitest::spit(work / "script", script);
  Running holder = start(work.path, 0, work / "script",  // the gate file exists already
                         {"sh", "-c", "sqlite3 \"$0\" < \"$1\"", a.db().string(), (work / "script").string()});
  for (int i = 0; i < 500 && !fs::exists(locked); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(fs::exists(locked));

  Appliance& writer = a;
  writer.env["APPLCTL_LOCK_TIMEOUT"] = "1";
  Result w = writer.run({"--json", "cert", "self-signed", "--name", "late", "--key", "ec:P-256", "--cn", "l.example.com"});
  INFO(w.out << w.err);
  CHECK(w.code == 5);
  CHECK(w.json()["error"]["code"] == "refused");
  CHECK(writer.run({"cert", "rename", "web", "web2"}).code == 5);
  Result r = writer.run({"--json", "cert", "list"});
  CHECK(r.code == 0);
  CHECK(r.json().size() == 2);

  clitest::spit(go, "");
  CHECK(wait_for(holder) == 0);
  CHECK(a.dump() == before);
  CHECK(a.json({"cert", "self-signed", "--name", "late", "--key", "ec:P-256", "--cn", "l.example.com"})["friendly_name"] ==
        "late");
}
