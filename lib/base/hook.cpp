// The one hook runner (see applctl/base/hook.hpp).
#include "applctl/base/hook.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <thread>

#include <fmt/format.h>

extern char** environ;

namespace applctl {

namespace {

// Ours without the variables the hook sets and those under drop_prefix, then the hook's.
std::vector<std::string> hook_environment(const HookRequest& r) {
  auto name_of = [](std::string_view kv) { return kv.substr(0, kv.find('=')); };
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv = *e;
    std::string_view name = name_of(kv);
    if (!r.drop_prefix.empty() && name.starts_with(r.drop_prefix)) continue;
    if (std::any_of(r.env.begin(), r.env.end(), [&](const std::string& x) { return name_of(x) == name; })) continue;
    out.emplace_back(kv);
  }
  out.insert(out.end(), r.env.begin(), r.env.end());
  return out;
}

// The wait status of pid when it has ended (flags 0: waits for it), std::nullopt otherwise.
std::optional<int> reap(pid_t pid, int flags) {
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(pid, &status, flags)) < 0 && errno == EINTR) {
  }
  if (r == pid || r < 0) return status;
  return std::nullopt;
}

}  // namespace

bool HookResult::ok() const { return started && !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0; }

std::string HookResult::describe() const {
  if (!started) return "could not be started: " + error;
  if (timed_out) return "did not finish within the deadline (its process group was killed)";
  if (WIFEXITED(status)) return fmt::format("exit status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
  return fmt::format("wait status {}", status);
}

HookResult run_hook(const HookRequest& request) {
  std::vector<std::string> strings = hook_environment(request);
  std::vector<char*> envp;
  for (auto& s : strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = request.command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);

  HookResult result;
  if (rc != 0) {
    result.error = fmt::format("/bin/sh: {}", std::strerror(rc));
    return result;
  }
  result.started = true;
  for (auto wait = std::chrono::milliseconds(2);; wait = std::min(wait * 2, std::chrono::milliseconds(50))) {
    if (auto status = reap(pid, WNOHANG)) {
      result.status = *status;
      return result;
    }
    if (std::chrono::steady_clock::now() >= request.deadline) break;
    std::this_thread::sleep_for(wait);
  }
  result.timed_out = true;
  ::kill(-pid, SIGTERM);
  for (int i = 0; i < 20; ++i) {
    if (reap(pid, WNOHANG)) return result;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(-pid, SIGKILL);
  reap(pid, 0);
  return result;
}

}  // namespace applctl
