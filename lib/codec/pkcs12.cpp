// PKCS#12 in and out. Reading walks the bags itself (rather than PKCS12_parse) so that it can see
// which algorithms the file uses (and load the legacy provider only then), keep the input order,
// and tell "wrong passphrase" from "key does not match its certificate".
#include <optional>

#include <fmt/format.h>

#include "codec/internal.hpp"

namespace applctl::codec {
namespace {

inline void free_pkcs7_stack(STACK_OF(PKCS7) * s) { sk_PKCS7_pop_free(s, PKCS7_free); }
using Pkcs7StackPtr = std::unique_ptr<STACK_OF(PKCS7), ossl::Free<free_pkcs7_stack>>;
inline void free_bag_stack(STACK_OF(PKCS12_SAFEBAG) * s) { sk_PKCS12_SAFEBAG_pop_free(s, PKCS12_SAFEBAG_free); }
using SafebagStackPtr = std::unique_ptr<STACK_OF(PKCS12_SAFEBAG), ossl::Free<free_bag_stack>>;

// One password candidate: OpenSSL distinguishes "no password" (nullptr) from "" (two zero bytes
// once converted to BMPString), and tools write both.
struct Password {
  const char* data;
  int len;
};

struct Contents {
  struct Cert {
    Bytes der;
    ossl::X509Ptr x;
    Bytes key_id;  // localKeyID attribute, empty when absent
    std::string friendly_name;
  };
  struct Key {
    ossl::PkeyPtr pkey;
    Bytes key_id;
  };
  std::vector<Cert> certs;
  std::vector<Key> keys;
  bool legacy = false;
};

// PKCS#12 v1 PBE algorithms whose cipher lives in OpenSSL 3's `legacy` provider (3DES does not).
bool needs_legacy_provider(int nid) {
  switch (nid) {
    case NID_pbe_WithSHA1And128BitRC4:
    case NID_pbe_WithSHA1And40BitRC4:
    case NID_pbe_WithSHA1And128BitRC2_CBC:
    case NID_pbe_WithSHA1And40BitRC2_CBC:
    case NID_pbeWithMD2AndDES_CBC:
    case NID_pbeWithMD5AndDES_CBC:
    case NID_pbeWithSHA1AndDES_CBC:
    case NID_pbeWithMD2AndRC2_CBC:
    case NID_pbeWithMD5AndRC2_CBC:
    case NID_pbeWithSHA1AndRC2_CBC:
      return true;
    default:
      return false;
  }
}

Bytes local_key_id(const PKCS12_SAFEBAG* bag) {
  const ASN1_TYPE* t = PKCS12_SAFEBAG_get0_attr(bag, NID_localKeyID);
  if (t == nullptr || t->type != V_ASN1_OCTET_STRING || t->value.octet_string == nullptr) return {};
  const ASN1_OCTET_STRING* s = t->value.octet_string;
  return Bytes(ASN1_STRING_get0_data(s), ASN1_STRING_get0_data(s) + ASN1_STRING_length(s));
}

class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}

  // Reads every bag with this password; false when something did not decrypt with it.
  bool read(PKCS12* p12, Password pw, Contents& c) {
    Pkcs7StackPtr safes(PKCS12_unpack_authsafes(p12));
    if (!safes) bad_input(source_, fmt::format("invalid PKCS#12 contents: {}", ErrorQueue::drain().text));
    for (int i = 0; i < sk_PKCS7_num(safes.get()); ++i) {
      PKCS7* p7 = sk_PKCS7_value(safes.get(), i);
      int nid = OBJ_obj2nid(p7->type);
      SafebagStackPtr bags;
      if (nid == NID_pkcs7_data) {
        bags.reset(PKCS12_unpack_p7data(p7));
        if (!bags) bad_input(source_, fmt::format("invalid PKCS#12 contents: {}", ErrorQueue::drain().text));
      } else if (nid == NID_pkcs7_encrypted) {
        if (p7->d.encrypted != nullptr && p7->d.encrypted->enc_data != nullptr)
          note_algorithm(p7->d.encrypted->enc_data->algorithm, c);
        ErrorQueue queue;
        bags = retry_with_legacy([&] { return SafebagStackPtr(PKCS12_unpack_p7encdata(p7, pw.data, pw.len)); }, queue);
        if (!bags) return failed(queue, "certificates");
      } else {
        bad_input(source_, fmt::format("PKCS#12 contents of type '{}' are not supported", OBJ_nid2ln(nid)),
                  "public-key protected PKCS#12 files cannot be read; export with a passphrase");
      }
      if (!read_bags(bags.get(), pw, c, 0)) return false;
    }
    return true;
  }

 private:
  const std::string& source_;

  void note_algorithm(const X509_ALGOR* alg, Contents& c) {
    const ASN1_OBJECT* obj = nullptr;
    X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
    int nid = OBJ_obj2nid(obj);
    if (nid != NID_pbes2) c.legacy = true;
    if (needs_legacy_provider(nid)) load_legacy_provider();  // a failure shows when decrypting
  }

