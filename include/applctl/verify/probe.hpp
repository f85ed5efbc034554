// `applctl probe`: what a TLS server serves (chain, protocol, cipher) and whether that chain
// verifies, with applctl's own path validation (the sent chain as untrusted intermediates).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "applctl/base/bytes.hpp"
#include "applctl/x509/certificate.hpp"

namespace applctl {

struct ProbeRequest {
  std::string target;               // HOST:PORT, [IPv6]:PORT; the port defaults to 443
  std::optional<std::string> sni;   // nullopt: HOST when it is a name (not an IP); "": send none
  std::vector<Bytes> roots;         // trust anchors (DER); empty: the system's
  std::optional<std::string> hostname;  // the name verified; default: the SNI name, else HOST's IP
  std::optional<std::string> expected_fingerprint;  // the served leaf must be this (SHA-256 hex)
  std::chrono::milliseconds timeout{10'000};        // connect + handshake, in all
};

struct ProbedCert {
  CertInfo info;
  Bytes der;
};

struct ProbeResult {
  std::string address;   // the address connected to, "192.0.2.1:443" / "[2001:db8::1]:443"
  std::string sni;       // the name sent ("" when none)
  std::string protocol;  // "TLSv1.3"
  std::string cipher;    // "TLS_AES_256_GCM_SHA384"
  std::vector<ProbedCert> chain;  // as the server sent it, leaf first
  bool verified = false;
  std::string reason;   // "" when verified; else verify_chain's code
  std::string detail;
  std::string verified_name;  // the hostname or IP the leaf was checked against ("" none)
  std::optional<bool> expected;  // with expected_fingerprint: does the leaf match
  bool ok() const { return verified && expected.value_or(true); }
};

// Connects, shakes hands (SNI as asked), verifies. Throws Remote (exit 7) when it cannot resolve,
// connect or complete the handshake within the timeout; Usage for a malformed target. A chain
// that does not verify, or a leaf that is not the expected one, is a result (ok() false), not an
// exception.
ProbeResult probe(const ProbeRequest& request);

}  // namespace applctl
