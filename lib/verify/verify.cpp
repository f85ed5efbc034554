// Path validation: OpenSSL's X509_verify_cert under applctl's policy, a retry over alternative
// paths when the path OpenSSL built fails, and the checks of webpki.cpp on top.
//
// Decisions, measured on the x509-limbo suite (scripts/conformance; OpenSSL 3.0 alone: 97.59%):
// - Trust anchors are exactly the given roots, self-signed or not (X509_V_FLAG_PARTIAL_CHAIN, as
//   the OpenSSL baseline runs): RFC 5280 6.1 and the web PKI take any trusted certificate as an
//   anchor, and `--roots intermediate.pem` is how an operator pins a private CA. Without it the
//   suite scored 4 cases more before webpki.cpp existed, all by accident (roots whose AKI
//   breaks the web PKI rules stopped being anchors, which those checks now catch by name), and it
//   loses two valid cross-signed-root paths.
// - X509_V_FLAG_X509_STRICT, security level 2, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS and
//   X509_CHECK_FLAG_NEVER_CHECK_SUBJECT: a host name must be in the SAN, never only in the CN
//   (with it all 9,491 BetterTLS name-constraint cases match; OpenSSL's defaults match 9,335).
// - The default purpose is server (X509_PURPOSE_SSL_SERVER): `chain verify` is about TLS servers;
//   "any" as the default would score 6 cases fewer.
// - OpenSSL 3.0 builds one path and does not backtrack: when that path fails, every other path
//   the pool allows (paths.cpp) is verified on its own, and the first that passes wins
//   (all 81 BetterTLS path-building cases, against 54 for OpenSSL alone).
// - notAfter is inclusive (RFC 5280 4.1.2.5): OpenSSL calls a certificate expired at the very
//   second of its notAfter; applctl does not. A fractional --at is an instant: 0.5 s after
//   notAfter is expired, 0.5 s before notBefore is not yet valid (limbo's notafter-fractional,
//   which it calls ambiguous, expects the floored reading; this costs that one case).
// - --max-depth counts intermediates as RFC 5280 counts path length: self-issued intermediates
//   (a CA re-keying under the same name) do not count.
#include "applctl/verify/verify.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "base/ossl.hpp"
#include "verify/internal.hpp"
#include "x509/util.hpp"

