// TEST HELPER: starting applctl (or any program) without waiting for it, for the tests that kill
// it, race it against others or hold the store's lock meanwhile.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "cli/harness.hpp"

namespace clitest {

struct Child {
  pid_t pid = 0;
  fs::path out, err;
  std::string what;
};

struct SpawnOptions {
  std::map<std::string, std::string> env;  // added to (or replacing in) this process's environment
  long fsize_limit = -1;                   // RLIMIT_FSIZE in bytes, with SIGXFSZ ignored (-1: none)
};

// Starts argv[0] (looked up in PATH) with stdin from /dev/null and stdout/stderr into the files
// out and err. With a file size limit it forks (posix_spawn cannot set limits): the child ignores
// SIGXFSZ, so a write past the limit fails with EFBIG instead of killing it.
inline Child spawn(const std::vector<std::string>& argv, const fs::path& out, const fs::path& err,
                   const SpawnOptions& opt = {}) {
  Child c;
  c.out = out;
  c.err = err;
  for (const auto& a : argv) c.what += a + " ";
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    if (!opt.env.count(kv.substr(0, kv.find('=')))) envs.push_back(kv);
  }
  for (const auto& [k, v] : opt.env) envs.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  if (opt.fsize_limit >= 0) {
    c.pid = ::fork();
    REQUIRE(c.pid >= 0);
    if (c.pid == 0) {
      int in = ::open("/dev/null", O_RDONLY);
      int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (in < 0 || o < 0 || e < 0) ::_exit(127);
      ::dup2(in, 0);
      ::dup2(o, 1);
      ::dup2(e, 2);
      ::signal(SIGXFSZ, SIG_IGN);  // kept across exec
      struct rlimit rl{static_cast<rlim_t>(opt.fsize_limit), static_cast<rlim_t>(opt.fsize_limit)};
      ::setrlimit(RLIMIT_FSIZE, &rl);
      ::execvpe(cargv[0], cargv.data(), cenv.data());
      ::_exit(127);
    }
    return c;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int rc = posix_spawnp(&c.pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  return c;
}

// The exit code, or 128 + the signal that ended it.
inline int wait_child(const Child& c) {
  int status = 0;
  REQUIRE(::waitpid(c.pid, &status, 0) == c.pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs to completion, as run_process does, optionally with a file size limit.
inline Result run_limited(const std::vector<std::string>& argv, const fs::path& scratch, const SpawnOptions& opt) {
  Child c = spawn(argv, scratch / "limited.out", scratch / "limited.err", opt);
  Result r;
  r.code = wait_child(c);
  r.out = slurp(c.out);
  r.err = slurp(c.err);
  return r;
}

// Waits up to `seconds` for a file to appear.
inline bool wait_for_file(const fs::path& p, double seconds = 10) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!fs::exists(p)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// The sqlite3 CLI holding the store's write lock (BEGIN IMMEDIATE) until `release` exists;
// `locked` appears once it holds it.
struct LockHolder {
  Child child;
  fs::path locked, release;
  LockHolder(const fs::path& db, const fs::path& work) : locked(work / "locked"), release(work / "release") {
    const std::string script = "BEGIN IMMEDIATE;\n.shell touch '" + locked.string() + "'\n.shell i=0; while [ ! -e '" +
                               release.string() + "' ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done\nCOMMIT;\n";
    spit(work / "lock.sql", script);
    child = spawn({"sh", "-c", "exec sqlite3 \"$0\" < \"$1\"", db.string(), (work / "lock.sql").string()}, work / "lock.out",
                  work / "lock.err");
    REQUIRE(wait_for_file(locked));
  }
  int finish() {
    spit(release, "");
    return wait_child(child);
  }
};

}  // namespace clitest
