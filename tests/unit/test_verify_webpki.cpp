// The checks applctl adds on top of X509_verify_cert (lib/verify/webpki.cpp), one rule at a time,
// on certificates built in memory with exactly the defect under test.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include <openssl/dsa.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "applctl/verify/verify.hpp"
#include "base/ossl.hpp"
#include "verify/internal.hpp"

using namespace applctl;
using namespace applctl::verify_detail;

namespace {

using Ext = std::pair<std::string, std::string>;  // OpenSSL config name, value ("critical,DER:3000")

ossl::PkeyPtr new_ec_key() { return ossl::PkeyPtr(ossl::check_ptr(EVP_EC_gen("P-256"), "EVP_EC_gen")); }

struct Spec {
  Spec(std::string cn_ = "www.example.test", std::vector<Ext> ext_ = {}, long serial_ = 4242)
      : cn(std::move(cn_)), ext(std::move(ext_)), serial(serial_) {}
  std::string cn;
  std::vector<Ext> ext;
  long serial;
  Bytes raw_serial;  // content octets of the INTEGER, when set
  bool negative_serial = false;
};

// A certificate for `key`, issued by `issuer` (self-signed when null) with `issuer_key`.
ossl::X509Ptr issue_cert(EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, const Spec& spec) {
  ossl::X509Ptr x(ossl::check_ptr(X509_new(), "X509_new"));
  ossl::check(X509_set_version(x.get(), X509_VERSION_3), "X509_set_version");
  ossl::Asn1IntegerPtr serial(ossl::check_ptr(ASN1_INTEGER_new(), "ASN1_INTEGER_new"));
  if (!spec.raw_serial.empty())
    ossl::check(ASN1_STRING_set(serial.get(), spec.raw_serial.data(), static_cast<int>(spec.raw_serial.size())),
                "ASN1_STRING_set");
  else
    ossl::check(ASN1_INTEGER_set(serial.get(), spec.negative_serial ? -5 : spec.serial), "ASN1_INTEGER_set");
  ossl::check(X509_set_serialNumber(x.get(), serial.get()), "X509_set_serialNumber");
  X509_NAME* name = X509_get_subject_name(x.get());
  if (!spec.cn.empty())
    ossl::check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                           reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0),
                "X509_NAME_add_entry_by_txt");
  ossl::check(X509_set_issuer_name(x.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name),
              "X509_set_issuer_name");
  ossl::check(ASN1_TIME_set(X509_getm_notBefore(x.get()), 1893456000) != nullptr, "ASN1_TIME_set");
  ossl::check(ASN1_TIME_set(X509_getm_notAfter(x.get()), 2208988800) != nullptr, "ASN1_TIME_set");
  ossl::check(X509_set_pubkey(x.get(), key), "X509_set_pubkey");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
  for (const auto& [n, v] : spec.ext) {
    ossl::X509ExtPtr e(ossl::check_ptr(X509V3_EXT_nconf(nullptr, &ctx, n.c_str(), v.c_str()), "X509V3_EXT_nconf"));
    ossl::check(X509_add_ext(x.get(), e.get(), -1), "X509_add_ext");
  }
  ossl::check(X509_sign(x.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()), "X509_sign");
  return x;
}

std::vector<Ext> ca_exts(std::vector<Ext> more = {}) {
  std::vector<Ext> e = {{"basicConstraints", "critical,CA:TRUE"},
                        {"keyUsage", "critical,keyCertSign,cRLSign"},
                        {"subjectKeyIdentifier", "hash"},
                        {"authorityKeyIdentifier", "keyid:always"}};
  e.insert(e.end(), more.begin(), more.end());
  return e;
}

std::vector<Ext> leaf_exts(std::vector<Ext> more = {}, const std::string& san = "DNS:www.example.test") {
  std::vector<Ext> e = {{"basicConstraints", "critical,CA:FALSE"},
                        {"keyUsage", "critical,digitalSignature"},
                        {"subjectKeyIdentifier", "hash"},
                        {"authorityKeyIdentifier", "keyid:always"}};
  if (!san.empty()) e.push_back({"subjectAltName", san});
  bool has_eku = false;
  for (const auto& m : more) has_eku = has_eku || m.first == "extendedKeyUsage";
  if (!has_eku) e.push_back({"extendedKeyUsage", "serverAuth"});
  e.insert(e.end(), more.begin(), more.end());
  return e;
}