namespace applctl {

using verify_detail::Issue;

Purpose parse_purpose(std::string_view s) {
  if (s == "server") return Purpose::Server;
  if (s == "client") return Purpose::Client;
  if (s == "any") return Purpose::Any;
  fail(ErrorKind::Usage, fmt::format("unknown purpose '{}'", s), "use server, client or any");
}

namespace {

constexpr bool kPartialChain = true;

struct Recorder {
  Instant at;
  std::vector<Issue> issues;
};

bool has_issue(const std::vector<Issue>& issues, int depth, std::string_view reason) {
  return std::any_of(issues.begin(), issues.end(),
                     [&](const Issue& i) { return i.depth == depth && i.reason == reason; });
}

// The verify callback: record every error with its depth and let OpenSSL go on, so that the
// whole path is built and every certificate gets its own status.
int record_error(int ok, X509_STORE_CTX* ctx) {
  if (ok == 1) return 1;
  auto* rec = static_cast<Recorder*>(X509_STORE_CTX_get_ex_data(ctx, 0));
  const int err = X509_STORE_CTX_get_error(ctx);
  const int depth = X509_STORE_CTX_get_error_depth(ctx);
  X509* cert = X509_STORE_CTX_get_current_cert(ctx);
  // OpenSSL treats the notAfter second itself as expired; RFC 5280 says it is still valid.
  if (err == X509_V_ERR_CERT_HAS_EXPIRED && rec->at.nanos == 0 && cert != nullptr &&
      ASN1_TIME_cmp_time_t(X509_get0_notAfter(cert), rec->at.seconds) == 0)
    return 1;
  std::string reason(verify_detail::reason_of(err));
  if (!has_issue(rec->issues, depth, reason))
    rec->issues.push_back({depth, std::move(reason), X509_verify_cert_error_string(err)});
  return 1;
}

int openssl_purpose(Purpose p) {
  switch (p) {
    case Purpose::Server: return X509_PURPOSE_SSL_SERVER;
    case Purpose::Client: return X509_PURPOSE_SSL_CLIENT;
    case Purpose::Any: return X509_PURPOSE_ANY;
  }
  return X509_PURPOSE_ANY;
}

// Intermediates that count against --max-depth in a built path: not the leaf, not the anchor,
// not a self-issued one.
int self_issued_intermediates(const std::vector<X509*>& path) {
  int n = 0;
  for (std::size_t i = 1; i + 1 < path.size(); ++i)
    if (X509_NAME_cmp(X509_get_subject_name(path[i]), X509_get_issuer_name(path[i])) == 0) ++n;
  return n;
}

void configure(X509_STORE_CTX* ctx, const VerifyPolicy& policy, const Instant& at, int extra_depth) {
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  unsigned long flags = X509_V_FLAG_X509_STRICT;
  if (kPartialChain) flags |= X509_V_FLAG_PARTIAL_CHAIN;
  ossl::check(X509_VERIFY_PARAM_set_flags(param, flags), "X509_VERIFY_PARAM_set_flags");
  X509_VERIFY_PARAM_set_auth_level(param, 2);
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(at.seconds));
  ossl::check(X509_STORE_CTX_set_purpose(ctx, openssl_purpose(policy.purpose)), "X509_STORE_CTX_set_purpose");
  if (policy.max_depth) X509_VERIFY_PARAM_set_depth(param, *policy.max_depth + extra_depth);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  if (policy.hostname)
    ossl::check(X509_VERIFY_PARAM_set1_host(param, policy.hostname->data(), policy.hostname->size()),
                "X509_VERIFY_PARAM_set1_host", ErrorKind::Usage);
  if (policy.ip && X509_VERIFY_PARAM_set1_ip_asc(param, policy.ip->c_str()) != 1) {
    ERR_clear_error();
    fail(ErrorKind::Usage, fmt::format("--ip '{}' is not an IPv4 or IPv6 address", *policy.ip));
  }
}

// One run of X509_verify_cert and the extra checks on the path it built.
struct Attempt {
  ossl::X509StackPtr chain;  // leaf first
  std::vector<Issue> issues;
  bool ok() const { return issues.empty(); }
  bool reached_anchor() const {
    return std::none_of(issues.begin(), issues.end(),
                        [](const Issue& i) { return i.reason == "unknown-issuer" || i.reason == "untrusted"; });
  }
};

std::vector<X509*> as_vector(const STACK_OF(X509) * s) {
  std::vector<X509*> out;
  for (int i = 0; i < sk_X509_num(s); ++i) out.push_back(sk_X509_value(s, i));
  return out;
}

Attempt attempt(X509* leaf, X509_STORE* store, STACK_OF(X509) * untrusted, const VerifyPolicy& policy,
                const Instant& at, int extra_depth) {
  ossl::X509StoreCtxPtr ctx(ossl::check_ptr(X509_STORE_CTX_new(), "X509_STORE_CTX_new"));
  ossl::check(X509_STORE_CTX_init(ctx.get(), store, leaf, untrusted), "X509_STORE_CTX_init");
  configure(ctx.get(), policy, at, extra_depth);
  Recorder rec{at, {}};
  X509_STORE_CTX_set_ex_data(ctx.get(), 0, &rec);
  X509_STORE_CTX_set_verify_cb(ctx.get(), record_error);
  const int rc = X509_verify_cert(ctx.get());
  Attempt out;
  out.chain.reset(X509_STORE_CTX_get1_chain(ctx.get()));
  if (!out.chain) {  // nothing was built at all: the leaf alone is the path
    out.chain.reset(ossl::check_ptr(sk_X509_new_null(), "sk_X509_new_null"));
    ossl::check(X509_up_ref(leaf), "X509_up_ref");
    if (sk_X509_push(out.chain.get(), leaf) <= 0) {
      X509_free(leaf);
      ossl::raise("sk_X509_push");
    }
  }
  out.issues = std::move(rec.issues);
  if (rc <= 0 && out.issues.empty()) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    out.issues.push_back({0, std::string(verify_detail::reason_of(err)),
                          fmt::format("X509_verify_cert failed: {}", X509_verify_cert_error_string(err))});
  }
  ERR_clear_error();
  const auto path = as_vector(out.chain.get());
  // --max-depth: OpenSSL counted self-issued intermediates (extra_depth makes room for them on
  // a known path); the logical count is checked here.
  if (policy.max_depth) {
    const int counted = static_cast<int>(path.size()) - 2 - self_issued_intermediates(path);
    if (counted > *policy.max_depth && !has_issue(out.issues, static_cast<int>(path.size()) - 1, "depth-exceeded"))
      out.issues.push_back({static_cast<int>(path.size()) - 1, "depth-exceeded",
                            fmt::format("{} intermediates, at most {} allowed", counted, *policy.max_depth)});
  }
  for (auto& issue : verify_detail::extra_checks(path, policy))
    if (!has_issue(out.issues, issue.depth, issue.reason)) out.issues.push_back(std::move(issue));
  return out;
}

