// Provisioning: an APPLIANCE.yaml someone edited, through applctl::load_appliance. Relative file
// references resolve in an empty temporary directory (made once, removed at exit), so they fail
// as a missing file does. Invariant: every certificate loaded is exactly one of self-signed and
// imported, and an IP entry's address is canonical.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "applctl/base/error.hpp"
#include "applctl/x509/names.hpp"
#include "applctl/provision/provision.hpp"
#include "fuzz.hpp"

namespace {

const std::filesystem::path& base_dir() {
  static const std::filesystem::path dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "applctl-fuzz-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    static std::string made;
    made = tmpl;
    std::atexit([] { ::rmdir(made.c_str()); });
    return std::filesystem::path(tmpl);
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(fuzz::text(data, size));
  try {
    applctl::ApplianceFile f = applctl::load_appliance(text, "fuzz.yaml", base_dir());
    for (const auto& c : f.certificates) FUZZ_ASSERT(c.self_signed.has_value() != c.import.has_value());
    if (f.ips)
      for (const auto& ip : *f.ips) FUZZ_ASSERT(applctl::canonical_ip(ip.address) == ip.address);
  } catch (const applctl::Error&) {
  }
  return 0;
}
