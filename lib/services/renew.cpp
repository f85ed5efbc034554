// cert renew: plan (read-only: what is due, how), then each due certificate in its own short
// transaction. Slow work (key generation, signing, the ACME server) happens before the store's
// write lock is taken; the row is checked again under the lock.
#include "applctl/services/renew.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <unordered_set>

#include <fmt/format.h>

#include "applctl/services/appliance.hpp"
#include "applctl/x509/certificate.hpp"
#include "applctl/services/import.hpp"


namespace applctl {

namespace {

RenewMethod method_of(const RenewalCandidate& c) {
  if (c.method == "acme") return RenewMethod::Acme;
  return c.self_signed ? RenewMethod::SelfSigned : RenewMethod::CaRequest;
}

RenewalCandidate candidate_of(const Store& store, const CertRow& row) {
  RenewalCandidate c;
  c.id = row.id;
  c.friendly_name = row.friendly_name;
  c.not_before = row.not_before;
  c.not_after = row.not_after;
  c.role = row.role;
  c.has_key = row.key_id.has_value();
  c.self_signed = row.self_signed;
  if (auto state = store.renewal_state(row.id)) c.method = state->method;
  if (auto req = store.request_renewing(row.id)) c.pending_request = req->id;
  return c;
}

void require_renewable(const CertRow& row) {
  if (row.role != Role::Leaf)
    fail(ErrorKind::Refused,
         fmt::format("'{}' is a CA certificate ({}): only server certificates are renewed", row.friendly_name,
                     role_name(row.role)),
         "renew the server certificates it issued; a new CA certificate comes from its CA");
  if (!row.key_id)
    fail(ErrorKind::Refused, fmt::format("'{}' has no private key in the store: it cannot be renewed here", row.friendly_name),
         "import its private key first, or renew it where its key is");
}

double random_pick() {
  static std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

AcmeOrigin origin_of(const Store& store, std::int64_t cert_id) {
  auto state = store.renewal_state(cert_id);
  if (!state || state->origin.empty()) return {};
  return AcmeOrigin::from_json(nlohmann::json::parse(state->origin, nullptr, false));
}

RenewPlan make_plan(const Store& store, const RenewRequest& request, AcmeRenewer* acme) {
  if (request.all && !request.refs.empty())
    fail(ErrorKind::Usage, "cert renew takes CERT ... or --all, not both");
  if (!request.all && request.refs.empty())
    fail(ErrorKind::Usage, "cert renew needs CERT ... or --all", "e.g. applctl cert renew --all");
  RenewPlan plan;
  plan.now = request.now != 0 ? request.now : now();
  std::vector<RenewalCandidate> candidates;
  if (request.all) {
    for (auto& c : store.renewal_candidates())
      if (c.role == Role::Leaf && c.has_key) candidates.push_back(std::move(c));
  } else {
    // Every name is resolved and checked before anything changes.
    std::unordered_set<std::int64_t> seen;
    for (const auto& ref : request.refs) {
      CertRow row = store.resolve_cert(ref);
      require_renewable(row);
      if (seen.insert(row.id).second) candidates.push_back(candidate_of(store, row));
    }
  }
  auto pick = request.pick ? request.pick : std::function<double()>(random_pick);
  for (const auto& c : candidates) {
    const RenewMethod method = method_of(c);
    UnixTime due = due_time(c.not_before, c.not_after, request.before);
    // A window (ARI) wins over --before; only certificates that can have one are read in full.
    if (request.window || (acme && method == RenewMethod::Acme)) {
      CertRow row = *store.cert_by_id(c.id);
      std::optional<RenewalWindow> window;
      if (request.window) window = request.window(row);
      if (!window && acme && method == RenewMethod::Acme) {
        try {
          window = acme->suggested_window(origin_of(store, c.id), row, store.cert_der(c.id));
        } catch (const Error&) {
          // no window: the default rule decides
        }
      }
      if (window) due = window_due_time(*window, pick());
    }
    if (c.pending_request || request.force || is_due(due, plan.now)) {
      RenewPlanEntry e;
      e.row = *store.cert_by_id(c.id);
      e.method = method;
      e.due = due;
      if (c.pending_request && method == RenewMethod::CaRequest) e.pending = store.request_renewing(c.id);
      plan.due.push_back(std::move(e));
    } else {
      plan.not_due.push_back({c.friendly_name, due});
    }
  }
  return plan;
}

// The key of the renewed certificate: the same one, or a new one of the same (or the given) spec.
struct KeyChoice {
  PrivateKey key;
  bool rekeyed = false;
};

KeyChoice choose_key(const Store& store, const CertRow& row, const RenewRequest& request) {
  PrivateKey old = store.load_key(*row.key_id);
  if (!request.rekey && !request.key) return {old, false};
  KeySpec spec = request.key ? *request.key : KeySpec::parse(old.info().spec());
  return {PrivateKey::generate(spec), true};
}

// Under the lock: the certificate is still the one planned (another command may have renewed,
// replaced or removed it since).
void require_unchanged(const Store& store, const CertRow& planned) {
  auto now_row = store.cert_by_id(planned.id);
  if (!now_row || now_row->fingerprint_sha256 != planned.fingerprint_sha256)
    fail(ErrorKind::Refused, fmt::format("'{}' was changed by another command while renewing", planned.friendly_name),
         "run cert renew again");
}

std::string audit_name(const CertRow& row) {
  return fmt::format("cert:{}:{}", row.friendly_name, row.fingerprint_sha256.substr(0, 16));
}

// In a transaction: the new certificate (and key) in the old one's row.
// What the run reports for e: the new certificate's (or request's) fingerprint.
Renewed renewed_of(const RenewPlanEntry& e, std::string fingerprint, bool rekeyed) {
  Renewed r;
  r.friendly_name = e.row.friendly_name;
  r.method = e.method;
  r.old_fingerprint = e.row.fingerprint_sha256;
  r.fingerprint_sha256 = std::move(fingerprint);
  r.rekeyed = rekeyed;
  return r;
}

Renewed install(Store& store, const RenewPlanEntry& e, const KeyChoice& k, const Bytes& der, Transaction& tx) {
  CertInfo info = inspect_certificate(der);
  if (info.spki_sha256 != k.key.spki_sha256())
    fail(ErrorKind::Remote, fmt::format("the new certificate for '{}' is not for its key", e.row.friendly_name));
  require_unchanged(store, e.row);
  std::int64_t key_id = store.insert_key(k.key);
  store.replace_cert_in_place(e.row.id, info, der, key_id);
  if (*e.row.key_id != key_id) store.remove_key_if_unused(*e.row.key_id);
  tx.touch(audit_name(e.row));
  Renewed r = renewed_of(e, info.fingerprint_sha256, k.rekeyed);
  r.not_after = info.not_after;
  return r;
}

std::string free_request_name(const Store& store, const std::string& base) {
  std::unordered_set<std::string> taken;
  for (const auto& r : store.list_requests()) taken.insert(r.friendly_name);
  std::string name = base;
  for (int i = 2; taken.contains(name); ++i) name = fmt::format("{}-{}", base, i);
  return name;
}

Renewed renew_one(Store& store, const RenewPlanEntry& e, const RenewRequest& request, AcmeRenewer* acme) {
  const UnixTime t = now();
  if (e.method == RenewMethod::Acme && acme == nullptr)
    fail(ErrorKind::Failed, fmt::format("'{}' was issued by an ACME server and this applctl has no ACME client", e.row.friendly_name),
         "run cert renew through the applctl that has the ACME client (applctl acme)");
  KeyChoice k = choose_key(store, e.row, request);
  const Bytes old_der = store.cert_der(e.row.id);
  switch (e.method) {
    case RenewMethod::SelfSigned: {
      Bytes der = reissue_self_signed(k.key, old_der, t, e.row.not_after - e.row.not_before);
      auto tx = store.write("cert renew");
      Renewed r = install(store, e, k, der, tx);
      store.record_renewal_attempt(e.row.id, t, "");
      tx.commit();
      return r;
    }
    case RenewMethod::Acme: {
      Decoded d = acme->reorder(origin_of(store, e.row.id), k.key, e.row, old_der);  // no lock held
      if (d.certificates.empty())
        fail(ErrorKind::Remote, fmt::format("the ACME server sent no certificate for '{}'", e.row.friendly_name));
      auto tx = store.write("cert renew");
      Renewed r = install(store, e, k, d.certificates.front(), tx);
      for (std::size_t i = 1; i < d.certificates.size(); ++i) {  // the chain, as import adds it
        CertInfo ci = inspect_certificate(d.certificates[i]);
        if (!store.cert_by_fingerprint(ci.fingerprint_sha256))
          store.insert_cert(ci, d.certificates[i], import_name(store, ci).name, store.find_key(ci.spki_sha256), "imported");
      }
      store.record_renewal_attempt(e.row.id, t, "");
      tx.commit();
      return r;
    }
    case RenewMethod::CaRequest: {
      NewCsr csr = build_renewal_csr(k.key, old_der);
      auto tx = store.write("cert renew");
      require_unchanged(store, e.row);
      if (auto existing = store.request_renewing(e.row.id))
        fail(ErrorKind::Refused, fmt::format("'{}' has a renewal request already: '{}'", e.row.friendly_name, existing->friendly_name));
      RequestRow row;
      row.friendly_name = free_request_name(store, e.row.friendly_name + "-renewal");
      row.subject = csr.info.subject;
      row.alt_names = csr.info.alt_names;
      row.fingerprint_sha256 = sha256_hex(csr.der);
      row.spki_sha256 = csr.info.spki_sha256;
      row.key_spec = k.key.info().spec();
      row.key_id = store.insert_key(k.key);
      row.created = t;
      row.renews_certificate_id = e.row.id;
      store.insert_request(row, csr.der);
      store.record_renewal_attempt(e.row.id, t, "");
      tx.touch("request:" + row.friendly_name);
      tx.commit();
      Renewed r = renewed_of(e, row.fingerprint_sha256, k.rekeyed);
      r.request = row.friendly_name;
      return r;
    }
  }
  fail(ErrorKind::Failed, "internal: unknown renewal method");
}

// The failed attempt, in a transaction of its own (the renewal itself was rolled back). Not when
// another command renewed the certificate meanwhile (a second cron run): its state is the other
// run's success.
void record_failure(Store& store, const RenewPlanEntry& e, const std::string& error) {
  const CertRow& row = e.row;
  try {
    auto tx = store.write("cert renew (failed)");
    auto current = store.cert_by_id(row.id);
    if (!current || current->fingerprint_sha256 != row.fingerprint_sha256) return;
    if (e.method == RenewMethod::CaRequest && store.request_renewing(row.id)) return;
    store.record_renewal_attempt(row.id, now(), error);
    tx.touch(audit_name(row));
    tx.commit();
  } catch (const Error&) {
    // the store cannot take it (locked too long): the failure is still reported
  }
}

// The deploy hook (applctl/base/hook.hpp) with the certificate in its environment. Returns "" or
// what went wrong.
std::string run_deploy_hook(const RenewRequest& request, const Store& store, const Renewed& r) {
  HookResult hook = run_hook({request.deploy_hook,
                              {"APPLCTL_CERT_NAME=" + r.friendly_name, "APPLCTL_CERT_FINGERPRINT=" + r.fingerprint_sha256,
                               "APPLCTL_STORE=" + store.dir().string()},
                              "",
                              std::chrono::steady_clock::now() + request.hook_timeout});
  if (hook.ok()) return {};
  if (hook.timed_out)
    return fmt::format("deploy hook '{}' did not finish within {} and was killed (the new certificate is in place)",
                       printable(request.deploy_hook), format_duration(request.hook_timeout.count()));
  return fmt::format("deploy hook '{}' failed: {}", printable(request.deploy_hook), hook.describe());
}

}  // namespace

RenewPlan plan_renewals(const Store& store, const RenewRequest& request) { return make_plan(store, request, nullptr); }

RenewResult renew_certificates(Store& store, const RenewRequest& request, AcmeRenewer* acme) {
  RenewPlan plan = make_plan(store, request, acme);
  RenewResult result;
  result.dry_run = request.dry_run;
  result.not_due = plan.not_due;
  for (const auto& e : plan.due) {
    if (e.pending) {
      result.pending.push_back({e.row.friendly_name, e.pending->friendly_name});
      continue;
    }
    if (request.dry_run) {
      Renewed r = renewed_of(e, e.row.fingerprint_sha256, request.rekey || request.key.has_value());
      r.not_after = e.row.not_after;
      result.renewed.push_back(std::move(r));
      continue;
    }
    try {
      Renewed r = renew_one(store, e, request, acme);
      // A CA request deploys nothing yet: no hook for it.
      if (!request.deploy_hook.empty() && r.method != RenewMethod::CaRequest &&
          r.fingerprint_sha256 != r.old_fingerprint) {
        r.hook_error = run_deploy_hook(request, store, r);
        if (!r.hook_error.empty()) result.failed.push_back({r.friendly_name, r.hook_error, 1, "deploy-failed"});
      }
      result.renewed.push_back(std::move(r));
    } catch (const Error& err) {
      result.failed.push_back({e.row.friendly_name, err.what(), err.exit_code()});
      record_failure(store, e, err.what());
    } catch (const std::exception& err) {
      result.failed.push_back({e.row.friendly_name, err.what(), 1});
      record_failure(store, e, err.what());
    }
  }
  return result;
}

}  // namespace applctl