  bool failed(const ErrorQueue& queue, std::string_view what) {
    if (queue.unsupported)
      bad_input(source_, fmt::format("unsupported algorithm protecting the PKCS#12 {}: {}", what, queue.text),
                "OpenSSL's legacy provider (ossl-modules/legacy.so) is needed for RC2/RC4/DES");
    return false;
  }

  bool read_bags(const STACK_OF(PKCS12_SAFEBAG) * bags, Password pw, Contents& c, int depth) {
    for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags); ++i) {
      const PKCS12_SAFEBAG* bag = sk_PKCS12_SAFEBAG_value(bags, i);
      switch (PKCS12_SAFEBAG_get_nid(bag)) {
        case NID_keyBag: {
          ossl::PkeyPtr key(EVP_PKCS82PKEY_ex(PKCS12_SAFEBAG_get0_p8inf(bag), nullptr, nullptr));
          if (!key) bad_input(source_, fmt::format("invalid private key in the PKCS#12: {}", ErrorQueue::drain().text));
          c.keys.push_back({std::move(key), local_key_id(bag)});
          break;
        }
        case NID_pkcs8ShroudedKeyBag: {
          const X509_ALGOR* alg = nullptr;
          X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &alg, nullptr);
          if (alg != nullptr) note_algorithm(alg, c);
          ErrorQueue queue;
          auto p8 = retry_with_legacy(
              [&] { return ossl::Pkcs8Ptr(PKCS12_decrypt_skey_ex(bag, pw.data, pw.len, nullptr, nullptr)); }, queue);
          if (!p8) return failed(queue, "private key");
          ossl::PkeyPtr key(EVP_PKCS82PKEY_ex(p8.get(), nullptr, nullptr));
          if (!key) bad_input(source_, fmt::format("invalid private key in the PKCS#12: {}", ErrorQueue::drain().text));
          c.keys.push_back({std::move(key), local_key_id(bag)});
          break;
        }
        case NID_certBag: {
          if (PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate) break;  // SDSI certificates
          ossl::X509Ptr x(PKCS12_SAFEBAG_get1_cert(bag));
          if (!x) bad_input(source_, fmt::format("invalid certificate in the PKCS#12: {}", ErrorQueue::drain().text));
          Bytes der = ossl::to_der(x.get(), i2d_X509, "i2d_X509");
          std::string friendly;
          if (char* utf8 = PKCS12_get_friendlyname(const_cast<PKCS12_SAFEBAG*>(bag))) {
            friendly = utf8;
            OPENSSL_free(utf8);
          }
          ERR_clear_error();
          c.certs.push_back({std::move(der), std::move(x), local_key_id(bag), std::move(friendly)});
          break;
        }
        case NID_safeContentsBag:
          if (depth >= 8) bad_input(source_, "PKCS#12 bags nested too deeply");
          if (!read_bags(PKCS12_SAFEBAG_get0_safes(bag), pw, c, depth + 1)) return false;
          break;
        default:
          break;  // CRL and secret bags carry nothing we import
      }
    }
    return true;
  }
};

bool key_matches(const ossl::X509Ptr& x, const ossl::PkeyPtr& key) {
  return same_public_key(X509_get0_pubkey(x.get()), key.get());
}

// The index of the first key's certificate; throws when a key and the certificate it is paired
// with (same localKeyID, or else the only candidates there are) have different public keys.
std::optional<std::size_t> end_entity(const Contents& c, const std::string& source) {
  constexpr std::string_view hint = "the file pairs a private key with another key's certificate; ask for a new file";
  std::optional<std::size_t> ee;
  for (std::size_t k = 0; k < c.keys.size(); ++k) {
    if (c.keys[k].key_id.empty()) continue;
    for (std::size_t i = 0; i < c.certs.size(); ++i) {
      if (c.certs[i].key_id != c.keys[k].key_id) continue;
      if (!key_matches(c.certs[i].x, c.keys[k].pkey)) bad_input(source, "key does not match its certificate", std::string(hint));
      if (k == 0 && !ee) ee = i;
    }
  }
  if (!ee && !c.keys.empty() && !c.certs.empty()) {
    for (std::size_t i = 0; i < c.certs.size() && !ee; ++i)
      if (key_matches(c.certs[i].x, c.keys[0].pkey)) ee = i;
    if (!ee)
      bad_input(source, "key does not match its certificate (no certificate in the file has its public key)",
                std::string(hint));
  }
  return ee;
}

bool verify_mac_quietly(PKCS12* p12, Password pw) {
  ERR_set_mark();
  bool ok = PKCS12_verify_mac(p12, pw.data, pw.len) == 1;
  ERR_pop_to_mark();
  return ok;
}

}  // namespace

