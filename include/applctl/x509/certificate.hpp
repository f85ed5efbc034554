// Certificates and requests: building (self-signed, CSR) and inspection (what `cert show` and
// `csr show` print). Takes and returns DER bytes and values; no files, no store.
#pragma once

#include <string>
#include <vector>

#include "applctl/base/bytes.hpp"
#include "applctl/x509/keys.hpp"
#include "applctl/x509/names.hpp"
#include "applctl/base/timeutil.hpp"

namespace applctl {

enum class Role { Leaf, Intermediate, Root };
std::string_view role_name(Role r);  // "leaf" | "intermediate" | "root"
Role parse_role(std::string_view s);

struct Warning {
  std::string code;
  std::string message;
};

// Everything the store keeps in columns and `cert show` prints, read once from the DER.
struct CertInfo {
  std::string fingerprint_sha256;  // of the DER
  std::string subject;             // RFC 4514
  std::string issuer;              // RFC 4514
  std::string issued_to;           // subject CN, else the RFC 4514 subject
  std::string issued_by;           // issuer CN, else the RFC 4514 issuer
  std::string subject_cn;          // "" when none
  std::string serial;              // lowercase hex, no leading zeros (at least one digit)
  UnixTime not_before = 0;
  UnixTime not_after = 0;
  std::vector<std::string> alt_names;  // "DNS:..", "IP:..", in certificate order
  bool has_san_extension = false;
  std::string signature_algorithm;  // OpenSSL long name, e.g. "ecdsa-with-SHA256"
  KeyInfo public_key;
  std::string spki_sha256;
  std::string subject_key_id;       // hex, "" when absent
  std::string authority_key_id;     // hex, "" when absent
  std::string subject_hash;         // SHA-256 of the DER subject name (chain lookups)
  std::string issuer_hash;          // SHA-256 of the DER issuer name
  bool is_ca = false;               // basicConstraints cA (or a v1 self-signed certificate)
  bool self_issued = false;         // subject == issuer
  bool self_signed = false;         // self-issued and its signature verifies with its own key
  Role role = Role::Leaf;
  // The warnings that depend on the certificate alone (self-signed, no-san, ip-san,
  // cn-not-first-san, weak-key, weak-signature); time, key and store warnings come later.
  std::vector<Warning> static_warnings;
};

CertInfo inspect_certificate(BytesView der);

struct CsrInfo {
  std::string subject;                 // RFC 4514
  std::vector<std::string> alt_names;  // from the extensionRequest
  std::string spki_sha256;
  KeyInfo public_key;
  std::string signature_algorithm;
  bool signature_valid = false;
};

CsrInfo inspect_csr(BytesView der);

// A new certificate or request. Signatures are SHA-256 (none for Ed25519); certificates get a
// random positive 128-bit serial.
struct NewCertificate {
  Subject subject;
  std::vector<San> sans;
  int days = 365;
  UnixTime not_before = 0;  // 0: now
};

Bytes make_self_signed(const PrivateKey& key, const NewCertificate& spec);
// The request and what inspect_csr would say of it, without parsing it again.
struct NewCsr {
  Bytes der;
  CsrInfo info;
};
NewCsr build_csr(const PrivateKey& key, const Subject& subject, const std::vector<San>& sans);
inline Bytes make_csr(const PrivateKey& key, const Subject& subject, const std::vector<San>& sans) {
  return build_csr(key, subject, sans).der;
}

// Renewal (cert renew). A self-signed certificate with old's subject and subjectAltName
// extension (as they are), the extensions make_self_signed gives and a new serial, for key, valid
// from not_before for lifetime seconds.
Bytes reissue_self_signed(const PrivateKey& key, BytesView old_der, UnixTime not_before, std::int64_t lifetime);
// A request for key with old's subject and subjectAltName extension.
NewCsr build_renewal_csr(const PrivateKey& key, BytesView old_der);

// The RFC 4514 text of the subject a new certificate or request gets for s (as CertInfo::subject).
std::string subject_rfc4514(const Subject& s);

std::string pem_encode(BytesView der, std::string_view label);  // "CERTIFICATE", ...

}  // namespace applctl
