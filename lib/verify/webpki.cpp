// Rules OpenSSL 3.0's X509_verify_cert (even with X509_V_FLAG_X509_STRICT) does not check, applied
// to the path it built. RFC 5280 rules always apply; the CA/Browser Forum Baseline Requirements
// rules (marked "web PKI") apply when VerifyPolicy::web_pki is set, the default.
//
// Not checked, on purpose: "the CN must be one of the SAN values" (CABF 7.1.4.3): hundreds of
// otherwise valid certificates (and most private PKIs) put a label in the CN, and the CN is never
// used as a name here anyway (X509_CHECK_FLAG_NEVER_CHECK_SUBJECT). Only a CN that spells an
// address or a SAN name in another form (0xC0A80101, 2001:DB8::1, Example.COM) is rejected. Public-suffix wildcards need
// the Public Suffix List, which is not a dependency.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "verify/internal.hpp"
#include "x509/util.hpp"

namespace applctl::verify_detail {

namespace {

using NameConstraintsPtr = std::unique_ptr<NAME_CONSTRAINTS, ossl::Free<NAME_CONSTRAINTS_free>>;
using ExtKeyUsagePtr = std::unique_ptr<EXTENDED_KEY_USAGE, ossl::Free<EXTENDED_KEY_USAGE_free>>;
using AuthorityInfoAccessPtr = std::unique_ptr<AUTHORITY_INFO_ACCESS, ossl::Free<AUTHORITY_INFO_ACCESS_free>>;

std::string subject_of(X509* x) { return x509util::rfc4514(X509_get_subject_name(x)); }

// -1 when absent, else whether the (first) extension is critical.
int criticality(X509* x, int nid) {
  const int idx = X509_get_ext_by_NID(x, nid, -1);
  if (idx < 0) return -1;
  return X509_EXTENSION_get_critical(X509_get_ext(x, idx)) != 0 ? 1 : 0;
}

bool self_issued(X509* x) { return X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0; }

std::string_view ia5(const ASN1_IA5STRING* s) {
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s))};
}

// RFC 1034 preferred name syntax (RFC 5280 4.2.1.6): letters, digits and hyphens, labels of
// 1..63 octets that neither start nor end with a hyphen, at most 253 octets; with
// `wildcard_ok`, the leftmost label may be exactly "*".
bool valid_dns_name(std::string_view name, bool wildcard_ok) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  bool first = true;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::string_view label = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    const bool star = first && wildcard_ok && label == "*" && dot != std::string_view::npos;
    if (!star) {
      if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
      if (!std::all_of(label.begin(), label.end(),
                       [](unsigned char c) { return std::isalnum(c) != 0 || c == '-'; }))
        return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
    first = false;
  }
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

// RFC 5280 4.2.1.10: a DNS name is within a dNSName subtree when it is the constraint or ends
// with "." + constraint; the empty constraint holds every name.
bool dns_within(std::string_view name, std::string_view constraint) {
  if (constraint.empty()) return true;
  if (iequals(name, constraint)) return true;
  return name.size() > constraint.size() && name[name.size() - constraint.size() - 1] == '.' &&
         iequals(name.substr(name.size() - constraint.size()), constraint);
}

bool is_ip_literal(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// When `text` reads as an IP address in some spelling (inet_aton's hex, octal and short forms,
// any IPv6 form), its RFC 3986 / RFC 5952 canonical text; else "".
std::string ip_canonical_form(const std::string& text) {
  char out[INET6_ADDRSTRLEN] = {};
  in_addr v4{};
  in6_addr v6{};
  const bool v4ish = text.find('.') != std::string::npos || text.starts_with("0x") || text.starts_with("0X");
  if (v4ish && inet_aton(text.c_str(), &v4) == 1 && inet_ntop(AF_INET, &v4, out, sizeof out) != nullptr) return out;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1 && inet_ntop(AF_INET6, &v6, out, sizeof out) != nullptr) return out;
  return {};
}

// Frees a value decoded by X509V3_EXT_d2i with its method's own free function.
struct ExtValueFree {
  const X509V3_EXT_METHOD* method;
  void operator()(void* value) const noexcept {
    if (method->it != nullptr) ASN1_item_free(static_cast<ASN1_VALUE*>(value), ASN1_ITEM_ptr(method->it));
    else if (method->ext_free != nullptr) method->ext_free(value);
  }
};

}  // namespace

