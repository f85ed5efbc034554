// Small X.509 readers shared by inspection, lint and path validation (see x509/util.hpp).
#include "x509/util.hpp"

#include <arpa/inet.h>

#include <ctime>

#include <fmt/format.h>

namespace applctl::x509util {

// Certificate text enters our values here (names, SANs): every function below returns it through
// printable(), so control characters and bytes that are not UTF-8 are \xNN from here on, in the
// store, in tables, messages and JSON alike (cli.md). The DER is never changed.

std::string rfc4514(const X509_NAME* name) {
  // RFC 2253/4514 order (most significant last) with UTF-8 kept as is; control characters are
  // left to printable() (\xNN, as everywhere) instead of OpenSSL's \XX.
  constexpr unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB & ~ASN1_STRFLGS_ESC_CTRL;
  auto bio = ossl::new_mem_bio();
  if (X509_NAME_print_ex(bio.get(), name, 0, flags) >= 0) return printable(to_string(ossl::bio_bytes(bio.get())));
  // A value that does not decode as its type says (an invalid UTF8String, an odd-length
  // BMPString): its bytes as they are, each byte that is not UTF-8 escaped by printable().
  ERR_clear_error();
  auto raw = ossl::new_mem_bio();
  constexpr unsigned long raw_flags = (flags | ASN1_STRFLGS_IGNORE_TYPE) & ~ASN1_STRFLGS_UTF8_CONVERT;
  if (X509_NAME_print_ex(raw.get(), name, 0, raw_flags) < 0) ossl::raise("X509_NAME_print_ex", ErrorKind::BadInput);
  return printable(to_string(ossl::bio_bytes(raw.get())));
}

std::string common_name(const X509_NAME* name) {
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) {  // not decodable as its type says: its bytes, escaped
    ERR_clear_error();
    return printable({reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                      static_cast<std::size_t>(ASN1_STRING_length(data))});
  }
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
  OPENSSL_free(utf8);
  return printable(out);
}

UnixTime to_unix(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) ossl::raise("ASN1_TIME_to_tm", ErrorKind::BadInput);
  return static_cast<UnixTime>(timegm(&tm));
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  int len = ASN1_STRING_length(ip);
  const unsigned char* data = ASN1_STRING_get0_data(ip);
  if (len == 4) inet_ntop(AF_INET, data, buf, sizeof buf);
  else if (len == 16) inet_ntop(AF_INET6, data, buf, sizeof buf);
  else return fmt::format("<{} bytes>", len);
  return buf;
}

std::vector<std::string> alt_names(const GENERAL_NAMES* gens) {
  std::vector<std::string> out;
  for (int i = 0; i < sk_GENERAL_NAME_num(gens); ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(gens, i);
    auto ia5 = [](const ASN1_IA5STRING* s) {
      return printable({reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                        static_cast<std::size_t>(ASN1_STRING_length(s))});
    };
    switch (gen->type) {
      case GEN_DNS: out.push_back("DNS:" + ia5(gen->d.dNSName)); break;
      case GEN_IPADD: out.push_back("IP:" + ip_text(gen->d.iPAddress)); break;
      case GEN_EMAIL: out.push_back("email:" + ia5(gen->d.rfc822Name)); break;
      case GEN_URI: out.push_back("URI:" + ia5(gen->d.uniformResourceIdentifier)); break;
      default: break;
    }
  }
  return out;
}

GENERAL_NAMES* make_general_names(const std::vector<std::string>& sans) {
  ossl::GeneralNamesPtr gens(ossl::check_ptr(GENERAL_NAMES_new(), "GENERAL_NAMES_new"));
  for (const auto& san : sans) {
    ossl::GeneralNamePtr gen(ossl::check_ptr(GENERAL_NAME_new(), "GENERAL_NAME_new"));
    if (san.starts_with("DNS:")) {
      ASN1_IA5STRING* s = ossl::check_ptr(ASN1_IA5STRING_new(), "ASN1_IA5STRING_new");
      if (ASN1_STRING_set(s, san.data() + 4, static_cast<int>(san.size() - 4)) != 1) {
        ASN1_IA5STRING_free(s);
        ossl::raise("ASN1_STRING_set");
      }
      GENERAL_NAME_set0_value(gen.get(), GEN_DNS, s);
    } else if (san.starts_with("IP:")) {
      ASN1_OCTET_STRING* ip = a2i_IPADDRESS(san.c_str() + 3);
      if (ip == nullptr) ossl::raise("a2i_IPADDRESS", ErrorKind::BadInput);
      GENERAL_NAME_set0_value(gen.get(), GEN_IPADD, ip);
    } else {
      throw Error(ErrorKind::BadInput, fmt::format("unsupported SAN '{}'", san));
    }
    ossl::check(sk_GENERAL_NAME_push(gens.get(), gen.get()), "sk_GENERAL_NAME_push");
    gen.release();
  }
  return gens.release();
}

}  // namespace applctl::x509util
