// [cert] building and inspecting certificates and requests; [lint] the static warnings.
// (The warnings that depend on time and the store, from summarize(), are in test_services.cpp.)
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "applctl/x509/certificate.hpp"
#include "applctl/x509/names.hpp"
#include "unit_pki.hpp"

using namespace applctl;
using unit_pki::has_code;
using unit_pki::kind_of;
using UnitPki = unit_pki::Pki;

namespace {

const PrivateKey& ec_key() {
  static const PrivateKey key = PrivateKey::generate(KeySpec::parse("ec:P-256"));
  return key;
}

Bytes self_signed(const Subject& subject, std::vector<San> sans, int days = 30, const PrivateKey& key = ec_key()) {
  NewCertificate spec;
  spec.subject = subject;
  spec.sans = std::move(sans);
  spec.days = days;
  return make_self_signed(key, spec);
}

San dns(const char* name) { return {SanType::DNS, name}; }
San ip(const char* addr) { return {SanType::IP, addr}; }

Subject full_subject() {
  Subject s;
  s.country = "US";
  s.state = "California";
  s.locality = "San Jose";
  s.org = "Acme, Inc.";
  s.ou = "Ops";
  s.cn = "www.example.com";
  return s;
}

struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct ReqFree {
  void operator()(X509_REQ* x) const noexcept { X509_REQ_free(x); }
};
struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};

}  // namespace

