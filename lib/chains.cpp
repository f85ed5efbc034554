#include "applctl/chains.hpp"

#include <algorithm>
#include <unordered_set>

namespace applctl {

namespace {

constexpr std::size_t kMaxChain = 12;

bool issued_by(const CertRow& child, const CertRow& parent) {
  if (child.issuer_hash != parent.subject_hash) return false;
  return child.authority_key_id.empty() || parent.subject_key_id.empty() ||
         child.authority_key_id == parent.subject_key_id;
}

}  // namespace

StoreChain walk_chain(const CertRow& row, const IssuerLookup& lookup, UnixTime at) {
  StoreChain chain;
  chain.certificates.push_back(row);
  std::unordered_set<std::string> seen{row.fingerprint_sha256};
  while (chain.certificates.size() < kMaxChain) {
    const CertRow& cur = chain.certificates.back();
    if (cur.self_signed) {
      chain.complete = true;
      return chain;
    }
    const CertRow* best = nullptr;
    for (const CertRow* cand : lookup(cur.issuer_hash)) {
      if (!issued_by(cur, *cand) || seen.contains(cand->fingerprint_sha256)) continue;
      auto rank = [&](const CertRow* c) {
        bool valid = c->not_before <= at && at <= c->not_after;
        return std::make_tuple(!c->subject_key_id.empty() && c->subject_key_id == cur.authority_key_id, valid,
                               c->not_after);
      };
      if (best == nullptr || rank(cand) > rank(best)) best = cand;
    }
    if (best == nullptr) {
      chain.missing = cur.issuer;
      return chain;
    }
    seen.insert(best->fingerprint_sha256);
    chain.certificates.push_back(*best);
  }
  chain.missing = "(chain longer than the limit)";
  return chain;
}

StoreChain store_chain(const Store& store, const CertRow& row, UnixTime at) {
  std::vector<CertRow> holder;
  return walk_chain(
      row,
      [&](const std::string& hash) {
        holder = store.certs_by_subject_hash(hash);
        std::vector<const CertRow*> out;
        for (const auto& r : holder) out.push_back(&r);
        return out;
      },
      at);
}

}  // namespace applctl
