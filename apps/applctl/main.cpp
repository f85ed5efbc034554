// applctl's entry point: everything is in cli.cpp (the command table and `run`); main only hands
// argv to it.
#include <csignal>

#include "cli.hpp"

int main(int argc, char** argv) {
  // A peer that closes its end (a KMIP server going away mid-request, a TLS client of `serve`
  // hanging up, `applctl ... | head`) is an error to report on write (EPIPE), not a signal that
  // kills the process without a message or an exit code of ours.
  std::signal(SIGPIPE, SIG_IGN);
  return applctl::cli::run(argc, argv);
}