std::vector<Issue> check_serial(X509* cert, int depth) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  const int len = ASN1_STRING_length(serial);
  const unsigned char* data = ASN1_STRING_get0_data(serial);
  const bool zero = std::all_of(data, data + len, [](unsigned char c) { return c == 0; });
  // Content octets of the DER INTEGER: the magnitude plus a 0x00 when its top bit is set.
  const int octets = len + (len > 0 && (data[0] & 0x80) != 0 ? 1 : 0);
  std::string why;
  if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) why = "negative";
  else if (zero) why = "zero";
  else if (octets > 20) why = fmt::format("{} octets long", octets);
  if (why.empty()) return {};
  return {{depth, "invalid-certificate",
           fmt::format("serial number is {}; RFC 5280 4.1.2.2 wants a positive integer of at most 20 octets", why)}};
}

std::vector<Issue> check_key_identifiers(X509* cert, int depth, bool last, bool web_pki) {
  std::vector<Issue> out;
  const bool has_aki = X509_get_ext_by_NID(cert, NID_authority_key_identifier, -1) >= 0;
  const ASN1_OCTET_STRING* aki_id = X509_get0_authority_key_id(cert);
  if (has_aki && aki_id == nullptr)
    out.push_back({depth, "invalid-extension", "authorityKeyIdentifier has no keyIdentifier (RFC 5280 4.2.1.1)"});
  // OpenSSL's strict mode checks this below the anchor only; the anchor is exempt here too (a
  // cross-signed root put in the trust store as such is trusted as configured).
  if (!has_aki && !last && !self_issued(cert) && X509_get_version(cert) == X509_VERSION_3)
    out.push_back({depth, "invalid-extension",
                   "a certificate issued by another CA has no authorityKeyIdentifier (RFC 5280 4.2.1.1)"});
  if (web_pki && last && self_issued(cert) && has_aki) {
    if (X509_get0_authority_issuer(cert) != nullptr || X509_get0_authority_serial(cert) != nullptr)
      out.push_back({depth, "invalid-extension",
                     "root authorityKeyIdentifier carries authorityCertIssuer/SerialNumber (web PKI: CABF 7.1.2.1.3)"});
    const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(cert);
    if (aki_id != nullptr && ski != nullptr && ASN1_OCTET_STRING_cmp(aki_id, ski) != 0)
      out.push_back({depth, "invalid-extension", "root authorityKeyIdentifier differs from its subjectKeyIdentifier"});
  }
  return out;
}

std::vector<Issue> check_extensions(X509* cert, int depth, bool web_pki) {
  std::vector<Issue> out;
  for (int i = 0; i < X509_get_ext_count(cert); ++i) {
    X509_EXTENSION* ext = X509_get_ext(cert, i);
    const X509V3_EXT_METHOD* method = X509V3_EXT_get(ext);
    if (method == nullptr) continue;
    std::unique_ptr<void, ExtValueFree> value(X509V3_EXT_d2i(ext), ExtValueFree{method});
    if (!value) {
      ERR_clear_error();
      out.push_back({depth, "invalid-extension",
                     fmt::format("the {} extension does not decode", OBJ_nid2ln(method->ext_nid))});
    }
  }
  int crit = 0;
  AuthorityInfoAccessPtr aia(static_cast<AUTHORITY_INFO_ACCESS*>(X509_get_ext_d2i(cert, NID_info_access, &crit, nullptr)));
  if (aia && sk_ACCESS_DESCRIPTION_num(aia.get()) == 0)
    out.push_back({depth, "invalid-extension", "authorityInfoAccess is empty (RFC 5280 4.2.2.1)"});
  ExtKeyUsagePtr eku(static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, nullptr)));
  if (eku && sk_ASN1_OBJECT_num(eku.get()) == 0)
    out.push_back({depth, "invalid-extension", "extendedKeyUsage is empty (RFC 5280 4.2.1.12)"});
  if (criticality(cert, NID_policy_constraints) == 0)
    out.push_back({depth, "invalid-extension", "policyConstraints is not critical (RFC 5280 4.2.1.11)"});

  const int nc_crit = criticality(cert, NID_name_constraints);
  if (nc_crit >= 0) {
    BASIC_CONSTRAINTS* raw_bc = static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_basic_constraints, &crit, nullptr));
    ossl::BasicConstraintsPtr bc(raw_bc);
    if (!bc || bc->ca == 0)
      out.push_back({depth, "invalid-extension", "nameConstraints in a certificate that is not a CA (RFC 5280 4.2.1.10)"});
    // RFC 5280 wants it critical; the web PKI explicitly allows it not to be (CABF 7.1.2.5.2).
    if (nc_crit == 0 && !web_pki)
      out.push_back({depth, "invalid-extension", "nameConstraints is not critical (RFC 5280 4.2.1.10)"});
    NameConstraintsPtr nc(static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_name_constraints, &crit, nullptr)));
    if (nc && sk_GENERAL_SUBTREE_num(nc->permittedSubtrees) <= 0 && sk_GENERAL_SUBTREE_num(nc->excludedSubtrees) <= 0)
      out.push_back({depth, "invalid-extension", "nameConstraints has neither permitted nor excluded subtrees"});
    if (nc && ((nc->permittedSubtrees != nullptr && sk_GENERAL_SUBTREE_num(nc->permittedSubtrees) == 0) ||
               (nc->excludedSubtrees != nullptr && sk_GENERAL_SUBTREE_num(nc->excludedSubtrees) == 0)))
      out.push_back({depth, "invalid-extension", "nameConstraints has an empty list of subtrees"});
  }
  ERR_clear_error();
  return out;
}