// A root and a key to issue with, shared by the tests.
struct Root {
  ossl::PkeyPtr key = new_ec_key();
  ossl::X509Ptr cert = issue_cert(key.get(), nullptr, nullptr, Spec{"Test Root", ca_exts()});
};

Root& root() {
  static Root r;
  return r;
}

ossl::X509Ptr leaf_with(std::vector<Ext> ext, const std::string& cn = "www.example.test") {
  static ossl::PkeyPtr key = new_ec_key();
  Spec s;
  s.cn = cn;
  s.ext = std::move(ext);
  return issue_cert(key.get(), root().cert.get(), root().key.get(), s);
}

std::vector<std::string> reasons(const std::vector<Issue>& issues) {
  std::vector<std::string> out;
  for (const auto& i : issues) out.push_back(i.reason);
  return out;
}

Bytes der_of(X509* x) { return ossl::to_der(x, i2d_X509, "i2d_X509"); }

VerifyResult verify_leaf(X509* leaf, VerifyPolicy policy = {}) {
  policy.roots = {der_of(root().cert.get())};
  policy.at = Instant{2051222400, 0};
  return verify_chain(der_of(leaf), policy);
}

using Reasons = std::vector<std::string>;

}  // namespace

TEST_CASE("extra check: serial numbers are positive and at most 20 octets", "[chain]") {
  auto key = new_ec_key();
  auto serial = [&](Spec s) { return reasons(check_serial(issue_cert(key.get(), nullptr, nullptr, s).get(), 0)); };
  CHECK(serial(Spec{}).empty());
  Spec zero;
  zero.serial = 0;
  CHECK(serial(zero) == Reasons{"invalid-certificate"});
  Spec negative;
  negative.negative_serial = true;
  CHECK(serial(negative) == Reasons{"invalid-certificate"});
  Spec twenty;
  twenty.raw_serial = Bytes(20, 0x11);
  CHECK(serial(twenty).empty());
  Spec twenty_high_bit;  // 20 octets of magnitude with the top bit set: 21 octets encoded
  twenty_high_bit.raw_serial = Bytes(20, 0x91);
  CHECK(serial(twenty_high_bit) == Reasons{"invalid-certificate"});
  // Through verify_chain: the leaf's serial makes the path invalid.
  Spec leaf_zero{"www.example.test", leaf_exts(), 0};
  auto leaf = issue_cert(key.get(), root().cert.get(), root().key.get(), leaf_zero);
  const VerifyResult r = verify_leaf(leaf.get());
  CHECK(r.reason == "invalid-certificate");
  REQUIRE(r.path.size() == 2);
  CHECK(r.path[0].status == "invalid-certificate");
}

TEST_CASE("extra check: authority and subject key identifiers", "[chain]") {
  auto key = new_ec_key();
  auto leaf_no_aki = leaf_with({{"basicConstraints", "critical,CA:FALSE"}, {"subjectAltName", "DNS:www.example.test"}});
  // Every certificate below the anchor must carry an AKI (OpenSSL checks this too).
  CHECK(reasons(check_key_identifiers(leaf_no_aki.get(), 0, false, true)) == Reasons{"invalid-extension"});
  CHECK(reasons(check_key_identifiers(leaf_no_aki.get(), 1, true, true)).empty());  // anchors are exempt
  // An AKI without keyIdentifier.
  auto issuer_only = leaf_with({{"authorityKeyIdentifier", "issuer:always"}});
  CHECK(reasons(check_key_identifiers(issuer_only.get(), 0, false, false)) == Reasons{"invalid-extension"});

  auto root_with = [&](std::vector<Ext> ext) {
    return issue_cert(key.get(), nullptr, nullptr, Spec{"Root With AKI", std::move(ext)});
  };
  auto good_root = root_with(ca_exts());
  CHECK(reasons(check_key_identifiers(good_root.get(), 1, true, true)).empty());
  auto aki_issuer_serial = root_with({{"basicConstraints", "critical,CA:TRUE"},
                                      {"keyUsage", "critical,keyCertSign"},
                                      {"subjectKeyIdentifier", "hash"},
                                      {"authorityKeyIdentifier", "keyid:always,issuer:always"}});
  CHECK(reasons(check_key_identifiers(aki_issuer_serial.get(), 1, true, true)) == Reasons{"invalid-extension"});
  CHECK(reasons(check_key_identifiers(aki_issuer_serial.get(), 1, true, false)).empty());  // web PKI rule only
  auto aki_mismatch = root_with({{"basicConstraints", "critical,CA:TRUE"},
                                 {"keyUsage", "critical,keyCertSign"},
                                 {"subjectKeyIdentifier", "hash"},
                                 {"authorityKeyIdentifier", "DER:30068004deadbeef"}});
  CHECK(reasons(check_key_identifiers(aki_mismatch.get(), 1, true, true)) == Reasons{"invalid-extension"});
}

