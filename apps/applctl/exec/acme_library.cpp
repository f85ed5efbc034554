// applctl's acme_library(): the ACME client lives in applctl-acme (cli.hpp says why), so a verb
// that needs it replaces this process with applctl-acme and the same arguments. Nothing has
// been read or changed yet when this runs: the verbs ask for the library before they open the
// store.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "../cli.hpp"
#include "applctl/base/error.hpp"

namespace applctl::cli {

namespace {

// applctl-acme next to this binary (a build tree), else in the package's libexec directory.
std::filesystem::path helper_path() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto beside = self.parent_path() / "applctl-acme";
    if (::access(beside.c_str(), X_OK) == 0) return beside;
  }
  return std::filesystem::path(APPLCTL_LIBEXEC_DIR) / "applctl-acme";
}

}  // namespace

const AcmeLibrary& acme_library(Context& ctx) {
  const auto helper = helper_path();
  spdlog::debug("ACME: running {}", helper.string());
  spdlog::default_logger()->flush();
  std::cout.flush();
  std::cerr.flush();
  ::execv(helper.c_str(), ctx.argv.data());
  const int err = errno;
  fail(ErrorKind::Failed, fmt::format("cannot run the ACME client '{}': {}", helper.string(), std::strerror(err)),
       "it is part of the applctl package (/usr/libexec/applctl/applctl-acme); reinstall it");
}

}  // namespace applctl::cli