std::vector<Issue> check_names(X509* cert, int depth) {
  std::vector<Issue> out;
  int crit = 0;
  ossl::GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr)));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(sans.get(), i);
    if (gen->type == GEN_DNS && !valid_dns_name(ia5(gen->d.dNSName), true)) {
      out.push_back({depth, "invalid-extension",
                     fmt::format("subjectAltName dNSName '{}' is not a valid host name", printable(ia5(gen->d.dNSName)))});
      break;
    }
  }
  NameConstraintsPtr nc(static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_name_constraints, &crit, nullptr)));
  for (const STACK_OF(GENERAL_SUBTREE)* trees : {nc ? nc->permittedSubtrees : nullptr, nc ? nc->excludedSubtrees : nullptr}) {
    for (int i = 0; trees != nullptr && i < sk_GENERAL_SUBTREE_num(trees); ++i) {
      const GENERAL_NAME* base = sk_GENERAL_SUBTREE_value(trees, i)->base;
      if (base->type != GEN_DNS) continue;
      const std::string_view name = ia5(base->d.dNSName);
      if (!name.empty() && !valid_dns_name(name, false))
        out.push_back({depth, "name-constraints", fmt::format("nameConstraints dNSName '{}' is not a valid host name", printable(name))});
    }
  }
  ERR_clear_error();
  return out;
}

std::vector<Issue> check_leaf_profile(X509* leaf, const VerifyPolicy& policy) {
  std::vector<Issue> out;
  if (!policy.web_pki) return out;
  int crit = 0;
  ossl::BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(leaf, NID_basic_constraints, &crit, nullptr)));
  if (bc && bc->ca != 0)
    out.push_back({0, "invalid-ca", "the end-entity certificate is a CA (basicConstraints cA=TRUE; web PKI)"});
  if (criticality(leaf, NID_subject_alt_name) == 1 && X509_NAME_entry_count(X509_get_subject_name(leaf)) > 0)
    out.push_back({0, "invalid-extension", "subjectAltName is critical although the subject is not empty (web PKI)"});
  if (policy.purpose != Purpose::Any) {
    const int eku_crit = criticality(leaf, NID_ext_key_usage);
    // CABF 7.1.2.7.6; Apple platforms reject TLS server certificates without it.
    if (eku_crit < 0 && policy.purpose == Purpose::Server)
      out.push_back({0, "key-usage", "the server certificate has no extendedKeyUsage (web PKI: serverAuth required)"});
    else if (eku_crit == 1)
      out.push_back({0, "invalid-extension", "extendedKeyUsage is critical (web PKI)"});
    if ((X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) != 0 && (X509_get_extended_key_usage(leaf) & XKU_ANYEKU) != 0)
      out.push_back({0, "key-usage", "the end-entity certificate allows anyExtendedKeyUsage (web PKI)"});
  }
  ERR_clear_error();
  return out;
}

std::vector<Issue> check_common_name(X509* leaf, const VerifyPolicy& policy) {
  if (!policy.web_pki) return {};
  const std::string cn = x509util::common_name(X509_get_subject_name(leaf));
  if (cn.empty()) return {};
  const std::string canonical = ip_canonical_form(cn);
  if (!canonical.empty() && canonical != cn)
    return {{0, "invalid-certificate",
             fmt::format("the common name '{}' is an IP address not in its canonical form '{}' (web PKI: CABF 7.1.4.3)",
                         cn, canonical)}};
  // A host name with non-ASCII letters (an IDN's U-label form) can never be a copy of a dNSName,
  // which is ASCII (the A-label, xn--...).
  const bool host_like = cn.find('.') != std::string::npos && std::all_of(cn.begin(), cn.end(), [](unsigned char c) {
                           return c >= 0x80 || std::isalnum(c) != 0 || c == '-' || c == '.';
                         });
  if (host_like && std::any_of(cn.begin(), cn.end(), [](unsigned char c) { return c >= 0x80; }))
    return {{0, "invalid-certificate",
             fmt::format("the common name '{}' is an internationalized name not in its A-label (xn--) form "
                         "(web PKI: CABF 7.1.4.3)",
                         cn)}};
  int crit = 0;
  ossl::GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, &crit, nullptr)));
  ERR_clear_error();
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(sans.get(), i);
    if (gen->type != GEN_DNS) continue;
    const std::string_view name = ia5(gen->d.dNSName);
    if (name == cn) return {};
    if (iequals(name, cn))
      return {{0, "invalid-certificate",
               fmt::format("the common name '{}' is not a character-for-character copy of the SAN '{}' (web PKI: CABF "
                           "7.1.4.3)",
                           cn, name)}};
  }
  return {};
}