TEST_CASE("make_self_signed: subject, names, serial, validity, SANs, key identifiers", "[cert]") {
  const UnixTime before = now();
  Bytes der = self_signed(full_subject(), {dns("www.example.com"), dns("b.example.com"), ip("192.0.2.7")}, 30);
  const UnixTime after = now();
  CertInfo c = inspect_certificate(der);

  CHECK(c.subject == "CN=www.example.com,OU=Ops,O=Acme\\, Inc.,L=San Jose,ST=California,C=US");
  CHECK(c.issuer == c.subject);
  CHECK(c.subject_cn == "www.example.com");
  CHECK(c.issued_to == "www.example.com");
  CHECK(c.issued_by == "www.example.com");
  CHECK(c.subject_hash == c.issuer_hash);
  CHECK(c.fingerprint_sha256 == sha256_hex(der));

  // A random 128-bit serial with its top bit set: exactly 32 lowercase hex digits, first >= 8.
  REQUIRE(c.serial.size() == 32);
  CHECK(c.serial.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(std::string("89abcdef").find(c.serial[0]) != std::string::npos);

  CHECK(c.not_before >= before - 1);
  CHECK(c.not_before <= after);
  CHECK(c.not_after - c.not_before == 30 * 86400);

  CHECK(c.has_san_extension);
  CHECK(c.alt_names == std::vector<std::string>{"DNS:www.example.com", "DNS:b.example.com", "IP:192.0.2.7"});
  CHECK(c.subject_key_id.size() >= 16);
  CHECK(c.authority_key_id == c.subject_key_id);

  CHECK(c.role == Role::Leaf);
  CHECK_FALSE(c.is_ca);
  CHECK(c.self_issued);
  CHECK(c.self_signed);
  CHECK(c.signature_algorithm == "ecdsa-with-SHA256");
  CHECK(c.public_key.type == "EC");
  CHECK(c.public_key.curve == "P-256");
  CHECK(c.spki_sha256 == ec_key().spki_sha256());
}

TEST_CASE("make_self_signed agrees with openssl on serial, subject and SANs", "[cert]") {
  unit_pki::TempDir tmp;
  Bytes der = self_signed(full_subject(), {dns("www.example.com"), ip("2001:db8::1")});
  CertInfo c = inspect_certificate(der);
  unit_pki::write_text(tmp / "c.pem", pem_encode(der, "CERTIFICATE"));
  std::string serial = tmp.sh("openssl x509 -in c.pem -noout -serial");  // serial=ABCD...
  std::string upper;
  for (char ch : c.serial) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  CHECK(serial == "serial=" + upper + "\n");
  std::string subject = tmp.sh("openssl x509 -in c.pem -noout -subject -nameopt RFC2253");
  CHECK(subject == "subject=" + c.subject + "\n");
  std::string text = tmp.sh("openssl x509 -in c.pem -noout -ext subjectAltName");
  CHECK(text.find("DNS:www.example.com, IP Address:2001:DB8:0:0:0:0:0:1") != std::string::npos);
  CHECK(c.alt_names == std::vector<std::string>{"DNS:www.example.com", "IP:2001:db8::1"});
}

TEST_CASE("make_self_signed gives each certificate a new serial", "[cert]") {
  std::set<std::string> serials, fingerprints;
  for (int i = 0; i < 5; ++i) {
    CertInfo c = inspect_certificate(self_signed(unit_pki::cn_subject("a.example.com"), {dns("a.example.com")}));
    CHECK(c.serial.size() == 32);
    serials.insert(c.serial);
    fingerprints.insert(c.fingerprint_sha256);
  }
  CHECK(serials.size() == 5);
  CHECK(fingerprints.size() == 5);
}

TEST_CASE("make_self_signed: the signature algorithm follows the key type", "[cert]") {
  struct Case {
    const char* spec;
    const char* algorithm;
    const char* type;
  };
  for (Case k : {Case{"ec:P-256", "ecdsa-with-SHA256", "EC"}, Case{"ec:P-384", "ecdsa-with-SHA256", "EC"},
                 Case{"rsa:2048", "sha256WithRSAEncryption", "RSA"}, Case{"ed25519", "ED25519", "ED25519"}}) {
    INFO("key " << k.spec);
    PrivateKey key = PrivateKey::generate(KeySpec::parse(k.spec));
    CertInfo c = inspect_certificate(self_signed(unit_pki::cn_subject("k.example.com"), {dns("k.example.com")}, 10, key));
    CHECK(c.signature_algorithm == k.algorithm);
    CHECK(c.public_key.type == k.type);
    CHECK(c.public_key.spec() == KeySpec::parse(k.spec).str());
    CHECK(c.self_signed);
    CHECK(c.spki_sha256 == key.spki_sha256());
  }
}

TEST_CASE("issued_to falls back to the RFC 4514 subject when there is no common name", "[cert]") {
  Subject s;
  s.org = "Acme";
  s.country = "DE";
  CertInfo c = inspect_certificate(self_signed(s, {dns("x.example.com")}));
  CHECK(c.subject_cn.empty());
  CHECK(c.issued_to == "O=Acme,C=DE");
  CHECK(c.issued_by == "O=Acme,C=DE");
}

TEST_CASE("issued_to of a certificate with an empty subject is its first SAN", "[cert]") {
  CertInfo c = inspect_certificate(self_signed(Subject{}, {dns("only.example.com"), dns("two.example.com")}));
  CHECK(c.subject.empty());
  CHECK(c.issued_to == "only.example.com");
}

TEST_CASE("make_self_signed refuses an empty subject without SANs and out-of-range days", "[cert]") {
  CHECK(kind_of([] { self_signed(Subject{}, {}); }) == ErrorKind::BadInput);
  CHECK(kind_of([] { self_signed(unit_pki::cn_subject("a.example.com"), {}, 0); }) == ErrorKind::BadInput);
  CHECK(kind_of([] { self_signed(unit_pki::cn_subject("a.example.com"), {}, 36501); }) == ErrorKind::BadInput);
  // SANs alone are enough.
  CertInfo c = inspect_certificate(self_signed(Subject{}, {dns("only-san.example.com")}));
  CHECK(c.subject.empty());
  CHECK(c.alt_names == std::vector<std::string>{"DNS:only-san.example.com"});
}

TEST_CASE("make_csr + inspect_csr: subject, SANs, key, a valid signature", "[cert]") {
  unit_pki::TempDir tmp;
  Bytes der = make_csr(ec_key(), full_subject(), {dns("www.example.com"), dns("api.example.com"), ip("10.1.2.3")});
  CsrInfo r = inspect_csr(der);
  CHECK(r.subject == "CN=www.example.com,OU=Ops,O=Acme\\, Inc.,L=San Jose,ST=California,C=US");
  CHECK(r.alt_names == std::vector<std::string>{"DNS:www.example.com", "DNS:api.example.com", "IP:10.1.2.3"});
  CHECK(r.spki_sha256 == ec_key().spki_sha256());
  CHECK(r.public_key.spec() == "ec:P-256");
  CHECK(r.signature_algorithm == "ecdsa-with-SHA256");
  CHECK(r.signature_valid);
  // Oracle: openssl verifies the request's signature.
  unit_pki::write_text(tmp / "r.pem", pem_encode(der, "CERTIFICATE REQUEST"));
  CHECK(tmp.sh("openssl req -in r.pem -noout -verify").find("verify OK") != std::string::npos);

  SECTION("a tampered request has an invalid signature") {
    Bytes bad = der;
    bad.back() ^= 0x01;  // the last byte of the ECDSA signature's s
    CHECK_FALSE(inspect_csr(bad).signature_valid);
  }
  SECTION("a request without SANs has none") {
    CsrInfo plain = inspect_csr(make_csr(ec_key(), unit_pki::cn_subject("Plain Name"), {}));
    CHECK(plain.alt_names.empty());
    CHECK(plain.subject == "CN=Plain Name");
    CHECK(plain.signature_valid);
  }
  SECTION("garbage is bad input") {
    const std::string junk = "-----BEGIN NOTHING-----";
    CHECK(kind_of([&] { inspect_csr(as_bytes(junk)); }) == ErrorKind::BadInput);
  }
}

TEST_CASE("make_csr with an Ed25519 key", "[cert]") {
  PrivateKey key = PrivateKey::generate(KeySpec::parse("ed25519"));
  CsrInfo r = inspect_csr(make_csr(key, unit_pki::cn_subject("ed.example.com"), {dns("ed.example.com")}));
  CHECK(r.signature_algorithm == "ED25519");
  CHECK(r.signature_valid);
  CHECK(r.public_key.type == "ED25519");
}

TEST_CASE("CA certificates made by openssl are roots and intermediates", "[cert]") {
  const UnitPki& pki = UnitPki::get();
  CertInfo root = inspect_certificate(pki.der("root"));
  CertInfo inter = inspect_certificate(pki.der("int"));
  CertInfo leaf = inspect_certificate(pki.der("leaf"));

  CHECK(root.role == Role::Root);
  CHECK(root.is_ca);
  CHECK(root.self_signed);
  CHECK(root.issued_to == "Unit Root CA");

  CHECK(inter.role == Role::Intermediate);
  CHECK(inter.is_ca);
  CHECK_FALSE(inter.self_signed);
  CHECK_FALSE(inter.self_issued);
  CHECK(inter.issued_to == "Unit Intermediate CA");
  CHECK(inter.issued_by == "Unit Root CA");
  CHECK(inter.issuer_hash == root.subject_hash);
  CHECK(inter.authority_key_id == root.subject_key_id);

  CHECK(leaf.role == Role::Leaf);
  CHECK_FALSE(leaf.is_ca);
  CHECK_FALSE(leaf.self_signed);
  CHECK(leaf.issued_by == "Unit Intermediate CA");
  CHECK(leaf.authority_key_id == inter.subject_key_id);
  CHECK(leaf.alt_names == std::vector<std::string>{"DNS:leaf.unit.test"});

  // The fingerprints are openssl's.
  CHECK(leaf.fingerprint_sha256 == pki.fingerprint("leaf"));
  CHECK(root.fingerprint_sha256 == pki.fingerprint("root"));
}

TEST_CASE("A version 1 self-signed certificate is a root", "[cert]") {
  CertInfo v1 = inspect_certificate(UnitPki::get().der("v1"));
  CHECK(v1.self_signed);
  CHECK(v1.is_ca);
  CHECK(v1.role == Role::Root);
  CHECK_FALSE(v1.has_san_extension);
  CHECK(v1.subject_key_id.empty());
}

TEST_CASE("inspect_certificate refuses what is not a DER certificate as bad input", "[cert]") {
  const std::string garbage = "this is not a certificate";
  CHECK(kind_of([&] { inspect_certificate(as_bytes(garbage)); }) == ErrorKind::BadInput);
  CHECK(kind_of([&] { inspect_certificate({}); }) == ErrorKind::BadInput);
  Bytes der = UnitPki::get().der("leaf");
  Bytes truncated(der.begin(), der.begin() + static_cast<long>(der.size() / 2));
  CHECK(kind_of([&] { inspect_certificate(truncated); }) == ErrorKind::BadInput);
  // A PEM certificate is not DER.
  const std::string pem = UnitPki::get().text("leaf.pem");
  CHECK(kind_of([&] { inspect_certificate(as_bytes(pem)); }) == ErrorKind::BadInput);
}

// A fingerprint is the hash of exactly the certificate's bytes, so trailing bytes are refused
// rather than hashed into a second fingerprint of the same certificate.
TEST_CASE("inspect_certificate with trailing bytes is bad input", "[cert]") {
  Bytes der = UnitPki::get().der("leaf");
  Bytes padded = der;
  padded.push_back(0);
  padded.push_back(0);
  auto e = unit_pki::error_of([&] { inspect_certificate(padded); });
  CHECK(e.kind() == ErrorKind::BadInput);
  CHECK(std::string(e.what()).find("trailing") != std::string::npos);
  CHECK(inspect_certificate(der).fingerprint_sha256 == sha256_hex(der));
}

TEST_CASE("pem_encode writes PEM that OpenSSL reads back", "[cert]") {
  Bytes der = self_signed(unit_pki::cn_subject("pem.example.com"), {dns("pem.example.com")});
  std::string pem = pem_encode(der, "CERTIFICATE");
  CHECK(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
  CHECK(pem.ends_with("-----END CERTIFICATE-----\n"));
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  REQUIRE(bio);
  std::unique_ptr<X509, X509Free> x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  REQUIRE(x);
  unsigned char* out = nullptr;
  int len = i2d_X509(x.get(), &out);
  REQUIRE(len > 0);
  Bytes back(out, out + len);
  OPENSSL_free(out);
  CHECK(back == der);

  Bytes csr = make_csr(ec_key(), unit_pki::cn_subject("pem.example.com"), {});
  std::string req_pem = pem_encode(csr, "CERTIFICATE REQUEST");
  CHECK(req_pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----\n"));
  std::unique_ptr<BIO, BioFree> rbio(BIO_new_mem_buf(req_pem.data(), static_cast<int>(req_pem.size())));
  std::unique_ptr<X509_REQ, ReqFree> req(PEM_read_bio_X509_REQ(rbio.get(), nullptr, nullptr, nullptr));
  CHECK(req != nullptr);
}

TEST_CASE("role_name and parse_role", "[cert]") {
  for (Role r : {Role::Leaf, Role::Intermediate, Role::Root}) CHECK(parse_role(role_name(r)) == r);
  CHECK(role_name(Role::Leaf) == "leaf");
  CHECK(role_name(Role::Intermediate) == "intermediate");
  CHECK(role_name(Role::Root) == "root");
}

// ---- [lint] static warnings ---------------------------------------------------------------

TEST_CASE("lint self-signed: a self-signed leaf, never a root or an intermediate", "[lint]") {
  CertInfo leaf = inspect_certificate(self_signed(unit_pki::cn_subject("s.example.com"), {dns("s.example.com")}));
  CHECK(has_code(leaf.static_warnings, "self-signed"));
  CHECK_FALSE(has_code(inspect_certificate(UnitPki::get().der("root")).static_warnings, "self-signed"));
  CHECK_FALSE(has_code(inspect_certificate(UnitPki::get().der("int")).static_warnings, "self-signed"));
  CHECK_FALSE(has_code(inspect_certificate(UnitPki::get().der("leaf")).static_warnings, "self-signed"));
}

TEST_CASE("lint no-san and ip-san", "[lint]") {
  CertInfo none = inspect_certificate(self_signed(unit_pki::cn_subject("My Appliance"), {}));
  CHECK_FALSE(none.has_san_extension);
  CHECK(has_code(none.static_warnings, "no-san"));
  CHECK_FALSE(has_code(none.static_warnings, "ip-san"));

  CertInfo with_ip = inspect_certificate(self_signed(unit_pki::cn_subject("a.example.com"),
                                                     {dns("a.example.com"), ip("192.0.2.1")}));
  CHECK(has_code(with_ip.static_warnings, "ip-san"));
  CHECK_FALSE(has_code(with_ip.static_warnings, "no-san"));

  CertInfo dns_only = inspect_certificate(self_signed(unit_pki::cn_subject("a.example.com"), {dns("a.example.com")}));
  CHECK_FALSE(has_code(dns_only.static_warnings, "ip-san"));
  CHECK_FALSE(has_code(dns_only.static_warnings, "no-san"));
  CHECK_FALSE(has_code(dns_only.static_warnings, "cn-not-first-san"));
  // Roots are not servers: no SAN warnings for them.
  CHECK_FALSE(has_code(inspect_certificate(UnitPki::get().der("root")).static_warnings, "no-san"));
}

TEST_CASE("lint cn-not-first-san: a DNS common name that is not the first SAN", "[lint]") {
  CertInfo late = inspect_certificate(UnitPki::get().der("cn-late"));
  CHECK(late.alt_names == std::vector<std::string>{"DNS:other.unit.test", "DNS:www.unit.test"});
  CHECK(has_code(late.static_warnings, "cn-not-first-san"));
  // Case does not matter: CN=WWW.Unit.TEST with first SAN www.unit.test is fine.
  CertInfo cased = inspect_certificate(UnitPki::get().der("cn-case"));
  CHECK_FALSE(has_code(cased.static_warnings, "cn-not-first-san"));
  // A common name that is not a DNS name needs not be a SAN.
  CertInfo label = inspect_certificate(self_signed(unit_pki::cn_subject("Web Server"), {dns("w.example.com")}));
  CHECK_FALSE(has_code(label.static_warnings, "cn-not-first-san"));
  // The library's own builder puts a DNS common name first (via build_sans).
  Subject s = unit_pki::cn_subject("first.example.com");
  CertInfo built = inspect_certificate(self_signed(s, build_sans(s, {"z.example.com"})));
  CHECK(built.alt_names.front() == "DNS:first.example.com");
  CHECK_FALSE(has_code(built.static_warnings, "cn-not-first-san"));
}

TEST_CASE("lint weak-key: an RSA 1024 certificate", "[lint]") {
  CertInfo weak = inspect_certificate(UnitPki::get().der("weak-rsa"));
  CHECK(weak.public_key.type == "RSA");
  CHECK(weak.public_key.bits == 1024);
  CHECK(has_code(weak.static_warnings, "weak-key"));
  CHECK_FALSE(has_code(inspect_certificate(UnitPki::get().der("leaf")).static_warnings, "weak-key"));
}

TEST_CASE("lint weak-signature: SHA-1 signed certificates, except self-signed roots", "[lint]") {
  CertInfo leaf = inspect_certificate(UnitPki::get().der("sha1-leaf"));
  CHECK(leaf.signature_algorithm == "ecdsa-with-SHA1");
  CHECK(has_code(leaf.static_warnings, "weak-signature"));
  CertInfo root = inspect_certificate(UnitPki::get().der("sha1-root"));
  CHECK(root.signature_algorithm == "ecdsa-with-SHA1");
  CHECK(root.role == Role::Root);
  CHECK_FALSE(has_code(root.static_warnings, "weak-signature"));
  CHECK_FALSE(has_code(inspect_certificate(UnitPki::get().der("leaf")).static_warnings, "weak-signature"));
}

TEST_CASE("lint: a CA-signed leaf with good names, key and signature has no static warning", "[lint]") {
  CertInfo leaf = inspect_certificate(UnitPki::get().der("leaf"));
  CHECK(unit_pki::codes(leaf.static_warnings).empty());
  CertInfo root = inspect_certificate(UnitPki::get().der("root"));
  CHECK(unit_pki::codes(root.static_warnings).empty());
}
