// Chains as the store knows them, walked over stored columns without parsing certificates (see
// applctl/services/chains.hpp).
#include "applctl/services/chains.hpp"

#include <algorithm>
#include <deque>
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

ChainStatus chain_status(const CertRow& row, const IssuerLookup& lookup, UnixTime at,
                         std::vector<const CertRow*>* path) {
  ChainStatus st;
  std::unordered_set<std::string> seen{row.fingerprint_sha256};
  const CertRow* cur = &row;
  for (std::size_t depth = 1; depth < kMaxChain; ++depth) {
    if (cur->self_signed) {
      st.complete = true;
      return st;
    }
    const CertRow* best = nullptr;
    auto rank = [&](const CertRow* c) {
      bool valid = c->not_before <= at && at <= c->not_after;
      return std::make_tuple(!c->subject_key_id.empty() && c->subject_key_id == cur->authority_key_id, valid,
                             c->not_after);
    };
    for (const CertRow* cand : lookup(cur->issuer_hash)) {
      if (!issued_by(*cur, *cand) || seen.contains(cand->fingerprint_sha256)) continue;
      if (best == nullptr || rank(cand) > rank(best)) best = cand;
    }
    if (best == nullptr) {
      st.missing = cur->issuer;
      return st;
    }
    seen.insert(best->fingerprint_sha256);
    if (path != nullptr) path->push_back(best);
    cur = best;
  }
  st.missing = "(chain longer than the limit)";
  return st;
}

StoreChain walk_chain(const CertRow& row, const IssuerLookup& lookup, UnixTime at) {
  std::vector<const CertRow*> path;
  ChainStatus st = chain_status(row, lookup, at, &path);
  StoreChain chain;
  chain.certificates.push_back(row);
  for (const CertRow* c : path) chain.certificates.push_back(*c);
  chain.complete = st.complete;
  chain.missing = std::move(st.missing);
  return chain;
}

StoreChain store_chain(const Store& store, const CertRow& row, UnixTime at) {
  std::deque<CertRow> holder;  // rows fetched by the walk stay alive (and in place) until it ends
  return walk_chain(
      row,
      [&](const std::string& hash) {
        std::vector<const CertRow*> out;
        for (auto& r : store.certs_by_subject_hash(hash)) out.push_back(&holder.emplace_back(std::move(r)));
        return out;
      },
      at);
}

}  // namespace applctl
