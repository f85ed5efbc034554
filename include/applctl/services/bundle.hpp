// `cert bundle`: what support or a vendor needs about a certificate, and provably no private key:
// the chain as PKCS#7, each certificate as DER .cer, and a status text.
#pragma once

#include <string>
#include <vector>

#include "applctl/store/store.hpp"

namespace applctl {

struct BundleResult {
  Bytes zip;                        // the archive
  std::vector<std::string> files;   // names inside it, in order
  CertRow row;
};

BundleResult make_bundle(const Store& store, std::string_view ref);

}  // namespace applctl
