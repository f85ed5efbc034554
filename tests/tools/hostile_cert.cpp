// A certificate the openssl CLI cannot write: a common name of any ASN.1 string type holding any
// bytes (a T61String, a BMPString, a UTF8String that is not UTF-8) and dNSName SANs holding any
// bytes (a newline, ESC). For the CLI tests of hostile certificate text (tests/cli/test_hostile.cpp).
//
// Usage: hostile_cert OUT.pem TYPE CN_HEX [SAN_HEX ...]
//   TYPE: utf8 | t61 | bmp | printable | ia5; CN_HEX and SAN_HEX: the bytes in hex ("" none)
// Writes a self-signed EC P-256 certificate (a leaf, 30 days) and its private key, PEM.
#include <cstdio>
#include <cstring>
#include <string>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace {

std::string unhex(const char* h) {
  std::string out;
  for (std::size_t i = 0; h[i] != '\0' && h[i + 1] != '\0'; i += 2) {
    char pair[3] = {h[i], h[i + 1], 0};
    out += static_cast<char>(std::strtoul(pair, nullptr, 16));
  }
  return out;
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "hostile_cert: %s failed\n", what);
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: hostile_cert OUT.pem TYPE CN_HEX [SAN_HEX ...]\n");
    return 2;
  }
  const std::string type = argv[2];
  const std::string cn = unhex(argv[3]);
  int asn1_type = V_ASN1_UTF8STRING;
  if (type == "t61") asn1_type = V_ASN1_T61STRING;
  else if (type == "bmp") asn1_type = V_ASN1_BMPSTRING;
  else if (type == "printable") asn1_type = V_ASN1_PRINTABLESTRING;
  else if (type == "ia5") asn1_type = V_ASN1_IA5STRING;
  else if (type != "utf8") die("TYPE");

  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) die("EVP_EC_gen");
  X509* x = X509_new();
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Hostile Test"), -1, -1, 0);
  // A type that is not an MBSTRING_* flag makes OpenSSL take the bytes as they are, under that tag.
  if (!cn.empty() && X509_NAME_add_entry_by_NID(name, NID_commonName, asn1_type,
                                                reinterpret_cast<const unsigned char*>(cn.data()),
                                                static_cast<int>(cn.size()), -1, 0) != 1)
    die("X509_NAME_add_entry_by_NID");
  X509_set_issuer_name(x, name);
  if (argc > 4) {
    GENERAL_NAMES* gens = GENERAL_NAMES_new();
    for (int i = 4; i < argc; ++i) {
      const std::string v = unhex(argv[i]);
      ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
      ASN1_STRING_set(ia5, v.data(), static_cast<int>(v.size()));
      GENERAL_NAME* gen = GENERAL_NAME_new();
      GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
      sk_GENERAL_NAME_push(gens, gen);
    }
    if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1) die("X509_add1_ext_i2d");
    GENERAL_NAMES_free(gens);
  }
  if (X509_sign(x, key, EVP_sha256()) == 0) die("X509_sign");
  FILE* f = std::fopen(argv[1], "w");
  if (f == nullptr) die("fopen");
  if (PEM_write_X509(f, x) != 1 || PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    die("PEM_write");
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
  return 0;
}
