// Building new certificates and requests from a key, a subject and SANs.
#include <fmt/format.h>
#include <openssl/rand.h>

#include "applctl/x509/certificate.hpp"
#include "base/ossl.hpp"
#include "x509/util.hpp"

namespace applctl {

namespace {

ossl::X509NamePtr make_name(const Subject& s) {
  ossl::X509NamePtr name(ossl::check_ptr(X509_NAME_new(), "X509_NAME_new"));
  auto add = [&](const char* field, const std::string& value) {
    if (value.empty()) return;
    ossl::check(X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                           reinterpret_cast<const unsigned char*>(value.data()),
                                           static_cast<int>(value.size()), -1, 0),
                fmt::format("X509_NAME_add_entry_by_txt({})", field), ErrorKind::BadInput);
  };
  add("C", s.country);
  add("ST", s.state);
  add("L", s.locality);
  add("O", s.org);
  add("OU", s.ou);
  add("CN", s.cn);
  return name;
}

std::vector<std::string> san_strings(const std::vector<San>& sans) {
  std::vector<std::string> out;
  out.reserve(sans.size());
  for (const auto& s : sans) out.push_back(s.str());
  return out;
}

// Ed25519 signs without a separate digest; everything else is SHA-256.
const EVP_MD* digest_for(const PrivateKey& key) {
  return EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
}

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ossl::X509ExtPtr ext(ossl::check_ptr(X509V3_EXT_conf_nid(nullptr, ctx, nid, value), "X509V3_EXT_conf_nid"));
  ossl::check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

void require_subject(const Subject& s, const std::vector<San>& sans) {
  if (s.empty() && sans.empty())
    fail(ErrorKind::BadInput, "the subject is empty and there are no SANs",
         "give at least --cn NAME or --san NAME");
}

}  // namespace

std::string subject_rfc4514(const Subject& s) { return x509util::rfc4514(make_name(s).get()); }

namespace {

// The certificate make_self_signed and reissue_self_signed build: name as subject and issuer,
// valid from start for `seconds`, the leaf extensions, the SAN extension when given.
Bytes sign_self_signed(const PrivateKey& key, const X509_NAME* name, const X509_EXTENSION* san, time_t start,
                       long seconds) {
  ossl::X509Ptr cert(ossl::check_ptr(X509_new(), "X509_new"));
  X509* x = cert.get();
  ossl::check(X509_set_version(x, X509_VERSION_3), "X509_set_version");

  // A random positive 128-bit serial (CA/B Forum asks for at least 64 bits of randomness).
  ossl::BignumPtr bn(ossl::check_ptr(BN_new(), "BN_new"));
  ossl::check(BN_rand(bn.get(), 128, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY), "BN_rand");
  ossl::Asn1IntegerPtr serial(ossl::check_ptr(BN_to_ASN1_INTEGER(bn.get(), nullptr), "BN_to_ASN1_INTEGER"));
  ossl::check(X509_set_serialNumber(x, serial.get()), "X509_set_serialNumber");

  ossl::check(X509_set_subject_name(x, name), "X509_set_subject_name");
  ossl::check(X509_set_issuer_name(x, name), "X509_set_issuer_name");

  ossl::check_ptr(X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &start), "X509_time_adj_ex(notBefore)");
  ossl::check_ptr(X509_time_adj_ex(X509_getm_notAfter(x), 0, seconds, &start), "X509_time_adj_ex(notAfter)");
  ossl::check(X509_set_pubkey(x, key.get()), "X509_set_pubkey");
  key.remember_spki(X509_get_X509_PUBKEY(x));

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
  const bool rsa = EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA;
  add_ext(x, &ctx, NID_key_usage, rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature");
  add_ext(x, &ctx, NID_ext_key_usage, "serverAuth,clientAuth");
  add_ext(x, &ctx, NID_subject_key_identifier, "hash");
  add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
  if (san != nullptr) ossl::check(X509_add_ext(x, const_cast<X509_EXTENSION*>(san), -1), "X509_add_ext(subjectAltName)");
  if (X509_sign(x, key.get(), digest_for(key)) <= 0) ossl::raise("X509_sign");
  return ossl::to_der(x, i2d_X509, "i2d_X509");
}

// The subjectAltName extension of a certificate (borrowed), or null.
const X509_EXTENSION* san_extension(const X509* x) {
  int idx = X509_get_ext_by_NID(x, NID_subject_alt_name, -1);
  return idx < 0 ? nullptr : X509_get_ext(x, idx);
}

}  // namespace

Bytes make_self_signed(const PrivateKey& key, const NewCertificate& spec) {
  require_subject(spec.subject, spec.sans);
  if (spec.days < 1 || spec.days > 36500)
    fail(ErrorKind::BadInput, fmt::format("invalid --days {}: must be 1 to 36500", spec.days));
  auto name = make_name(spec.subject);
  ossl::X509ExtPtr san;
  if (!spec.sans.empty()) {
    ossl::GeneralNamesPtr gens(x509util::make_general_names(san_strings(spec.sans)));
    san.reset(ossl::check_ptr(X509V3_EXT_i2d(NID_subject_alt_name, spec.subject.cn.empty() ? 1 : 0, gens.get()),
                              "X509V3_EXT_i2d(subjectAltName)"));
  }
  time_t start = static_cast<time_t>(spec.not_before != 0 ? spec.not_before : now());
  return sign_self_signed(key, name.get(), san.get(), start, static_cast<long>(spec.days) * 86400);
}