TEST_CASE("extra check: extensions decode and follow RFC 5280's shape", "[chain]") {
  CHECK(reasons(check_extensions(leaf_with(leaf_exts()).get(), 0, true)).empty());
  // A known extension whose contents do not decode (a BOOLEAN where a SEQUENCE belongs).
  CHECK(reasons(check_extensions(leaf_with({{"authorityInfoAccess", "DER:0101ff"}}).get(), 0, true)) ==
        Reasons{"invalid-extension"});
  CHECK(reasons(check_extensions(leaf_with({{"authorityInfoAccess", "DER:3000"}}).get(), 0, true)) ==
        Reasons{"invalid-extension"});
  auto empty_eku = leaf_with({{"extendedKeyUsage", "DER:3000"}});
  CHECK(reasons(check_extensions(empty_eku.get(), 0, true)) == Reasons{"invalid-extension"});
  auto pc = [&](const std::string& v) {
    return issue_cert(root().key.get(), nullptr, nullptr, Spec{"PC CA", ca_exts({{"policyConstraints", v}})});
  };
  CHECK(reasons(check_extensions(pc("critical,requireExplicitPolicy:0").get(), 1, true)).empty());
  CHECK(reasons(check_extensions(pc("requireExplicitPolicy:0").get(), 1, true)) == Reasons{"invalid-extension"});

  auto nc_ca = [&](const std::string& v) {
    return issue_cert(root().key.get(), nullptr, nullptr, Spec{"NC CA", ca_exts({{"nameConstraints", v}})});
  };
  CHECK(reasons(check_extensions(nc_ca("critical,permitted;DNS:example.test").get(), 1, true)).empty());
  // Not critical: RFC 5280 says it must be, the web PKI allows it.
  CHECK(reasons(check_extensions(nc_ca("permitted;DNS:example.test").get(), 1, false)) == Reasons{"invalid-extension"});
  CHECK(reasons(check_extensions(nc_ca("permitted;DNS:example.test").get(), 1, true)).empty());
  // Neither permitted nor excluded subtrees.
  CHECK(reasons(check_extensions(nc_ca("critical,DER:3000").get(), 1, true)) == Reasons{"invalid-extension"});
  // In a certificate that is not a CA.
  auto nc_leaf = leaf_with({{"nameConstraints", "critical,permitted;DNS:example.test"}});
  CHECK(reasons(check_extensions(nc_leaf.get(), 0, true)) == Reasons{"invalid-extension"});
}

