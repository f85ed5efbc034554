// The one table from OpenSSL's X509_V_ERR_* values to applctl's stable reason codes
// (`chain verify` JSON "reason", documented in man/applctl-chain.1). Checks applctl adds itself
// (webpki.cpp) use the same codes.
//
// Codes:
//   expired, not-yet-valid       a certificate's validity period does not contain the time
//   unknown-issuer               no path to a trust anchor (also: a self-signed certificate that
//                                is not a trust anchor; OpenSSL's detail says which)
//   untrusted                    the anchor is explicitly distrusted for this purpose
//   bad-signature                a signature does not verify
//   hostname-mismatch, ip-mismatch, email-mismatch
//   path-length-exceeded         a CA's pathLenConstraint
//   depth-exceeded               more intermediates than --max-depth
//   name-constraints             a name outside the permitted / inside the excluded subtrees
//   key-usage                    keyUsage or extendedKeyUsage does not allow the use (incl. the
//                                purpose: serverAuth / clientAuth)
//   invalid-ca                   an issuer that is not a CA, or a CA used as the end entity
//   invalid-extension            an extension that breaks RFC 5280 / CA/B Forum rules
//   invalid-certificate          a field that breaks the rules (serial, names, times, version)
//   policy                       certificate policies
//   unsupported-algorithm        an algorithm OpenSSL cannot verify or the web PKI forbids
//   weak-key, weak-signature     below security level 2 (RSA/DSA < 2048, SHA-1 signatures)
//   other                        anything else (the detail carries OpenSSL's words)
#include <utility>

#include "verify/internal.hpp"

namespace applctl::verify_detail {

namespace {

constexpr std::pair<int, std::string_view> kReasons[] = {
    {X509_V_ERR_CERT_HAS_EXPIRED, "expired"},
    {X509_V_ERR_CERT_NOT_YET_VALID, "not-yet-valid"},

    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, "unknown-issuer"},
    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "unknown-issuer"},
    {X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, "unknown-issuer"},
    {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "unknown-issuer"},
    {X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, "unknown-issuer"},
    {X509_V_ERR_SUBJECT_ISSUER_MISMATCH, "unknown-issuer"},
    {X509_V_ERR_AKID_SKID_MISMATCH, "unknown-issuer"},
    {X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH, "unknown-issuer"},
    {X509_V_ERR_PATH_LOOP, "unknown-issuer"},
    {X509_V_ERR_CERT_UNTRUSTED, "untrusted"},
    {X509_V_ERR_CERT_REJECTED, "untrusted"},

    {X509_V_ERR_CERT_SIGNATURE_FAILURE, "bad-signature"},
    {X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE, "bad-signature"},
    {X509_V_ERR_SIGNATURE_ALGORITHM_MISMATCH, "bad-signature"},
    {X509_V_ERR_NO_ISSUER_PUBLIC_KEY, "bad-signature"},
    {X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY, "bad-signature"},

    {X509_V_ERR_HOSTNAME_MISMATCH, "hostname-mismatch"},
    {X509_V_ERR_IP_ADDRESS_MISMATCH, "ip-mismatch"},
    {X509_V_ERR_EMAIL_MISMATCH, "email-mismatch"},

    {X509_V_ERR_PATH_LENGTH_EXCEEDED, "path-length-exceeded"},
    {X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED, "path-length-exceeded"},
    {X509_V_ERR_CERT_CHAIN_TOO_LONG, "depth-exceeded"},

    {X509_V_ERR_PERMITTED_VIOLATION, "name-constraints"},
    {X509_V_ERR_EXCLUDED_VIOLATION, "name-constraints"},
    {X509_V_ERR_SUBTREE_MINMAX, "name-constraints"},
    {X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE, "name-constraints"},
    {X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX, "name-constraints"},
    {X509_V_ERR_UNSUPPORTED_NAME_SYNTAX, "name-constraints"},
    {X509_V_ERR_PROXY_SUBJECT_NAME_VIOLATION, "name-constraints"},

