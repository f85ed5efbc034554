// applctl-acme's acme_library(): the ACME client itself (lib/acme_*.cpp, with libcurl).
// applctl exec's this binary for the verbs that talk ACME (apps/applctl/cli.hpp).
#include "../applctl/cli.hpp"

namespace applctl::cli {

const AcmeLibrary& acme_library(Context&) {
  static const AcmeLibrary library{acme::register_account, acme::issue_certificate, acme::show_account,
                                   acme::make_renewer};
  return library;
}

}  // namespace applctl::cli
