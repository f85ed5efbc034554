// Path validation: build and verify a certificate path under a policy, and say why not.
// Modelled on Botan's x509path: a policy object in, a result object out; only "no answer could be
// computed" throws.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "applctl/base/bytes.hpp"
#include "applctl/x509/certificate.hpp"
#include "applctl/base/timeutil.hpp"

namespace applctl {

enum class Purpose { Server, Client, Any };
Purpose parse_purpose(std::string_view s);  // "server" | "client" | "any", else Usage error

struct VerifyPolicy {
  std::vector<Bytes> roots;              // trust anchors (DER)
  bool system_roots = false;             // also trust the system store
  std::vector<Bytes> untrusted;          // candidate intermediates (DER)
  std::optional<std::string> hostname;   // --hostname
  std::optional<std::string> ip;         // --ip
  std::optional<Instant> at;             // --at; default: now
  Purpose purpose = Purpose::Server;
  std::optional<int> max_depth;          // intermediates allowed between leaf and anchor
  // CA/Browser Forum rules on top of RFC 5280 (EKU in the leaf, no anyExtendedKeyUsage, no CA as
  // leaf, no DSA, root AKI/EKU rules; see lib/verify/webpki.cpp). No CLI flag: always on there.
  bool web_pki = true;
};

struct PathEntry {
  std::string fingerprint_sha256;
  std::string subject;  // RFC 4514
  Role role;
  std::string status;   // "ok" or the reason code that applies to this certificate
};

struct VerifyResult {
  bool valid = false;
  std::string reason;   // "" when valid; else a stable code: expired, not-yet-valid, unknown-issuer,
                        // hostname-mismatch, ip-mismatch, path-length-exceeded, name-constraints,
                        // key-usage, bad-signature, ... (documented in man/applctl-chain.1)
  std::string detail;   // human sentence, e.g. OpenSSL's error string and depth
  std::vector<PathEntry> path;  // leaf first; the best path found (partial when invalid)
  UnixTime checked_at = 0;
};

VerifyResult verify_chain(BytesView leaf_der, const VerifyPolicy& policy);

}  // namespace applctl