    {X509_V_ERR_INVALID_PURPOSE, "key-usage"},
    {X509_V_ERR_KEYUSAGE_NO_CERTSIGN, "key-usage"},
    {X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE, "key-usage"},
    {X509_V_ERR_KEYUSAGE_NO_CRL_SIGN, "key-usage"},

    {X509_V_ERR_INVALID_CA, "invalid-ca"},
    {X509_V_ERR_INVALID_NON_CA, "invalid-ca"},
    {X509_V_ERR_PROXY_CERTIFICATES_NOT_ALLOWED, "invalid-ca"},

    {X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION, "invalid-extension"},
    {X509_V_ERR_INVALID_EXTENSION, "invalid-extension"},
    {X509_V_ERR_UNSUPPORTED_EXTENSION_FEATURE, "invalid-extension"},
    {X509_V_ERR_PATHLEN_INVALID_FOR_NON_CA, "invalid-extension"},
    {X509_V_ERR_PATHLEN_WITHOUT_KU_KEY_CERT_SIGN, "invalid-extension"},
    {X509_V_ERR_KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA, "invalid-extension"},
    {X509_V_ERR_MISSING_AUTHORITY_KEY_IDENTIFIER, "invalid-extension"},
    {X509_V_ERR_MISSING_SUBJECT_KEY_IDENTIFIER, "invalid-extension"},
    {X509_V_ERR_EMPTY_SUBJECT_ALT_NAME, "invalid-extension"},
    {X509_V_ERR_EMPTY_SUBJECT_SAN_NOT_CRITICAL, "invalid-extension"},
    {X509_V_ERR_CA_BCONS_NOT_CRITICAL, "invalid-extension"},
    {X509_V_ERR_AUTHORITY_KEY_IDENTIFIER_CRITICAL, "invalid-extension"},
    {X509_V_ERR_SUBJECT_KEY_IDENTIFIER_CRITICAL, "invalid-extension"},
    {X509_V_ERR_CA_CERT_MISSING_KEY_USAGE, "invalid-extension"},
    {X509_V_ERR_EXTENSIONS_REQUIRE_VERSION_3, "invalid-extension"},
    {X509_V_ERR_UNNESTED_RESOURCE, "invalid-extension"},

    {X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD, "invalid-certificate"},
    {X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD, "invalid-certificate"},
    {X509_V_ERR_SIGNATURE_ALGORITHM_INCONSISTENCY, "invalid-certificate"},
    {X509_V_ERR_ISSUER_NAME_EMPTY, "invalid-certificate"},
    {X509_V_ERR_SUBJECT_NAME_EMPTY, "invalid-certificate"},
    {X509_V_ERR_EC_KEY_EXPLICIT_PARAMS, "invalid-certificate"},

    {X509_V_ERR_INVALID_POLICY_EXTENSION, "policy"},
    {X509_V_ERR_NO_EXPLICIT_POLICY, "policy"},

    {X509_V_ERR_UNSUPPORTED_SIGNATURE_ALGORITHM, "unsupported-algorithm"},
    {X509_V_ERR_SUITE_B_INVALID_ALGORITHM, "unsupported-algorithm"},
    {X509_V_ERR_SUITE_B_INVALID_CURVE, "unsupported-algorithm"},
    {X509_V_ERR_SUITE_B_INVALID_SIGNATURE_ALGORITHM, "unsupported-algorithm"},
    {X509_V_ERR_SUITE_B_INVALID_VERSION, "unsupported-algorithm"},

    {X509_V_ERR_EE_KEY_TOO_SMALL, "weak-key"},
    {X509_V_ERR_CA_KEY_TOO_SMALL, "weak-key"},
    {X509_V_ERR_CA_MD_TOO_WEAK, "weak-signature"},
};

}  // namespace

std::string_view reason_of(int x509_v_err) {
  for (const auto& [code, reason] : kReasons)
    if (code == x509_v_err) return reason;
  return "other";
}

}  // namespace applctl::verify_detail