ossl::X509Ptr decode(BytesView der, std::string_view what) {
  ossl::X509Ptr x = ossl::parse_x509(der);
  if (!x) {
    const unsigned char* p = der.data();
    x.reset(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  }
  if (!x) {
    std::string queue = ossl::drain_errors();
    fail(ErrorKind::BadInput, fmt::format("cannot decode {}: {}", what, queue.empty() ? "not a DER certificate" : queue));
  }
  return x;
}

ossl::X509StackPtr new_stack() { return ossl::X509StackPtr(ossl::check_ptr(sk_X509_new_null(), "sk_X509_new_null")); }

void push(STACK_OF(X509) * s, X509* x) {
  ossl::check(X509_up_ref(x), "X509_up_ref");
  if (sk_X509_push(s, x) <= 0) {
    X509_free(x);
    ossl::raise("sk_X509_push");
  }
}

ossl::X509StorePtr new_store() { return ossl::X509StorePtr(ossl::check_ptr(X509_STORE_new(), "X509_STORE_new")); }

bool same_path(const std::vector<X509*>& a, const STACK_OF(X509) * b) {
  if (static_cast<int>(a.size()) != sk_X509_num(b)) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (X509_cmp(a[i], sk_X509_value(b, static_cast<int>(i))) != 0) return false;
  return true;
}

// Alternatives to the path OpenSSL chose: each candidate verified with exactly its own anchor
// and intermediates, so OpenSSL has no other choice to make.
std::optional<Attempt> retry_paths(X509* leaf, const std::vector<X509*>& anchors, const std::vector<X509*>& untrusted,
                                   const Attempt& first, const VerifyPolicy& policy, const Instant& at,
                                   std::optional<Attempt>& complete_failure) {
  verify_detail::PathSearchLimits limits;
  if (policy.max_depth)
    limits.max_length = std::clamp<std::size_t>(static_cast<std::size_t>(*policy.max_depth) + 2, limits.max_length, 32);
  for (const auto& path : verify_detail::candidate_paths(leaf, anchors, untrusted, limits)) {
    if (same_path(path, first.chain.get())) continue;
    auto store = new_store();
    ossl::check(X509_STORE_add_cert(store.get(), path.back()), "X509_STORE_add_cert");
    auto inter = new_stack();
    for (std::size_t i = 1; i + 1 < path.size(); ++i) push(inter.get(), path[i]);
    Attempt a = attempt(leaf, store.get(), inter.get(), policy, at, self_issued_intermediates(path));
    if (a.ok()) return a;
    if (!complete_failure && a.reached_anchor()) complete_failure = std::move(a);
  }
  return std::nullopt;
}

Role role_in_path(X509* x, std::size_t i, std::size_t n) {
  const bool self_signed = (X509_get_extension_flags(x) & EXFLAG_SS) != 0;
  if (i == 0 && n > 1) return Role::Leaf;
  if (i + 1 == n && self_signed) return Role::Root;
  return i == 0 ? Role::Leaf : Role::Intermediate;
}

VerifyResult to_result(const Attempt& a, const Instant& at) {
  VerifyResult r;
  r.checked_at = at.seconds;
  r.valid = a.ok();
  const auto path = as_vector(a.chain.get());
  for (std::size_t i = 0; i < path.size(); ++i) {
    const Bytes der = ossl::to_der(path[i], i2d_X509, "i2d_X509");
    PathEntry e{sha256_hex(der), x509util::rfc4514(X509_get_subject_name(path[i])), role_in_path(path[i], i, path.size()),
                "ok"};
    for (const auto& issue : a.issues)
      if (static_cast<std::size_t>(std::clamp<int>(issue.depth, 0, static_cast<int>(path.size()) - 1)) == i) {
        e.status = issue.reason;
        break;
      }
    r.path.push_back(std::move(e));
  }
  if (!a.ok()) {
    const Issue& first = a.issues.front();
    r.reason = first.reason;
    const int depth = std::clamp<int>(first.depth, 0, static_cast<int>(path.size()) - 1);
    r.detail = fmt::format("{} at depth {} ({})", first.detail, first.depth, r.path[static_cast<std::size_t>(depth)].subject);
  }
  return r;
}

}  // namespace

