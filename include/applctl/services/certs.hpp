// Certificate services: self-signed creation, list, show, check, rename, remove, default, export.
// Each takes a typed request and returns a typed result; the CLI only parses and renders.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "applctl/services/appliance.hpp"
#include "applctl/services/chains.hpp"
#include "applctl/codec/codec.hpp"
#include "applctl/x509/names.hpp"

namespace applctl {

struct SelfSignedRequest {
  std::string name;
  KeySpec key;
  Subject subject;
  std::vector<std::string> sans;
  int days = 365;
};
CertSummary create_self_signed(Store& store, const SelfSignedRequest& request);

std::vector<CertSummary> list_certificates(const Store& store);

struct ChainView {
  std::string mode;                       // automatic | current | manual
  std::vector<std::string> certificates;  // fingerprints, leaf first, root last when known
  bool complete = false;
};

struct CertDetails {
  CertSummary summary;
  std::string serial;
  std::string signature_algorithm;
  KeyInfo public_key;
  ChainView chain;
};
CertDetails show_certificate(const Store& store, std::string_view ref);

struct CheckRequest {
  std::vector<std::string> refs;     // none: every certificate
  std::int64_t window = 30 * 86400;  // --expires-in
};
struct CheckEntry {
  CertRow row;
  std::string status;  // ok | expires-soon | expired | not-yet-valid | not-found | ambiguous
  std::int64_t seconds_left = 0;
  std::string error;   // for not-found / ambiguous
};
struct CheckResult {
  UnixTime checked_at = 0;
  std::int64_t window = 0;
  std::vector<CheckEntry> entries;
  bool attention = false;   // any expired or within the window: exit 10
  bool unresolved = false;  // a named certificate was not found (exit 4) or is ambiguous (exit 5)
};
CheckResult check_certificates(const Store& store, const CheckRequest& request);

CertSummary rename_certificate(Store& store, std::string_view ref, std::string_view new_name);
struct RemoveResult {
  CertRow removed;
  std::vector<std::string> moved_ips;  // addresses moved back to the factory default (--force)
  bool was_default = false;
};
RemoveResult remove_certificate(Store& store, std::string_view ref, bool force);
CertSummary set_default_certificate(Store& store, std::string_view ref);

enum class ExportFormat { Der, Pem, P7b, Pkcs8, P12 };
ExportFormat parse_export_format(std::string_view s);

struct ExportRequest {
  std::string ref;
  ExportFormat format = ExportFormat::Pem;
  bool with_key = false;
  bool with_chain = false;
  bool legacy = false;         // p12 with 3DES/RC2-40 and a SHA-1 MAC
  bool no_passphrase = false;  // --no-passphrase: only with insecure
  bool insecure = false;
  PassphraseFn passphrase;     // asked only when a key is exported
};
struct ExportResult {
  Bytes data;
  bool contains_key = false;  // the file must be written 0600
  CertRow row;
  std::vector<std::string> chain;  // fingerprints written, leaf first
};
ExportResult export_certificate(const Store& store, const ExportRequest& request);

// The certificates a chain export carries after the leaf, per the certificate's chain mode.
std::vector<Bytes> chain_for_export(const Store& store, const CertRow& row);

}  // namespace applctl
