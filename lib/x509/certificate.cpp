// Certificate and request inspection: the fields `cert show` and `csr show` print (see
// applctl/x509/certificate.hpp; building is certificate_build.cpp).
#include "applctl/x509/certificate.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "base/ossl.hpp"
#include "x509/util.hpp"

namespace applctl {

std::string_view role_name(Role r) {
  switch (r) {
    case Role::Leaf: return "leaf";
    case Role::Intermediate: return "intermediate";
    case Role::Root: return "root";
  }
  return "leaf";
}

Role parse_role(std::string_view s) {
  if (s == "root") return Role::Root;
  if (s == "intermediate") return Role::Intermediate;
  return Role::Leaf;
}

namespace {

std::string name_hash(const X509_NAME* name) {
  const unsigned char* der = nullptr;
  std::size_t len = 0;
  if (X509_NAME_get0_der(const_cast<X509_NAME*>(name), &der, &len) != 1) ossl::raise("X509_NAME_get0_der");
  return sha256_hex({der, len});
}

std::string serial_hex(const ASN1_INTEGER* serial) {
  ossl::BignumPtr bn(ossl::check_ptr(ASN1_INTEGER_to_BN(serial, nullptr), "ASN1_INTEGER_to_BN", ErrorKind::BadInput));
  ossl::OsslString text(ossl::check_ptr(BN_bn2hex(bn.get()), "BN_bn2hex"));
  std::string_view digits(text.get());
  const bool negative = !digits.empty() && digits.front() == '-';
  if (negative) digits.remove_prefix(1);
  auto start = digits.find_first_not_of('0');
  digits = start == std::string_view::npos ? std::string_view("0") : digits.substr(start);
  std::string out;
  out.reserve(digits.size() + 1);
  if (negative) out.push_back('-');
  for (char c : digits) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

bool weak_digest(int md_nid) {
  return md_nid == NID_sha1 || md_nid == NID_md5 || md_nid == NID_md5_sha1 || md_nid == NID_md4 ||
         md_nid == NID_md2;
}

std::vector<Warning> static_warnings(const CertInfo& c, int md_nid) {
  std::vector<Warning> out;
  if (c.role == Role::Leaf) {
    if (c.self_signed)
      out.push_back({"self-signed", "not signed by a CA: browsers and clients will warn that the site is untrusted"});
    if (c.alt_names.empty())
      out.push_back({"no-san", "no subject alternative names: clients ignore the common name"});
    if (std::any_of(c.alt_names.begin(), c.alt_names.end(), [](auto& n) { return n.starts_with("IP:"); }))
      out.push_back({"ip-san", "has an IP address SAN: DNS names are recommended"});
    if (!c.alt_names.empty() && is_dns_name(c.subject_cn)) {
      std::string cn = c.subject_cn;
      std::transform(cn.begin(), cn.end(), cn.begin(), [](unsigned char ch) { return std::tolower(ch); });
      if (c.alt_names.front() != "DNS:" + cn)
        out.push_back({"cn-not-first-san", fmt::format("the common name '{}' is not the first SAN", c.subject_cn)});
    }
  }
  if (c.public_key.weak())
    out.push_back({"weak-key", fmt::format("weak key: {} {} bits", c.public_key.type, c.public_key.bits)});
  if (c.role != Role::Root && weak_digest(md_nid))
    out.push_back({"weak-signature", fmt::format("weak signature algorithm: {}", c.signature_algorithm)});
  return out;
}

}  // namespace

CertInfo inspect_certificate(BytesView der) {
  auto x = ossl::x509_from_der(der, "d2i_X509");
  X509* c = x.get();
  CertInfo info;
  info.fingerprint_sha256 = sha256_hex(der);
  const X509_NAME* subject = X509_get_subject_name(c);
  const X509_NAME* issuer = X509_get_issuer_name(c);
  info.subject = x509util::rfc4514(subject);
  info.issuer = x509util::rfc4514(issuer);
  info.subject_cn = x509util::common_name(subject);
  info.issued_to = info.subject_cn.empty() ? info.subject : info.subject_cn;
  std::string issuer_cn = x509util::common_name(issuer);
  info.issued_by = issuer_cn.empty() ? info.issuer : issuer_cn;
  info.serial = serial_hex(X509_get0_serialNumber(c));
  info.not_before = x509util::to_unix(X509_get0_notBefore(c));
  info.not_after = x509util::to_unix(X509_get0_notAfter(c));

  int crit = 0;
  ossl::GeneralNamesPtr gens(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(c, NID_subject_alt_name, &crit, nullptr)));
  info.has_san_extension = crit >= 0;
  if (gens) info.alt_names = x509util::alt_names(gens.get());
  // An empty subject (allowed when the SAN extension is critical) is shown by its first SAN.
  if (info.issued_to.empty() && !info.alt_names.empty()) {
    const std::string& first = info.alt_names.front();
    info.issued_to = first.substr(first.find(':') + 1);
  }