VerifyResult verify_chain(BytesView leaf_der, const VerifyPolicy& policy) {
  if (policy.max_depth && *policy.max_depth < 0)
    fail(ErrorKind::Usage, fmt::format("--max-depth {} is negative", *policy.max_depth));
  if (policy.hostname && policy.hostname->empty()) fail(ErrorKind::Usage, "--hostname is empty");
  ossl::X509Ptr leaf = decode(leaf_der, "the certificate to verify");
  std::vector<ossl::X509Ptr> owned;
  std::vector<X509*> anchors, untrusted;
  for (std::size_t i = 0; i < policy.roots.size(); ++i) {
    owned.push_back(decode(policy.roots[i], fmt::format("trust anchor #{}", i + 1)));
    anchors.push_back(owned.back().get());
  }
  for (std::size_t i = 0; i < policy.untrusted.size(); ++i) {
    owned.push_back(decode(policy.untrusted[i], fmt::format("untrusted certificate #{}", i + 1)));
    untrusted.push_back(owned.back().get());
  }
  const Instant at = policy.at.value_or(Instant{now(), 0});

  auto store = new_store();
  for (X509* x : anchors) ossl::check(X509_STORE_add_cert(store.get(), x), "X509_STORE_add_cert");
  if (policy.system_roots) {
    ossl::check(X509_STORE_set_default_paths(store.get()), "X509_STORE_set_default_paths");
    // The bundle file is loaded now; its certificates take part in the path search as well.
    ossl::X509StackPtr all(X509_STORE_get1_all_certs(store.get()));
    for (int i = 0; all && i < sk_X509_num(all.get()); ++i) {
      X509* x = sk_X509_value(all.get(), i);
      if (std::none_of(anchors.begin(), anchors.end(), [&](X509* a) { return X509_cmp(a, x) == 0; })) {
        ossl::check(X509_up_ref(x), "X509_up_ref");
        owned.emplace_back(x);
        anchors.push_back(x);
      }
    }
  }
  auto inter = new_stack();
  for (X509* x : untrusted) push(inter.get(), x);

  Attempt first = attempt(leaf.get(), store.get(), inter.get(), policy, at, 0);
  if (first.ok()) return to_result(first, at);

  std::optional<Attempt> complete_failure;
  if (auto alt = retry_paths(leaf.get(), anchors, untrusted, first, policy, at, complete_failure))
    return to_result(*alt, at);
  // No path passes: report the one OpenSSL chose, unless it got stuck short of an anchor while
  // another path reached one (its failure says more than "unknown issuer").
  if (!first.reached_anchor() && complete_failure) return to_result(*complete_failure, at);
  return to_result(first, at);
}

}  // namespace applctl
