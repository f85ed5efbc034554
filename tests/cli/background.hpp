// A process in the background for the server tests (serve, probe against s_server, PyKMIP's
// server): stdout and stderr to files, every wait bounded, killed when it goes out of scope.
// With Group::Own it leads a process group of its own, and stopping it also kills whatever it
// started (PyKMIP's server leaves two children behind when only it is killed).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include "harness.hpp"

namespace clitest {

class Background {
 public:
  enum class Group { Inherit, Own };

  explicit Background(const std::vector<std::string>& argv, const fs::path& stdin_path = "/dev/null",
                      Group group = Group::Inherit)
      : own_group_(group == Group::Own) {
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    if (own_group_) {
      posix_spawnattr_setpgroup(&attr, 0);
      posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, stdin_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, (dir_ / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, (dir_ / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = posix_spawnp(&pid_, args[0], &fa, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    group_ = own_group_ && rc == 0 ? pid_ : 0;
    REQUIRE(rc == 0);
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  ~Background() {
    if (pid_ > 0) stop(SIGKILL);
    kill_group();
  }

  pid_t pid() const { return pid_; }  // 0 once it has been reaped
  std::string out() const { return slurp(dir_ / "out"); }
  std::string err() const { return slurp(dir_ / "err"); }
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = 0;
      return false;
    }
    return true;
  }
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // Polls stdout and stderr until pred holds or the process ends; false after `limit`.
  template <typename Pred>
  bool wait_until(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    for (auto end = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < end;) {
      if (pred(out(), err())) return true;
      if (!running()) return pred(out(), err());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  // Polls stdout until it contains needle.
  bool wait_for(const std::string& needle, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    return wait_until([&](const std::string& o, const std::string&) { return o.find(needle) != std::string::npos; },
                      limit);
  }
  // Sends sig and waits (at most `grace`, then SIGKILL) for the exit code: 128 + signal if
  // killed, -1 if it did not stop in time. With its own group, the rest of the group is killed
  // afterwards.
  int stop(int sig = SIGTERM, std::chrono::milliseconds grace = std::chrono::seconds(10)) {
    if (pid_ <= 0) {
      kill_group();
      return code_;
    }
    ::kill(pid_, sig);
    for (auto end = std::chrono::steady_clock::now() + grace; std::chrono::steady_clock::now() < end;) {
      if (!running()) {
        kill_group();
        return code_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
    code_ = -1;
    kill_group();
    return code_;
  }

 private:
  void kill_group() {
    if (group_ > 0) ::kill(-group_, SIGKILL);
    group_ = 0;
  }

  TempDir dir_;
  bool own_group_ = false;
  pid_t pid_ = 0;
  pid_t group_ = 0;
  int code_ = -1;
};

// A port of 127.0.0.1 nothing listens on right now (bound, then released).
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  socklen_t len = sizeof sa;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  ::close(fd);
  return ntohs(sa.sin_port);
}

}  // namespace clitest