TEST_CASE("extra check: dNSNames in SANs and name constraints are host names", "[chain]") {
  auto names = [](const std::string& value) {
    auto x = leaf_with({{"subjectAltName", value}});
    return reasons(check_names(x.get(), 0));
  };
  CHECK(names("DNS:www.example.test").empty());
  CHECK(names("DNS:*.example.test").empty());
  CHECK(names("DNS:xn--bcher-kva.example").empty());
  CHECK(names("DNS:under_score.example.test") == Reasons{"invalid-extension"});
  CHECK(names("DNS:.example.test") == Reasons{"invalid-extension"});
  CHECK(names("DNS:ba*.example.test") == Reasons{"invalid-extension"});
  CHECK(names("DNS:-bad.example.test") == Reasons{"invalid-extension"});
  CHECK(names("DNS:example.test.") == Reasons{"invalid-extension"});
  auto nc = [](const std::string& value) {
    auto x = issue_cert(root().key.get(), nullptr, nullptr, Spec{"NC CA", ca_exts({{"nameConstraints", value}})});
    return reasons(check_names(x.get(), 1));
  };
  CHECK(nc("critical,permitted;DNS:example.test").empty());
  CHECK(nc("critical,permitted;DNS:.example.test") == Reasons{"name-constraints"});
  CHECK(nc("critical,excluded;DNS:*.example.test") == Reasons{"name-constraints"});
}

TEST_CASE("extra check: the web PKI's end-entity profile", "[chain]") {
  VerifyPolicy server;
  auto leaf = [](std::vector<Ext> ext, const std::string& san = "DNS:www.example.test") {
    std::vector<Ext> e = {{"keyUsage", "critical,digitalSignature"}, {"authorityKeyIdentifier", "keyid:always"}};
    if (!san.empty()) e.push_back({"subjectAltName", san});
    e.insert(e.end(), ext.begin(), ext.end());
    return leaf_with(e);
  };
  auto with_eku = leaf({{"extendedKeyUsage", "serverAuth"}});
  CHECK(reasons(check_leaf_profile(with_eku.get(), server)).empty());
  auto no_eku = leaf({});
  CHECK(reasons(check_leaf_profile(no_eku.get(), server)) == Reasons{"key-usage"});
  VerifyPolicy client;
  client.purpose = Purpose::Client;
  CHECK(reasons(check_leaf_profile(no_eku.get(), client)).empty());
  VerifyPolicy rfc_only;
  rfc_only.web_pki = false;
  CHECK(reasons(check_leaf_profile(no_eku.get(), rfc_only)).empty());
  CHECK(reasons(check_leaf_profile(leaf({{"extendedKeyUsage", "critical,serverAuth"}}).get(), server)) ==
        Reasons{"invalid-extension"});
  CHECK(reasons(check_leaf_profile(leaf({{"extendedKeyUsage", "serverAuth,anyExtendedKeyUsage"}}).get(), server)) ==
        Reasons{"key-usage"});
  CHECK(reasons(check_leaf_profile(leaf({{"extendedKeyUsage", "serverAuth"}, {"basicConstraints", "critical,CA:TRUE"}}).get(),
                                   server)) == Reasons{"invalid-ca"});
  auto critical_san = leaf({{"extendedKeyUsage", "serverAuth"}, {"subjectAltName", "critical,DNS:www.example.test"}}, "");
  CHECK(reasons(check_leaf_profile(critical_san.get(), server)) == Reasons{"invalid-extension"});

  // Through verify_chain: an EKU-less server certificate fails under the web PKI rules only.
  CHECK(verify_leaf(no_eku.get()).reason == "key-usage");
  VerifyPolicy relaxed;
  relaxed.web_pki = false;
  CHECK(verify_leaf(no_eku.get(), relaxed).valid);
}

TEST_CASE("extra check: a CN that spells a SAN in another form", "[chain]") {
  VerifyPolicy policy;
  auto cn = [&](const std::string& common_name, const std::string& san) {
    return reasons(check_common_name(leaf_with({{"subjectAltName", san}}, common_name).get(), policy));
  };
  CHECK(cn("www.example.test", "DNS:www.example.test").empty());
  CHECK(cn("My Appliance", "DNS:www.example.test").empty());     // a label, not a name: allowed
  CHECK(cn("192.168.1.1", "IP:192.168.1.1").empty());
  CHECK(cn("127.0.0.1", "IP:1.1.1.1").empty());                   // canonical, just not listed
  CHECK(cn("0xC0A80101", "IP:192.168.1.1") == Reasons{"invalid-certificate"});
  CHECK(cn("192.168.001.001", "IP:192.168.1.1") == Reasons{"invalid-certificate"});
  CHECK(cn("2001:DB8::1", "IP:2001:db8::1") == Reasons{"invalid-certificate"});
  CHECK(cn("2001:db8:0:0:0:0:0:1", "IP:2001:db8::1") == Reasons{"invalid-certificate"});
  CHECK(cn("WWW.Example.test", "DNS:www.example.test") == Reasons{"invalid-certificate"});
  CHECK(cn("b\xc3\xbc" "cher.example", "DNS:xn--bcher-kva.example") == Reasons{"invalid-certificate"});
  policy.web_pki = false;
  CHECK(cn("0xC0A80101", "IP:192.168.1.1").empty());
}

