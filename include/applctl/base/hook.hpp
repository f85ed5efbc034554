// One way to run an operator's hook command (the renewal deploy hook, the ACME DNS-01 hook):
// `/bin/sh -c COMMAND` in a process group of its own, stdin from /dev/null, its stdout sent to
// our stderr (stdout carries results: a --json document must stay whole), the environment ours
// plus the hook's variables, and a deadline: a hook still running then gets SIGTERM on its whole
// group, and SIGKILL a second later, so a hung hook never hangs a cron job.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace applctl {

struct HookRequest {
  std::string command;                // run as /bin/sh -c command
  std::vector<std::string> env;       // "NAME=value" added; ours of the same names are dropped
  std::string drop_prefix;            // ours whose names start with this are dropped too ("" none)
  std::chrono::steady_clock::time_point deadline;
};

struct HookResult {
  bool started = false;    // /bin/sh could be started (else `error` says why)
  bool timed_out = false;  // still running at the deadline: its group was killed
  int status = 0;          // the wait status when it ended by itself
  std::string error;       // why it could not be started
  bool ok() const;         // started, ended by itself, exit status 0
  // "exit status 3", "killed by signal 9", "did not finish within the deadline", "could not be started: ..."
  std::string describe() const;
};

HookResult run_hook(const HookRequest& request);

// The default of --hook-timeout: five minutes.
inline constexpr std::chrono::seconds kDefaultHookTimeout{300};

}  // namespace applctl