std::vector<Issue> check_root_profile(X509* root, int depth, const VerifyPolicy& policy) {
  if (!policy.web_pki || !self_issued(root) || criticality(root, NID_ext_key_usage) < 0) return {};
  return {{depth, "key-usage", "the root certificate has an extendedKeyUsage (web PKI: CABF 7.1.2.1.2)"}};
}

std::vector<Issue> check_public_key(X509* cert, int depth, const VerifyPolicy& policy) {
  if (!policy.web_pki) return {};
  EVP_PKEY* key = X509_get0_pubkey(cert);
  ERR_clear_error();
  if (key == nullptr) return {};
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_DSA) return {{depth, "unsupported-algorithm", "DSA keys are not allowed (web PKI: CABF 6.1.5)"}};
  if ((id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) && EVP_PKEY_get_bits(key) % 8 != 0)
    return {{depth, "weak-key",
             fmt::format("RSA modulus of {} bits is not a multiple of 8 (web PKI: CABF 6.1.5)", EVP_PKEY_get_bits(key))}};
  return {};
}

std::vector<Issue> check_peer_name_constraints(const std::vector<X509*>& path, const std::string& hostname) {
  if (is_ip_literal(hostname)) return {};
  for (std::size_t depth = 1; depth < path.size(); ++depth) {
    int crit = 0;
    NameConstraintsPtr nc(static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(path[depth], NID_name_constraints, &crit, nullptr)));
    ERR_clear_error();
    if (!nc) continue;
    bool has_permitted_dns = false, permitted = false;
    for (int i = 0; i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees); ++i) {
      const GENERAL_NAME* base = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i)->base;
      if (base->type != GEN_DNS) continue;
      has_permitted_dns = true;
      permitted = permitted || dns_within(hostname, ia5(base->d.dNSName));
    }
    std::string why;
    if (has_permitted_dns && !permitted) why = "outside the permitted subtrees";
    for (int i = 0; why.empty() && i < sk_GENERAL_SUBTREE_num(nc->excludedSubtrees); ++i) {
      const GENERAL_NAME* base = sk_GENERAL_SUBTREE_value(nc->excludedSubtrees, i)->base;
      if (base->type == GEN_DNS && dns_within(hostname, ia5(base->d.dNSName)))
        why = fmt::format("inside the excluded subtree '{}'", printable(ia5(base->d.dNSName)));
    }
    if (!why.empty())
      return {{0, "name-constraints",
               fmt::format("the host name '{}' is {} of {}", printable(hostname), why, subject_of(path[depth]))}};
  }
  return {};
}

std::vector<Issue> extra_checks(const std::vector<X509*>& path, const VerifyPolicy& policy) {
  std::vector<Issue> out;
  auto add = [&out](std::vector<Issue> found) {
    for (auto& i : found) out.push_back(std::move(i));
  };
  for (std::size_t i = 0; i < path.size(); ++i) {
    X509* cert = path[i];
    const int depth = static_cast<int>(i);
    const bool last = i + 1 == path.size();
    // An anchor is trusted as configured (old roots with odd serials exist), unless it is the leaf.
    if (!last || i == 0) add(check_serial(cert, depth));
    add(check_key_identifiers(cert, depth, last, policy.web_pki));
    add(check_extensions(cert, depth, policy.web_pki));
    add(check_names(cert, depth));
    add(check_public_key(cert, depth, policy));
    if (last && path.size() > 1) add(check_root_profile(cert, depth, policy));
  }
  // A leaf trusted directly (a pinned self-signed certificate) is not held to the subscriber rules.
  if (path.size() > 1) add(check_leaf_profile(path.front(), policy));
  if (path.size() > 1) add(check_common_name(path.front(), policy));
  if (policy.hostname) add(check_peer_name_constraints(path, *policy.hostname));
  return out;
}

}  // namespace applctl::verify_detail