  int sig_nid = X509_get_signature_nid(c);
  info.signature_algorithm = sig_nid != NID_undef ? OBJ_nid2ln(sig_nid) : "unknown";
  int md_nid = NID_undef;
  if (X509_get_signature_info(c, &md_nid, nullptr, nullptr, nullptr) != 1) ERR_clear_error();

  EVP_PKEY* pub = X509_get0_pubkey(c);
  if (pub == nullptr) ossl::raise("X509_get0_pubkey", ErrorKind::BadInput);
  info.public_key = key_info(pub);
  info.spki_sha256 = spki_sha256(pub);
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(c))
    info.subject_key_id = hex({ASN1_STRING_get0_data(ski), static_cast<std::size_t>(ASN1_STRING_length(ski))});
  if (const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(c))
    info.authority_key_id = hex({ASN1_STRING_get0_data(aki), static_cast<std::size_t>(ASN1_STRING_length(aki))});
  info.subject_hash = name_hash(subject);
  info.issuer_hash = name_hash(issuer);

  info.self_issued = X509_NAME_cmp(subject, issuer) == 0;
  info.self_signed = info.self_issued && X509_verify(c, pub) == 1;
  ERR_clear_error();
  const bool v1 = X509_get_version(c) == X509_VERSION_1;
  info.is_ca = (X509_get_extension_flags(c) & EXFLAG_CA) != 0 || (v1 && info.self_signed);
  info.role = !info.is_ca ? Role::Leaf : info.self_signed ? Role::Root : Role::Intermediate;
  info.static_warnings = static_warnings(info, md_nid);
  return info;
}

CsrInfo inspect_csr(BytesView der) {
  auto req = ossl::req_from_der(der, "d2i_X509_REQ");
  CsrInfo info;
  info.subject = x509util::rfc4514(X509_REQ_get_subject_name(req.get()));
  if (STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req.get())) {
    auto free_exts = [](STACK_OF(X509_EXTENSION) * s) { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); };
    std::unique_ptr<STACK_OF(X509_EXTENSION), decltype(free_exts)> owned(exts, free_exts);
    ossl::GeneralNamesPtr gens(static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts, NID_subject_alt_name, nullptr, nullptr)));
    if (gens) info.alt_names = x509util::alt_names(gens.get());
  }
  ERR_clear_error();
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
  if (pub == nullptr) ossl::raise("X509_REQ_get0_pubkey", ErrorKind::BadInput);
  info.public_key = key_info(pub);
  info.spki_sha256 = spki_sha256(pub);
  int sig_nid = X509_REQ_get_signature_nid(req.get());
  info.signature_algorithm = sig_nid != NID_undef ? OBJ_nid2ln(sig_nid) : "unknown";
  info.signature_valid = X509_REQ_verify(req.get(), pub) == 1;
  ERR_clear_error();
  return info;
}

std::string pem_encode(BytesView der, std::string_view label) {
  auto bio = ossl::new_mem_bio();
  std::string name(label);
  ossl::check(PEM_write_bio(bio.get(), name.c_str(), "", der.data(), static_cast<long>(der.size())), "PEM_write_bio");
  return to_string(ossl::bio_bytes(bio.get()));
}

}  // namespace applctl
