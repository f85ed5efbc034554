// Internal pieces of path validation (verify.cpp): the reason-code table, the path-candidate
// search and the checks applctl adds on top of X509_verify_cert. Not a public header.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/ossl.hpp"
#include "applctl/verify/verify.hpp"

namespace applctl::verify_detail {

// One reason why a path is not valid, found at a position of the path (0 = leaf).
struct Issue {
  int depth = 0;
  std::string reason;  // stable code (reasons.cpp)
  std::string detail;  // one human sentence
};

// The stable reason code of an X509_V_ERR_* value: the one mapping table (reasons.cpp).
std::string_view reason_of(int x509_v_err);

// Checks OpenSSL 3.0's X509_verify_cert does not make, on a path it built (leaf first, anchor
// last). Each returns the issues it finds; none throws on a certificate that merely breaks a
// rule (webpki.cpp).
std::vector<Issue> extra_checks(const std::vector<X509*>& path, const VerifyPolicy& policy);

// The individual rules, exposed for unit tests. Each looks at one certificate at position `depth`
// of the path (0 = leaf); `last` is the trust anchor.
std::vector<Issue> check_serial(X509* cert, int depth);
std::vector<Issue> check_key_identifiers(X509* cert, int depth, bool last, bool web_pki);
std::vector<Issue> check_extensions(X509* cert, int depth, bool web_pki);
std::vector<Issue> check_names(X509* cert, int depth);
std::vector<Issue> check_leaf_profile(X509* leaf, const VerifyPolicy& policy);
std::vector<Issue> check_common_name(X509* leaf, const VerifyPolicy& policy);
std::vector<Issue> check_root_profile(X509* root, int depth, const VerifyPolicy& policy);
std::vector<Issue> check_public_key(X509* cert, int depth, const VerifyPolicy& policy);
// The host name itself against every dNSName constraint above the leaf, so that a wildcard SAN
// cannot cover a name a CA excluded (CVE-2025-61727).
std::vector<Issue> check_peer_name_constraints(const std::vector<X509*>& path, const std::string& hostname);

// Every path from `leaf` to a trust anchor that name chaining (X509_check_issued) allows, in
// preference order (depth first, anchors before intermediates at each step). Each path is leaf first, anchor
// last; pointers borrow from the inputs. Stops after `max_paths` paths or when the search has
// looked at `max_steps` issuer candidates, so a hostile pool cannot make it run for long.
struct PathSearchLimits {
  std::size_t max_paths = 24;
  std::size_t max_steps = 4000;
  std::size_t max_length = 12;  // certificates in one path, anchor included
};
std::vector<std::vector<X509*>> candidate_paths(X509* leaf, const std::vector<X509*>& anchors,
                                                const std::vector<X509*>& untrusted,
                                                const PathSearchLimits& limits);

}  // namespace applctl::verify_detail