TEST_CASE("extra check: a root has no extendedKeyUsage", "[chain]") {
  VerifyPolicy policy;
  auto key = new_ec_key();
  auto plain = issue_cert(key.get(), nullptr, nullptr, Spec{"Root", ca_exts()});
  auto with_eku = issue_cert(key.get(), nullptr, nullptr, Spec{"Root", ca_exts({{"extendedKeyUsage", "serverAuth"}})});
  CHECK(reasons(check_root_profile(plain.get(), 1, policy)).empty());
  CHECK(reasons(check_root_profile(with_eku.get(), 1, policy)) == Reasons{"key-usage"});
  // An intermediate used as the anchor may have one (TLS sub-CAs must).
  auto inter = issue_cert(key.get(), root().cert.get(), root().key.get(),
                         Spec{"Inter", ca_exts({{"extendedKeyUsage", "serverAuth"}})});
  CHECK(reasons(check_root_profile(inter.get(), 1, policy)).empty());
}

TEST_CASE("extra check: DSA keys and RSA moduli that are not a multiple of 8", "[chain]") {
  VerifyPolicy policy;
  auto cert_for = [](EVP_PKEY* k) { return issue_cert(k, root().cert.get(), root().key.get(), Spec{"k", leaf_exts()}); };
  ossl::PkeyPtr rsa_odd(ossl::check_ptr(EVP_RSA_gen(2052), "EVP_RSA_gen"));
  CHECK(reasons(check_public_key(cert_for(rsa_odd.get()).get(), 0, policy)) == Reasons{"weak-key"});
  ossl::PkeyPtr rsa(ossl::check_ptr(EVP_RSA_gen(2048), "EVP_RSA_gen"));
  CHECK(reasons(check_public_key(cert_for(rsa.get()).get(), 0, policy)).empty());

  ossl::PkeyCtxPtr pctx(ossl::check_ptr(EVP_PKEY_CTX_new_from_name(nullptr, "DSA", nullptr), "EVP_PKEY_CTX_new_from_name"));
  ossl::check(EVP_PKEY_paramgen_init(pctx.get()), "EVP_PKEY_paramgen_init");
  ossl::check(EVP_PKEY_CTX_set_dsa_paramgen_bits(pctx.get(), 1024), "EVP_PKEY_CTX_set_dsa_paramgen_bits");
  EVP_PKEY* raw_params = nullptr;
  ossl::check(EVP_PKEY_paramgen(pctx.get(), &raw_params), "EVP_PKEY_paramgen");
  ossl::PkeyPtr params(raw_params);
  ossl::PkeyCtxPtr kctx(ossl::check_ptr(EVP_PKEY_CTX_new(params.get(), nullptr), "EVP_PKEY_CTX_new"));
  ossl::check(EVP_PKEY_keygen_init(kctx.get()), "EVP_PKEY_keygen_init");
  EVP_PKEY* raw_dsa = nullptr;
  ossl::check(EVP_PKEY_keygen(kctx.get(), &raw_dsa), "EVP_PKEY_keygen");
  ossl::PkeyPtr dsa(raw_dsa);
  CHECK(reasons(check_public_key(cert_for(dsa.get()).get(), 0, policy)) == Reasons{"unsupported-algorithm"});
  policy.web_pki = false;
  CHECK(reasons(check_public_key(cert_for(dsa.get()).get(), 0, policy)).empty());
}

