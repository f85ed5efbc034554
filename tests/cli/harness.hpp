// Running the built applctl binary (and the openssl CLI, the independent oracle) from tests.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

extern char** environ;

namespace clitest {

namespace fs = std::filesystem;

// Whether the tests run against an ASan+UBSan build (APPLCTL_SANITIZE, tests/CMakeLists.txt),
// where every applctl process runs several times slower. The few tests that loop over many
// processes or run for a time budget take the smaller count there, through full_or_sanitized();
// the release run checks with the full counts. Explicit environment overrides win over both.
#ifdef APPLCTL_TESTS_SANITIZED
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
template <typename T>
constexpr T full_or_sanitized(T full, T sanitized) {
  return kSanitized ? sanitized : full;
}

struct Result {
  int code = -1;
  std::string out;
  std::string err;
  nlohmann::json json() const {
    INFO("stdout: " << out << "\nstderr: " << err);
    return nlohmann::json::parse(out);
  }
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void spit(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary);
  out << data;
}

// Runs argv[0] (looked up in PATH) with extra environment variables and optional stdin text.
inline Result run_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                          const std::string& input = {}) {
  static int counter = 0;
  fs::path tmp = fs::temp_directory_path() / ("applctl-cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::create_directories(tmp);
  fs::path in = tmp / "in", out = tmp / "out", err = tmp / "err";
  spit(in, input);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto key = kv.substr(0, kv.find('='));
    if (!env.count(key)) envs.push_back(kv);
  }
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove_all(tmp);
  return r;
}

// A temporary directory, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/applctl-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path operator/(const std::string& name) const { return path / name; }
};

// A fresh store in a temporary directory, and applctl run against it.
struct Appliance {
  TempDir dir;
  fs::path store = dir / "store";
  std::map<std::string, std::string> env;

  Result run(std::vector<std::string> args, const std::string& input = {}) const {
    std::vector<std::string> argv{APPLCTL_BIN, "--store", store.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, env, input);
  }
  // The same with --json, parsed; requires the exit code.
  nlohmann::json json(std::vector<std::string> args, int expect = 0) const {
    args.insert(args.begin(), "--json");
    Result r = run(args);
    INFO("applctl " << args.front() << " ...: stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.code == expect);
    return r.json();
  }
  fs::path db() const { return store / "applctl.db"; }
  // Everything the store holds, as text, to prove a failing command changed nothing.
  std::string dump() const {
    Result r = run_process({"sqlite3", db().string(),
                            "SELECT * FROM certificates; SELECT * FROM keys; SELECT * FROM requests;"
                            " SELECT * FROM settings; SELECT * FROM ip_addresses; SELECT * FROM renewals;"
                            " SELECT count(*) FROM audit_log;"});
    return r.out;
  }
};

// The openssl CLI, the independent oracle for every file applctl writes.
inline Result openssl(std::vector<std::string> args, const std::string& input = {}) {
  args.insert(args.begin(), "openssl");
  return run_process(args, {}, input);
}

// Small helpers several test files share.
inline std::string chomp(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

inline unsigned mode_of(const fs::path& p) {
  struct stat st {};
  INFO("stat " << p);
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

struct ScopedUmask {
  mode_t old;
  explicit ScopedUmask(mode_t m) : old(::umask(m)) {}
  ~ScopedUmask() { ::umask(old); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;
};

// A query on the appliance's database with the sqlite3 CLI (an independent reader); its output
// without the trailing newline.
inline std::string sql(const Appliance& a, const std::string& query) {
  Result r = run_process({"sqlite3", a.db().string(), query});
  INFO("sqlite3: " << query << "\n" << r.err);
  REQUIRE(r.code == 0);
  std::string out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// openssl's one-line SAN list ("  DNS:a, IP Address:10.0.0.1") as {"DNS:a", "IP Address:10.0.0.1"}.
inline std::vector<std::string> split_san_line(std::string line) {
  line = chomp(line);
  line.erase(0, line.find_first_not_of(' '));
  std::vector<std::string> out;
  for (std::size_t start = 0; start < line.size();) {
    std::size_t comma = line.find(", ", start);
    out.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 2;
  }
  return out;
}

inline std::int64_t count_rows(const Appliance& a, const std::string& table) {
  return std::stoll(sql(a, "SELECT count(*) FROM " + table));
}

}  // namespace clitest