Bytes reissue_self_signed(const PrivateKey& key, BytesView old_der, UnixTime not_before, std::int64_t lifetime) {
  if (lifetime < 1) fail(ErrorKind::BadInput, "the certificate to re-issue has no lifetime (not after <= not before)");
  ossl::X509Ptr old = ossl::x509_from_der(old_der, "the certificate to re-issue");
  return sign_self_signed(key, X509_get_subject_name(old.get()), san_extension(old.get()),
                          static_cast<time_t>(not_before), static_cast<long>(lifetime));
}

NewCsr build_csr(const PrivateKey& key, const Subject& subject, const std::vector<San>& sans) {
  require_subject(subject, sans);
  ossl::X509ReqPtr req(ossl::check_ptr(X509_REQ_new(), "X509_REQ_new"));
  ossl::check(X509_REQ_set_version(req.get(), X509_REQ_VERSION_1), "X509_REQ_set_version");
  auto name = make_name(subject);
  ossl::check(X509_REQ_set_subject_name(req.get(), name.get()), "X509_REQ_set_subject_name");
  ossl::check(X509_REQ_set_pubkey(req.get(), key.get()), "X509_REQ_set_pubkey");
  key.remember_spki(X509_REQ_get_X509_PUBKEY(req.get()));
  if (!sans.empty()) {
    auto free_exts = [](STACK_OF(X509_EXTENSION) * s) { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); };
    std::unique_ptr<STACK_OF(X509_EXTENSION), decltype(free_exts)> exts(
        ossl::check_ptr(sk_X509_EXTENSION_new_null(), "sk_X509_EXTENSION_new_null"), free_exts);
    ossl::GeneralNamesPtr gens(x509util::make_general_names(san_strings(sans)));
    ossl::X509ExtPtr ext(ossl::check_ptr(X509V3_EXT_i2d(NID_subject_alt_name, 0, gens.get()), "X509V3_EXT_i2d"));
    ossl::check(sk_X509_EXTENSION_push(exts.get(), ext.get()), "sk_X509_EXTENSION_push");
    ext.release();
    ossl::check(X509_REQ_add_extensions(req.get(), exts.get()), "X509_REQ_add_extensions");
  }
  if (X509_REQ_sign(req.get(), key.get(), digest_for(key)) <= 0) ossl::raise("X509_REQ_sign");
  NewCsr out;
  out.der = ossl::to_der(req.get(), i2d_X509_REQ, "i2d_X509_REQ");
  out.info.subject = x509util::rfc4514(X509_REQ_get_subject_name(req.get()));
  out.info.alt_names = san_strings(sans);
  out.info.spki_sha256 = key.spki_sha256();
  out.info.public_key = key.info();
  out.info.signature_algorithm = OBJ_nid2ln(X509_REQ_get_signature_nid(req.get()));
  out.info.signature_valid = true;
  return out;
}

NewCsr build_renewal_csr(const PrivateKey& key, BytesView old_der) {
  ossl::X509Ptr old = ossl::x509_from_der(old_der, "the certificate to renew");
  ossl::X509ReqPtr req(ossl::check_ptr(X509_REQ_new(), "X509_REQ_new"));
  ossl::check(X509_REQ_set_version(req.get(), X509_REQ_VERSION_1), "X509_REQ_set_version");
  ossl::check(X509_REQ_set_subject_name(req.get(), X509_get_subject_name(old.get())), "X509_REQ_set_subject_name");
  ossl::check(X509_REQ_set_pubkey(req.get(), key.get()), "X509_REQ_set_pubkey");
  key.remember_spki(X509_REQ_get_X509_PUBKEY(req.get()));
  std::vector<std::string> alt_names;
  if (const X509_EXTENSION* san = san_extension(old.get())) {
    auto free_exts = [](STACK_OF(X509_EXTENSION) * s) { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); };
    std::unique_ptr<STACK_OF(X509_EXTENSION), decltype(free_exts)> exts(
        ossl::check_ptr(sk_X509_EXTENSION_new_null(), "sk_X509_EXTENSION_new_null"), free_exts);
    ossl::X509ExtPtr ext(ossl::check_ptr(X509_EXTENSION_dup(san), "X509_EXTENSION_dup"));
    ossl::check(sk_X509_EXTENSION_push(exts.get(), ext.get()), "sk_X509_EXTENSION_push");
    ext.release();
    ossl::check(X509_REQ_add_extensions(req.get(), exts.get()), "X509_REQ_add_extensions");
    ossl::GeneralNamesPtr gens(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(const_cast<X509_EXTENSION*>(san))));
    if (gens) alt_names = x509util::alt_names(gens.get());
  }
  if (X509_REQ_sign(req.get(), key.get(), digest_for(key)) <= 0) ossl::raise("X509_REQ_sign");
  NewCsr out;
  out.der = ossl::to_der(req.get(), i2d_X509_REQ, "i2d_X509_REQ");
  out.info.subject = x509util::rfc4514(X509_REQ_get_subject_name(req.get()));
  out.info.alt_names = std::move(alt_names);
  out.info.spki_sha256 = key.spki_sha256();
  out.info.public_key = key.info();
  out.info.signature_algorithm = OBJ_nid2ln(X509_REQ_get_signature_nid(req.get()));
  out.info.signature_valid = true;
  return out;
}

}  // namespace applctl