void decode_pkcs12(PKCS12* p12, const std::string& source, Passphrase& pass, Decoded& out) {
  Reader reader(source);
  Contents c;
  constexpr Password no_password{nullptr, 0}, empty_password{"", 0};
  if (PKCS12_mac_present(p12) == 1) {
    // The MAC tells whether a password is right before anything is decrypted.
    std::optional<Password> pw;
    if (pass.given()) {
      const std::string& s = pass.get();
      if (Password given{s.data(), static_cast<int>(s.size())}; verify_mac_quietly(p12, given)) pw = given;
    }
    for (Password candidate : {no_password, empty_password})
      if (!pw && verify_mac_quietly(p12, candidate)) pw = candidate;
    if (!pw) {
      const std::string& s = pass.get();
      Password given{s.data(), static_cast<int>(s.size())};
      if (PKCS12_verify_mac(p12, given.data, given.len) != 1) {
        ErrorQueue queue = ErrorQueue::drain();
        if (!queue.text.empty()) bad_input(source, fmt::format("cannot check the PKCS#12 MAC: {}", queue.text));
        wrong_passphrase(source, "PKCS#12 MAC verification failed");
      }
      pw = given;
    }
    if (!reader.read(p12, *pw, c))
      bad_input(source, fmt::format("cannot decrypt the PKCS#12 contents with the password its MAC accepts: {}",
                                    ErrorQueue::drain().text));
  } else {
    // No MAC: the only test of a password is whether the contents decrypt.
    bool ok = false;
    for (Password candidate : {no_password, empty_password}) {
      if (ok) break;
      c = Contents{};
      ok = reader.read(p12, candidate, c);
      ERR_clear_error();
    }
    if (!ok) {
      const std::string& s = pass.get();
      c = Contents{};
      if (!reader.read(p12, {s.data(), static_cast<int>(s.size())}, c))
        wrong_passphrase(source, "cannot decrypt the PKCS#12 contents");
    }
  }

  out.legacy_pkcs12 = c.legacy;
  if (auto ee = end_entity(c, source)) {
    add_certificate(out, c.certs[*ee].der);
    out.friendly_name = c.certs[*ee].friendly_name;
  }
  for (auto& cert : c.certs) add_certificate(out, std::move(cert.der));
  for (auto& key : c.keys) add_key(out, std::move(key.pkey));
}

}  // namespace applctl::codec

namespace applctl {

Bytes encode_pkcs12(BytesView certificate_der, const PrivateKey& key, const std::vector<Bytes>& chain_der,
                    const std::string& friendly_name, const std::string& passphrase, bool legacy) {
  if (passphrase.empty())
    fail(ErrorKind::Usage, "a PKCS#12 needs a non-empty passphrase", "use --passphrase-file FILE or --passphrase-env VAR");
  ossl::X509Ptr cert = ossl::x509_from_der(certificate_der, "d2i_X509 (certificate)");
  if (!codec::same_public_key(X509_get0_pubkey(cert.get()), key.get()))
    fail(ErrorKind::BadInput, "cannot write PKCS#12: the private key does not match the certificate");
  ossl::X509StackPtr ca(ossl::check_ptr(sk_X509_new_null(), "sk_X509_new_null"));
  for (const Bytes& der : chain_der) {
    ossl::X509Ptr x = ossl::x509_from_der(der, "d2i_X509 (chain certificate)");
    ossl::check(sk_X509_push(ca.get(), x.get()), "sk_X509_push");
    x.release();  // the stack owns it now
  }
  if (legacy && !codec::load_legacy_provider())
    fail(ErrorKind::Failed, "cannot write a legacy PKCS#12: OpenSSL's legacy provider (RC2) is not available",
         "install OpenSSL's legacy provider module, or export without --legacy");

  // Default: what `openssl pkcs12 -export` of OpenSSL 3 writes (PBES2: PBKDF2-HMAC-SHA256 +
  // AES-256-CBC for key and certificates, HMAC-SHA-256 MAC). Legacy: what old Windows and Java
  // read (PBE-SHA1-3DES key, PBE-SHA1-RC2-40 certificates, SHA-1 MAC). Both with
  // PKCS12_DEFAULT_ITER (2048) iterations, like the openssl tool.
  int key_nid = legacy ? NID_pbe_WithSHA1And3_Key_TripleDES_CBC : NID_aes_256_cbc;
  int cert_nid = legacy ? NID_pbe_WithSHA1And40BitRC2_CBC : NID_aes_256_cbc;
  const char* name = friendly_name.empty() ? nullptr : friendly_name.c_str();
  // mac_iter -1: no MAC from PKCS12_create_ex (it would be SHA-1); set below with the right digest.
  ossl::Pkcs12Ptr p12(ossl::check_ptr(PKCS12_create_ex(passphrase.c_str(), name, key.get(), cert.get(), ca.get(),
                                                       key_nid, cert_nid, PKCS12_DEFAULT_ITER, -1, 0, nullptr, nullptr),
                                      "PKCS12_create_ex"));
  ossl::check(PKCS12_set_mac(p12.get(), passphrase.c_str(), static_cast<int>(passphrase.size()), nullptr, 0,
                             PKCS12_DEFAULT_ITER, legacy ? EVP_sha1() : EVP_sha256()),
              "PKCS12_set_mac");
  return ossl::to_der(p12.get(), i2d_PKCS12, "i2d_PKCS12");
}

}  // namespace applctl