TEST_CASE("extra check: the host name itself is held to the name constraints (CVE-2025-61727)", "[chain]") {
  auto ca_key = new_ec_key();
  auto ca = issue_cert(ca_key.get(), root().cert.get(), root().key.get(),
                      Spec{"NC CA", ca_exts({{"nameConstraints", "critical,excluded;DNS:bar.example.test"}})});
  static ossl::PkeyPtr key = new_ec_key();
  auto leaf = issue_cert(key.get(), ca.get(), ca_key.get(), Spec{"wild", leaf_exts({}, "DNS:*.example.test")});
  const std::vector<X509*> path = {leaf.get(), ca.get(), root().cert.get()};
  CHECK(reasons(check_peer_name_constraints(path, "bar.example.test")) == Reasons{"name-constraints"});
  CHECK(reasons(check_peer_name_constraints(path, "BAR.example.test")) == Reasons{"name-constraints"});
  CHECK(reasons(check_peer_name_constraints(path, "foo.example.test")).empty());
  CHECK(reasons(check_peer_name_constraints(path, "192.0.2.1")).empty());

  auto permitted = issue_cert(ca_key.get(), root().cert.get(), root().key.get(),
                             Spec{"NC CA", ca_exts({{"nameConstraints", "critical,permitted;DNS:example.test"}})});
  const std::vector<X509*> path2 = {leaf.get(), permitted.get(), root().cert.get()};
  CHECK(reasons(check_peer_name_constraints(path2, "a.example.test")).empty());
  CHECK(reasons(check_peer_name_constraints(path2, "a.example.other")) == Reasons{"name-constraints"});

  // Through verify_chain: OpenSSL alone accepts this path, since the SAN *.example.test is not
  // itself inside the excluded subtree.
  VerifyPolicy policy;
  policy.roots = {der_of(root().cert.get())};
  policy.untrusted = {der_of(ca.get())};
  policy.hostname = "bar.example.test";
  policy.at = Instant{2051222400, 0};
  CHECK(verify_chain(der_of(leaf.get()), policy).reason == "name-constraints");
  policy.hostname = "foo.example.test";
  CHECK(verify_chain(der_of(leaf.get()), policy).valid);
}

TEST_CASE("reason codes: the X509_V_ERR table", "[chain]") {
  CHECK(reason_of(X509_V_ERR_CERT_HAS_EXPIRED) == "expired");
  CHECK(reason_of(X509_V_ERR_CERT_NOT_YET_VALID) == "not-yet-valid");
  CHECK(reason_of(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) == "unknown-issuer");
  CHECK(reason_of(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) == "unknown-issuer");
  CHECK(reason_of(X509_V_ERR_CERT_SIGNATURE_FAILURE) == "bad-signature");
  CHECK(reason_of(X509_V_ERR_HOSTNAME_MISMATCH) == "hostname-mismatch");
  CHECK(reason_of(X509_V_ERR_IP_ADDRESS_MISMATCH) == "ip-mismatch");
  CHECK(reason_of(X509_V_ERR_PATH_LENGTH_EXCEEDED) == "path-length-exceeded");
  CHECK(reason_of(X509_V_ERR_CERT_CHAIN_TOO_LONG) == "depth-exceeded");
  CHECK(reason_of(X509_V_ERR_EXCLUDED_VIOLATION) == "name-constraints");
  CHECK(reason_of(X509_V_ERR_INVALID_PURPOSE) == "key-usage");
  CHECK(reason_of(X509_V_ERR_INVALID_CA) == "invalid-ca");
  CHECK(reason_of(X509_V_ERR_CA_BCONS_NOT_CRITICAL) == "invalid-extension");
  CHECK(reason_of(X509_V_ERR_EE_KEY_TOO_SMALL) == "weak-key");
  CHECK(reason_of(X509_V_ERR_CA_MD_TOO_WEAK) == "weak-signature");
  CHECK(reason_of(X509_V_ERR_UNSUPPORTED_SIGNATURE_ALGORITHM) == "unsupported-algorithm");
  CHECK(reason_of(X509_V_ERR_SUBJECT_NAME_EMPTY) == "invalid-certificate");
  CHECK(reason_of(X509_V_ERR_OUT_OF_MEM) == "other");
  CHECK(reason_of(X509_V_OK) == "other");
}
