// Import: format detection and every importer (DER, PEM, PKCS#7, PKCS#12, private keys) through
// applctl::decode_any. The first byte chooses how a passphrase is offered (bit 0: a passphrase
// source exists and answers "fuzz-pass", bit 1: it counts as given, from a file or the
// environment); the rest is the file. Invariant: every certificate found is DER that decodes on
// its own as exactly itself.
#include <optional>
#include <string>

#include "applctl/codec/codec.hpp"
#include "applctl/base/error.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool has_passphrase = (data[0] & 1) != 0;
  const bool given = (data[0] & 2) != 0;
  applctl::BytesView file(data + 1, size - 1);
  int asked = 0;
  applctl::PassphraseFn passphrase = [&]() -> std::optional<std::string> {
    ++asked;
    if (!has_passphrase) return std::nullopt;
    return std::string("fuzz-pass");
  };
  try {
    applctl::Decoded d = applctl::decode_any(file, "fuzz-input", passphrase, given);
    FUZZ_ASSERT(asked <= 1);
    FUZZ_ASSERT(!d.format.empty());
    for (const auto& cert : d.certificates) {
      applctl::Decoded again = applctl::decode_any(cert, "certificate", {}, false);
      FUZZ_ASSERT(again.format == "der");
      FUZZ_ASSERT(again.certificates.size() == 1 && again.certificates[0] == cert);
      FUZZ_ASSERT(again.keys.empty());
    }
  } catch (const applctl::Error&) {
    FUZZ_ASSERT(asked <= 1);
  }
  return 0;
}
