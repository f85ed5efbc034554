// `applctl status` (see applctl/services/status.hpp).
#include "applctl/services/status.hpp"

#include "applctl/kmip/config.hpp"
#include "applctl/services/renew_due.hpp"
#include "applctl/store/settings.hpp"
#include "applctl/store/store_key.hpp"

namespace applctl {

StatusResult appliance_status(const Store& store) {
  StatusResult s;
  s.store = store.dir().string();
  s.initialized = factory_cert_id(store).has_value();
  s.hostnames = appliance_hostnames(store);
  s.certificates = store.count_certs();
  s.requests = store.count_requests();
  s.unattached_keys = store.count_unattached_keys();
  if (auto id = default_cert_id(store))
    if (auto row = store.cert_by_id(*id)) s.default_cert = summarize(store, std::move(*row));
  if (auto id = factory_cert_id(store))
    if (auto row = store.cert_by_id(*id)) s.factory = summarize(store, std::move(*row));
  for (auto& ip : store.list_ips()) {
    IpView v{ip.address, {}, {}};
    if (ip.cert_id)
      if (auto row = store.cert_by_id(*ip.cert_id)) {
        v.certificate = row->friendly_name;
        v.fingerprint_sha256 = row->fingerprint_sha256;
      }
    s.ips.push_back(std::move(v));
  }
  s.soonest_expiry = store.soonest_expiry();
  // Renewal: the next leaf with its key to become due, and those whose last attempt failed.
  for (const auto& c : store.renewal_candidates()) {
    if (c.role != Role::Leaf || !c.has_key) continue;
    UnixTime due = due_time(c.not_before, c.not_after, RenewBefore{});
    if (!s.next_renewal || due < s.next_renewal->due) s.next_renewal = RenewalDue{c.friendly_name, due};
  }
  for (const auto& [id, state] : store.renewal_states())
    if (state.failed())
      if (auto row = store.cert_by_id(id)) s.renewal_failed.push_back({row->friendly_name, state.last_error});
  // Only `status` reads the KMIP settings file; nothing of it but the server is used here.
  if (auto kmip = load_kmip_config(store.dir())) {
    s.kmip_configured = true;
    s.kmip_server = kmip->server();
    s.encrypted = store_encrypted(store.dir());
    if (s.encrypted) s.encryption_key_uid = kmip->encryption_key_uid;
  }
  return s;
}

}  // namespace applctl
