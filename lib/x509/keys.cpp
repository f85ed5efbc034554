// Key specs, key generation and the private key value type (see applctl/x509/keys.hpp).
#include "applctl/x509/keys.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>

#include "base/ossl.hpp"

namespace applctl {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

[[noreturn]] void bad_spec(std::string_view text, std::string_view why) {
  fail(ErrorKind::BadInput, fmt::format("invalid key spec '{}': {}", text, why),
       "use rsa:2048, rsa:3072, rsa:4096, ec:P-256, ec:P-384 or ed25519");
}

}  // namespace

KeySpec KeySpec::parse(std::string_view text) {
  std::string t = lower(text);
  if (t == "ed25519") return {KeyType::ED25519, 256, {}};
  auto colon = t.find(':');
  if (colon == std::string::npos) bad_spec(text, "expected TYPE:PARAMETER");
  std::string type = t.substr(0, colon), param = t.substr(colon + 1);
  if (type == "rsa") {
    int bits = 0;
    auto [ptr, ec] = std::from_chars(param.data(), param.data() + param.size(), bits);
    if (ec != std::errc() || ptr != param.data() + param.size()) bad_spec(text, "RSA size is not a number");
    if (bits < 2048) bad_spec(text, "RSA keys below 2048 bits are refused");
    if (bits != 2048 && bits != 3072 && bits != 4096) bad_spec(text, "RSA size must be 2048, 3072 or 4096");
    return {KeyType::RSA, bits, {}};
  }
  if (type == "ec") {
    if (param == "p-256" || param == "prime256v1" || param == "secp256r1") return {KeyType::EC, 256, "P-256"};
    if (param == "p-384" || param == "secp384r1") return {KeyType::EC, 384, "P-384"};
    bad_spec(text, "EC curve must be P-256 or P-384");
  }
  bad_spec(text, fmt::format("unknown key type '{}'", type));
}

std::string KeySpec::str() const {
  switch (type) {
    case KeyType::RSA: return fmt::format("rsa:{}", bits);
    case KeyType::EC: return "ec:" + curve;
    case KeyType::ED25519: return "ed25519";
  }
  return {};
}

bool KeyInfo::weak() const {
  if (type == "RSA") return bits < 2048;
  if (type == "EC") return bits < 256;
  return false;
}

std::string KeyInfo::spec() const {
  if (type == "RSA") return fmt::format("rsa:{}", bits);
  if (type == "EC") return curve.empty() ? fmt::format("ec:{}", bits) : "ec:" + curve;
  if (type == "ED25519") return "ed25519";
  return fmt::format("{}:{}", lower(type), bits);
}

KeyInfo key_info(const EVP_PKEY* pkey) {
  KeyInfo info;
  info.bits = EVP_PKEY_get_bits(pkey);
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS: info.type = "RSA"; break;
    case EVP_PKEY_EC: {
      info.type = "EC";
      char group[64] = {};
      std::size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) == 1) {
        int nid = OBJ_sn2nid(group);
        const char* nist = nid != NID_undef ? EC_curve_nid2nist(nid) : nullptr;
        info.curve = nist != nullptr ? nist : group;
      }
      break;
    }
    case EVP_PKEY_ED25519: info.type = "ED25519"; break;
    case EVP_PKEY_ED448: info.type = "ED448"; break;
    case EVP_PKEY_DSA: info.type = "DSA"; break;
    default: info.type = "UNKNOWN"; break;
  }
  return info;
}

PrivateKey::PrivateKey(EVP_PKEY* owned) : pkey_(owned, EVP_PKEY_free) {
  if (owned == nullptr) throw Error(ErrorKind::Failed, "PrivateKey: null key");
}

PrivateKey PrivateKey::generate(const KeySpec& spec) {
  switch (spec.type) {
    case KeyType::RSA:
      return PrivateKey(ossl::check_ptr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(spec.bits)),
                                        "EVP_PKEY_Q_keygen(RSA)"));
    case KeyType::EC:
      return PrivateKey(
          ossl::check_ptr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", spec.curve.c_str()), "EVP_PKEY_Q_keygen(EC)"));
    case KeyType::ED25519:
      return PrivateKey(ossl::check_ptr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), "EVP_PKEY_Q_keygen(ED25519)"));
  }
  throw Error(ErrorKind::Failed, "unknown key type");
}

PrivateKey PrivateKey::from_pkcs8_der(BytesView der) {
  const unsigned char* p = der.data();
  ossl::Pkcs8Ptr p8(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size())));
  if (!p8) ossl::raise("d2i_PKCS8_PRIV_KEY_INFO", ErrorKind::BadInput);
  return PrivateKey(ossl::check_ptr(EVP_PKCS82PKEY(p8.get()), "EVP_PKCS82PKEY", ErrorKind::BadInput));
}

Bytes PrivateKey::pkcs8_der() const {
  ossl::Pkcs8Ptr p8(ossl::check_ptr(EVP_PKEY2PKCS8(pkey_.get()), "EVP_PKEY2PKCS8"));
  return ossl::to_der(p8.get(), i2d_PKCS8_PRIV_KEY_INFO, "i2d_PKCS8_PRIV_KEY_INFO");
}

Bytes PrivateKey::spki_der() const { return ossl::to_der(pkey_.get(), i2d_PUBKEY, "i2d_PUBKEY"); }

std::string PrivateKey::spki_sha256() const {
  if (!spki_sha256_) spki_sha256_ = std::make_shared<const std::string>(sha256_hex(spki_der()));
  return *spki_sha256_;
}

void PrivateKey::remember_spki(const X509_PUBKEY* encoded_from_this_key) const {
  spki_sha256_ = std::make_shared<const std::string>(applctl::spki_sha256(encoded_from_this_key));
}

KeyInfo PrivateKey::info() const { return key_info(pkey_.get()); }

std::string spki_sha256(EVP_PKEY* pkey) { return sha256_hex(ossl::to_der(pkey, i2d_PUBKEY, "i2d_PUBKEY")); }

std::string spki_sha256(const X509_PUBKEY* spki) {
  return sha256_hex(ossl::to_der(spki, i2d_X509_PUBKEY, "i2d_X509_PUBKEY"));
}

}  // namespace applctl
