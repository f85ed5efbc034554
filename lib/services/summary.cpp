// One `cert list` object per certificate, with its warnings (see applctl/services/summary.hpp).
#include "applctl/services/summary.hpp"

#include <unordered_map>

#include <fmt/format.h>

#include "applctl/services/chains.hpp"
#include "applctl/services/renew_due.hpp"
#include "applctl/store/settings.hpp"
#include "applctl/x509/names.hpp"

namespace applctl {

namespace {

void add_time_warnings(const CertRow& r, const LintContext& ctx, std::vector<Warning>& out) {
  if (ctx.now > r.not_after)
    out.push_back({"expired", fmt::format("expired on {}", format_rfc3339(r.not_after))});
  else if (ctx.now < r.not_before)
    out.push_back({"not-yet-valid", fmt::format("not valid before {}", format_rfc3339(r.not_before))});
  else if (r.not_after - ctx.now <= ctx.soon)
    out.push_back({"expires-soon", fmt::format("expires in {} days, on {}", (r.not_after - ctx.now) / 86400,
                                                format_rfc3339(r.not_after))});
}

CertSummary summarize_one(CertRow row, const LintContext& ctx, const ChainStatus& chain,
                          std::optional<std::int64_t> default_id, std::optional<std::int64_t> factory_id,
                          std::vector<std::string> ips, std::optional<RenewalState> renewal) {
  CertSummary s;
  s.has_key = row.key_id.has_value();
  s.is_default = default_id == row.id;
  s.factory_default = factory_id == row.id;
  s.ips = std::move(ips);
  s.warnings = row.static_warnings;
  add_time_warnings(row, ctx, s.warnings);
  if (!chain.complete)
    s.warnings.push_back({"chain-incomplete", fmt::format("issuer '{}' is not in the store", chain.missing)});
  if (row.role == Role::Leaf) {
    if (!s.has_key) s.warnings.push_back({"no-private-key", "no private key: it cannot be assigned or served"});
    if (!ctx.hostnames.empty()) {
      bool covered = false;
      for (const auto& h : ctx.hostnames) covered = covered || sans_cover(row.alt_names, h);
      if (!covered)
        s.warnings.push_back({"hostname-not-covered",
                              fmt::format("covers none of the appliance hostnames ({})", fmt::join(ctx.hostnames, ", "))});
    }
    if (s.has_key) s.renewal_due = due_time(row.not_before, row.not_after, RenewBefore{});
  }
  if (renewal && renewal->failed())
    s.warnings.push_back({"renewal-failed", fmt::format("the last renewal attempt ({}) failed: {}",
                                                        format_rfc3339(renewal->last_attempt.value_or(0)), renewal->last_error)});
  s.renewal = std::move(renewal);
  s.row = std::move(row);
  return s;
}

LintContext lint_context(const Store& store) { return {now(), 30 * 86400, appliance_hostnames(store)}; }

}  // namespace

std::vector<CertSummary> summarize(const Store& store, std::vector<CertRow> rows) {
  const LintContext ctx = lint_context(store);
  const auto default_id = default_cert_id(store);
  const auto factory_id = factory_cert_id(store);
  std::unordered_map<std::int64_t, std::vector<std::string>> ips;
  for (auto& ip : store.list_ips())
    if (ip.cert_id) ips[*ip.cert_id].push_back(std::move(ip.address));
  std::unordered_map<std::int64_t, RenewalState> renewals;
  for (auto& [id, state] : store.renewal_states()) renewals.emplace(id, std::move(state));
  // Chains are walked over an in-memory index of the whole table: one query, linear time.
  std::vector<CertRow> table;
  if (static_cast<std::int64_t>(rows.size()) != store.count_certs()) table = store.list_certs();
  const std::vector<CertRow>& all = table.empty() ? rows : table;
  std::unordered_multimap<std::string, const CertRow*> by_subject;
  for (const auto& r : all) by_subject.emplace(r.subject_hash, &r);
  IssuerLookup lookup = [&](const std::string& hash) {
    std::vector<const CertRow*> out;
    auto [b, e] = by_subject.equal_range(hash);
    for (auto it = b; it != e; ++it) out.push_back(it->second);
    return out;
  };
  // Chains first: the index may point into rows, so nothing is moved out of rows until all are known.
  std::vector<ChainStatus> chains;
  chains.reserve(rows.size());
  for (const auto& row : rows) chains.push_back(chain_status(row, lookup, ctx.now));
  std::vector<CertSummary> out;
  out.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CertRow& row = rows[i];
    const ChainStatus& chain = chains[i];
    auto it = ips.find(row.id);
    std::vector<std::string> row_ips = it != ips.end() ? std::move(it->second) : std::vector<std::string>{};
    std::optional<RenewalState> renewal;
    if (auto r = renewals.find(row.id); r != renewals.end()) renewal = std::move(r->second);
    out.push_back(summarize_one(std::move(row), ctx, chain, default_id, factory_id, std::move(row_ips), std::move(renewal)));
  }
  return out;
}

CertSummary summarize(const Store& store, CertRow row) {
  const LintContext ctx = lint_context(store);
  StoreChain walked = store_chain(store, row, ctx.now);
  ChainStatus chain{walked.complete, walked.missing};
  std::vector<std::string> row_ips;
  for (auto& ip : store.list_ips())
    if (ip.cert_id == row.id) row_ips.push_back(std::move(ip.address));
  auto renewal = store.renewal_state(row.id);
  return summarize_one(std::move(row), ctx, chain, default_cert_id(store), factory_cert_id(store),
                       std::move(row_ips), std::move(renewal));
}

}  // namespace applctl
