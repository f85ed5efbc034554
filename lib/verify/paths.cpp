// Path candidates: a depth-first search from the leaf towards the trust anchors over every
// certificate that could have issued the current one (name chaining, AKI/SKI, keyCertSign and a
// signature that verifies), so that verify.cpp can try paths OpenSSL 3.0 did not build
// (it commits to one issuer per step and never backtracks). RFC 4158 in spirit: anchors before
// intermediates, no certificate twice, no subject+key twice (cross-certificate loops).
#include "verify/internal.hpp"

namespace applctl::verify_detail {

namespace {

class Search {
 public:
  Search(const std::vector<X509*>& anchors, const std::vector<X509*>& untrusted, const PathSearchLimits& limits)
      : anchors_(anchors), untrusted_(untrusted), limits_(limits) {}

  std::vector<std::vector<X509*>> run(X509* leaf) {
    if (X509* self = anchor_equal_to(leaf)) {
      found_.push_back({self});
      return std::move(found_);
    }
    std::vector<X509*> path{leaf};
    extend(path);
    return std::move(found_);
  }

 private:
  bool exhausted() const { return found_.size() >= limits_.max_paths || steps_ >= limits_.max_steps; }

  X509* anchor_equal_to(X509* x) const {
    for (X509* a : anchors_)
      if (X509_cmp(a, x) == 0) return a;
    return nullptr;
  }

  // Same certificate, or the same subject with the same key (another certificate for a CA that is
  // already on the path): either would make a loop.
  static bool on_path(const std::vector<X509*>& path, X509* cand) {
    for (X509* p : path) {
      if (X509_cmp(p, cand) == 0) return true;
      if (X509_NAME_cmp(X509_get_subject_name(p), X509_get_subject_name(cand)) == 0) {
        EVP_PKEY* a = X509_get0_pubkey(p);
        EVP_PKEY* b = X509_get0_pubkey(cand);
        if (a != nullptr && b != nullptr && EVP_PKEY_eq(a, b) == 1) return true;
      }
    }
    ERR_clear_error();
    return false;
  }

  bool issued(X509* issuer, X509* subject) {
    ++steps_;
    if (X509_check_issued(issuer, subject) != X509_V_OK) return false;
    EVP_PKEY* key = X509_get0_pubkey(issuer);
    const bool ok = key != nullptr && X509_verify(subject, key) == 1;
    ERR_clear_error();
    return ok;
  }

  void extend(std::vector<X509*>& path) {
    X509* top = path.back();
    for (X509* a : anchors_) {
      if (exhausted()) return;
      if (on_path(path, a) || !issued(a, top)) continue;
      path.push_back(a);
      found_.push_back(path);
      path.pop_back();
    }
    if (path.size() + 1 >= limits_.max_length) return;
    for (X509* u : untrusted_) {
      if (exhausted()) return;
      if (anchor_equal_to(u) != nullptr || on_path(path, u) || !issued(u, top)) continue;
      path.push_back(u);
      extend(path);
      path.pop_back();
    }
  }

  const std::vector<X509*>& anchors_;
  const std::vector<X509*>& untrusted_;
  const PathSearchLimits& limits_;
  std::vector<std::vector<X509*>> found_;
  std::size_t steps_ = 0;
};

}  // namespace

std::vector<std::vector<X509*>> candidate_paths(X509* leaf, const std::vector<X509*>& anchors,
                                                const std::vector<X509*>& untrusted,
                                                const PathSearchLimits& limits) {
  return Search(anchors, untrusted, limits).run(leaf);
}

}  // namespace applctl::verify_detail
