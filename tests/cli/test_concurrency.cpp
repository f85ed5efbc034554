// End-to-end: several applctl processes racing on one store, including its creation. The store
// queues writers (SQLite BEGIN IMMEDIATE + busy timeout), so every command must succeed.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
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

TEST_CASE("eight concurrent cert self-signed on a new store all succeed", "[cli][concurrency][long]") {
  race_on_new_store(1);
  race_on_new_store(2);
}

TEST_CASE("concurrent writers on an existing store queue instead of failing", "[cli][concurrency][long]") {
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

TEST_CASE("a store locked too long refuses writers with exit 5, readers still read", "[cli][concurrency][long]") {
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

namespace {

// One worker of the mixed load: a forked child that runs applctl commands one after another until
// the deadline and writes what it did (and what the store must show for it) into `report`.
// It uses no Catch2 (it is a forked copy of the test process): plain spawn, wait, write.
struct Worker {
  int index = 0;
  fs::path report;
  std::vector<fs::path> imports;  // certificate and key files only this worker imports, each pair once
};

int run_quiet(const std::vector<std::string>& argv, const fs::path& out, const fs::path& err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return 127;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

[[noreturn]] void run_worker(const Worker& w, const std::string& store, std::chrono::steady_clock::time_point deadline) {
  const fs::path out = w.report.string() + ".out", err = w.report.string() + ".err";
  std::ofstream rep(w.report);
  const std::string me = "w" + std::to_string(w.index);
  const std::string address = "192.0.2." + std::to_string(100 + w.index);
  std::vector<std::string> mine;  // this worker's certificates with keys, current names
  std::string served = "-";       // what its address serves now ("-": the factory default)
  std::size_t imported = 0;
  int writes = 0, reads = 0, serial = 0;
  for (int step = 0; std::chrono::steady_clock::now() < deadline; ++step) {
    std::vector<std::string> args;
    std::function<void()> on_success;
    bool read = false;
    switch (step % 8) {
      case 0:
      case 4: {
        std::string name = me + "-c" + std::to_string(serial++);
        args = {"cert", "self-signed", "--name", name, "--key", "ec:P-256", "--cn", name + ".example.com"};
        on_success = [&mine, name] { mine.push_back(name); };
        break;
      }
      case 1:
        args = {"--json", "cert", "list"};
        read = true;
        break;
      case 2:
        if (mine.empty()) continue;
        {
          std::string from = mine.back(), to = from + "r";
          args = {"cert", "rename", from, to};
          on_success = [&mine, &served, from, to] {
            mine.back() = to;
            if (served == from) served = to;
          };
        }
        break;
      case 3:
        if (mine.empty()) continue;
        args = {"ip", "assign", mine.front(), address};
        on_success = [&served, &mine] { served = mine.front(); };
        break;
      case 5:
        args = {"--json", "status"};
        read = true;
        break;
      case 6:
        if (2 * imported < w.imports.size()) {
          std::string name = me + "-imp" + std::to_string(imported);
          args = {"cert", "import", w.imports[2 * imported].string(), w.imports[2 * imported + 1].string(), "--name", name};
          on_success = [&imported] { ++imported; };
        } else {
          args = {"ip", "unassign", address};
          on_success = [&served] { served = "-"; };
        }
        break;
      case 7:
        if (step % 16 == 7) {
          args = {"ip", "unassign", address};
          on_success = [&served] { served = "-"; };
        } else {
          args = {"--json", "ip", "list"};
          read = true;
        }
        break;
    }
    std::vector<std::string> argv{APPLCTL_BIN, "--store", store};
    argv.insert(argv.end(), args.begin(), args.end());
    const int code = run_quiet(argv, out, err);
    std::string what;
    for (const auto& a : args) what += a + " ";
    if (code != 0) {
      std::string e = clitest::slurp(err);
      std::replace(e.begin(), e.end(), '\n', ' ');
      rep << "fail " << code << " " << what << ": " << e << "\n";
      continue;
    }
    if (read && clitest::slurp(out).empty()) rep << "fail empty-output " << what << "\n";
    (read ? reads : writes)++;
    if (on_success) on_success();
  }
  for (const auto& n : mine) rep << "cert " << n << "\n";
  for (std::size_t i = 0; i < imported; ++i) rep << "cert " << me << "-imp" << i << "\n";
  rep << "ip " << address << " " << served << "\n";
  rep << "writes " << writes << "\nreads " << reads << "\n";
  rep.close();
  ::_exit(0);
}

int concurrency_seconds() {
  const char* v = std::getenv("APPLCTL_CONCURRENCY_SECONDS");
  return v != nullptr && *v != '\0' ? std::max(1, std::atoi(v)) : 10;
}

}  // namespace

TEST_CASE("eight processes of mixed writes and reads lose no update and never see a locked store",
          "[cli][concurrency][long]") {
  constexpr int kWorkers = 8;
  constexpr int kImportsEach = 6;
  const int seconds = concurrency_seconds();
  Appliance a;
  a.json({"init", "--hostname", "appl.example.com"});
  std::vector<std::string> addresses;
  for (int i = 0; i < kWorkers; ++i) addresses.push_back("192.0.2." + std::to_string(100 + i));
  std::vector<std::string> add{"ip", "add"};
  add.insert(add.end(), addresses.begin(), addresses.end());
  a.json(add);
  clitest::TempDir work;
  std::vector<Worker> workers;
  for (int i = 0; i < kWorkers; ++i) {
    Worker w;
    w.index = i;
    w.report = work / ("report" + std::to_string(i));
    for (int k = 0; k < kImportsEach; ++k) {
      // A certificate of its own for each import (made by openssl, not applctl).
      const fs::path key = work / ("k" + std::to_string(i) + "-" + std::to_string(k) + ".pem");
      const fs::path cert = work / ("c" + std::to_string(i) + "-" + std::to_string(k) + ".pem");
      Result r = clitest::openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                   "-keyout", key.string(), "-subj", "/CN=imp" + std::to_string(i) + "-" + std::to_string(k),
                                   "-days", "30", "-addext", "basicConstraints=critical,CA:FALSE", "-out", cert.string()});
      REQUIRE(r.code == 0);
      w.imports.push_back(cert);
      w.imports.push_back(key);
    }
    workers.push_back(w);
  }
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + std::chrono::seconds(seconds);
  std::vector<pid_t> pids;
  for (const auto& w : workers) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) run_worker(w, a.store.string(), deadline);
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::set<std::string> expected{"factory-default"};
  std::map<std::string, std::string> expected_ips;
  int writes = 0, reads = 0, failures = 0;
  for (const auto& w : workers) {
    std::istringstream rep(clitest::slurp(w.report));
    int wr = 0, rd = 0;
    for (std::string line; std::getline(rep, line);) {
      std::istringstream f(line);
      std::string kind;
      f >> kind;
      if (kind == "cert") {
        std::string n;
        f >> n;
        expected.insert(n);
      } else if (kind == "ip") {
        std::string addr, cert;
        f >> addr >> cert;
        expected_ips[addr] = cert;
      } else if (kind == "writes") {
        f >> wr;
      } else if (kind == "reads") {
        f >> rd;
      } else {
        ++failures;
        INFO("worker " << w.index << ": " << line);
        CHECK(kind != "fail");  // any failure: exit 5, "database is locked", anything
      }
    }
    WARN("concurrency: worker " << w.index << ": " << wr << " writes, " << rd << " reads");
    writes += wr;
    reads += rd;
    CHECK(wr > 0);
  }
  WARN("concurrency: " << kWorkers << " processes, " << elapsed << " s: " << writes << " writes and " << reads
                       << " reads succeeded (" << (writes + reads) / elapsed << " commands/s), " << failures << " failures");
  CHECK(failures == 0);
  // Lost-update check: every write that succeeded is in the store, and nothing else is.
  std::set<std::string> names;
  for (const auto& c : a.json({"cert", "list"})) names.insert(c["friendly_name"].get<std::string>());
  CHECK(names == expected);
  for (const auto& ip : a.json({"ip", "list"})) {
    const std::string addr = ip["address"];
    const std::string cert = ip["certificate"].is_null() ? "-" : ip["certificate"].get<std::string>();
    INFO(addr);
    CHECK((expected_ips[addr] == cert || (expected_ips[addr] == "-" && cert == "factory-default")));
  }
  CHECK(sql(a, "SELECT count(*) FROM audit_log") == std::to_string(2 + writes));  // init, ip add, each write
  CHECK(a.run({"doctor"}).code == 0);
}
