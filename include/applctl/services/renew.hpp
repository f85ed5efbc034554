// `cert renew`: which certificates are due, and renewing them. A self-signed certificate is
// re-issued in place (same row, friendly name, IP addresses, default flag); a CA-signed one gets a
// pending request whose signed result `cert import` puts in its place; an ACME-issued one (its
// renewals row says method "acme") is re-ordered through the AcmeRenewer the caller passes in.
// Each certificate is committed on its own; a failure rolls back that certificate only and is
// recorded in its renewal state.
#pragma once

#include <cstdint>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "applctl/base/hook.hpp"
#include "applctl/codec/codec.hpp"
#include "applctl/services/renew_due.hpp"
#include "applctl/x509/keys.hpp"
#include "applctl/store/store.hpp"

namespace applctl {

// ---- The ACME seam ----

struct AcmeOrigin {
  std::string server;                    // directory URL
  std::vector<std::string> identifiers;  // DNS names and IP addresses, as ordered
  nlohmann::json challenge;              // challenge settings (http-port, webroot, dns-hook)
  std::string preferred_chain;           // acme issue --preferred-chain, "" for the server's default
  static AcmeOrigin from_json(const nlohmann::json& j);  // renewals.origin
  nlohmann::json to_json() const;
};

// Implemented by the ACME client (applctl_acme). Called with no store transaction open.
class AcmeRenewer {
 public:
  virtual ~AcmeRenewer() = default;
  // ARI: the server's renewal window for the certificate, nullopt when the server has none.
  virtual std::optional<RenewalWindow> suggested_window(const AcmeOrigin& origin, const CertRow& cert,
                                                        BytesView der) = 0;
  // A new order for the same identifiers with key: the leaf first, then its chain. Throws
  // applctl::Error on failure (Remote for the server, the others as they are).
  virtual Decoded reorder(const AcmeOrigin& origin, const PrivateKey& key, const CertRow& old, BytesView old_der) = 0;
};

// ---- Renewing ----

struct RenewRequest {
  std::vector<std::string> refs;  // friendly names or fingerprint prefixes
  bool all = false;               // every leaf certificate with its private key
  RenewBefore before;
  bool force = false;             // due or not
  bool rekey = false;             // a new key of the same spec
  std::optional<KeySpec> key;     // a new key of this spec (implies rekey)
  std::string deploy_hook;        // /bin/sh -c, once per changed certificate (applctl/base/hook.hpp)
  std::chrono::seconds hook_timeout = kDefaultHookTimeout;  // each run of the deploy hook
  bool dry_run = false;
  UnixTime now = 0;               // 0: the clock
  // A window per certificate that wins over `before` (tests, or an ARI answer known already).
  std::function<std::optional<RenewalWindow>(const CertRow&)> window;
  // [0, 1) for window_due_time; default: a random number.
  std::function<double()> pick;
};

enum class RenewMethod { SelfSigned, CaRequest, Acme };
std::string_view method_name(RenewMethod m);  // "self-signed" | "ca-request" | "acme"

// One certificate the run looked at and found due (or forced).
struct RenewPlanEntry {
  CertRow row;
  RenewMethod method = RenewMethod::SelfSigned;
  UnixTime due = 0;
  std::optional<RequestRow> pending;  // CA-signed: its renewal request exists already
};
struct NotDue {
  std::string friendly_name;
  UnixTime due = 0;
};
struct RenewPlan {
  UnixTime now = 0;
  std::vector<RenewPlanEntry> due;
  std::vector<NotDue> not_due;
};

// Read-only: what is due and how it would be renewed. Throws NotFound (exit 4) for an unknown
// named certificate, Refused (exit 5) for one that cannot be renewed (no private key, a CA
// certificate), Usage for neither CERT nor --all; nothing has changed then.
RenewPlan plan_renewals(const Store& store, const RenewRequest& request);
struct Renewed {
  std::string friendly_name;
  RenewMethod method = RenewMethod::SelfSigned;
  std::string old_fingerprint;
  std::string fingerprint_sha256;  // the new certificate's; for ca-request the request's
  UnixTime not_after = 0;          // the new certificate's (0 for ca-request)
  std::string request;             // ca-request: the new pending request's name
  bool rekeyed = false;
  std::string hook_error;          // the deploy hook failed (the renewal stays)
};
struct Pending {
  std::string friendly_name;
  std::string request;
};
struct RenewFailure {
  std::string friendly_name;
  std::string error;
  int exit_code = 1;
  // "renewal-failed": the certificate stays as it was; "deploy-failed": it was renewed and stays
  // renewed, but its deploy hook failed or was killed at --hook-timeout.
  std::string code = "renewal-failed";
};
struct RenewResult {
  bool dry_run = false;
  std::vector<Renewed> renewed;  // dry run: what would be renewed (fingerprints of the old)
  std::vector<NotDue> not_due;
  std::vector<Pending> pending;
  std::vector<RenewFailure> failed;
  // 0 renewed and none failed; 11 nothing renewed or failed; 7 a remote failure; 1 another one.
  int exit_code() const;
};

// Plans, then renews each due certificate in its own transaction. acme may be null: a due ACME
// certificate then fails with an error saying so. Never throws for one certificate's failure.
RenewResult renew_certificates(Store& store, const RenewRequest& request, AcmeRenewer* acme);

}  // namespace applctl
