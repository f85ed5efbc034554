// applctl_timeit: times two commands doing the same work, interleaved, for scripts/bench.
//
//   applctl_timeit [-n N] [-w W] -- COMMAND A... --vs COMMAND B...
//
// Runs W untimed warm-up rounds, then N rounds; each round runs A once and B once, in an order
// that alternates from round to round, so drift in the machine's load (another process, the CPU
// clock, the page cache) falls on both sides alike. "{}" in an argument becomes the round's
// label (w0, w1, ... for the warm-up, 0, 1, ... after), so each run can write its own files.
// Each run is a whole process (posix_spawn, then wait4), its output sent to /dev/null.
//
// Prints one line: the median wall time of A and of B in milliseconds, then their median CPU
// time (user + system, from wait4). Exits 1, naming the command, when a run fails.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace {

struct Sample {
  double wall_ms;
  double cpu_ms;
};

double now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double ms(const timeval& tv) { return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3; }

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

Sample run(const std::vector<std::string>& tmpl, const std::string& label) {
  std::vector<std::string> args;
  for (std::string a : tmpl) {
    for (std::size_t at = a.find("{}"); at != std::string::npos; at = a.find("{}", at + label.size()))
      a.replace(at, 2, label);
    args.push_back(std::move(a));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  const double t0 = now_ms();
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    std::fprintf(stderr, "applctl_timeit: cannot start %s: %s\n", argv[0], std::strerror(rc));
    std::exit(1);
  }
  int status = 0;
  rusage ru{};
  if (wait4(pid, &status, 0, &ru) != pid) {
    std::perror("applctl_timeit: wait4");
    std::exit(1);
  }
  const double t1 = now_ms();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "applctl_timeit: command failed (status %d): %s\n", status, join(args).c_str());
    std::exit(1);
  }
  return {t1 - t0, ms(ru.ru_utime) + ms(ru.ru_stime)};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

[[noreturn]] void usage() {
  std::fprintf(stderr, "usage: applctl_timeit [-n N] [-w W] -- COMMAND A... --vs COMMAND B...\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 30;
  int warmup = 2;
  int i = 1;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    if (i + 1 >= argc) usage();
    if (std::strcmp(argv[i], "-n") == 0)
      rounds = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "-w") == 0)
      warmup = std::atoi(argv[++i]);
    else
      usage();
  }
  std::vector<std::string> a, b;
  bool second = false;
  for (++i; i < argc; ++i) {
    if (std::strcmp(argv[i], "--vs") == 0 && !second)
      second = true;
    else
      (second ? b : a).emplace_back(argv[i]);
  }
  if (a.empty() || b.empty() || rounds < 1 || warmup < 0) usage();

  for (int w = 0; w < warmup; ++w) {
    const std::string label = std::string("w").append(std::to_string(w));
    run(a, label);
    run(b, label);
  }
  std::vector<double> aw, bw, ac, bc;
  for (int r = 0; r < rounds; ++r) {
    const std::string label = std::to_string(r);
    Sample sa{}, sb{};
    if (r % 2 == 0) {
      sa = run(a, label);
      sb = run(b, label);
    } else {
      sb = run(b, label);
      sa = run(a, label);
    }
    aw.push_back(sa.wall_ms);
    bw.push_back(sb.wall_ms);
    ac.push_back(sa.cpu_ms);
    bc.push_back(sb.cpu_ms);
  }
  std::printf("%.3f %.3f %.3f %.3f\n", median(aw), median(bw), median(ac), median(bc));
  return 0;
}
