// `cert import`: whatever a CA, a vendor or a failover peer sends, in any format, linked to the
// keys the store already holds. All files are decoded and checked before anything is written;
// then one transaction adds everything.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "applctl/services/appliance.hpp"
#include "applctl/codec/codec.hpp"

namespace applctl {

struct ImportRequest {
  std::vector<std::string> files;
  std::optional<std::string> name;  // for the end-entity certificate (one leaf only)
  PassphraseFn passphrase;          // asked only for encrypted inputs
  bool passphrase_given = false;    // from a file or the environment (see decode_any)
};

struct ImportedCert {
  CertSummary summary;
  std::string status;  // "added" | "exists" | "linked" (an existing certificate got its key)
  std::string fulfilled_request;  // the pending request this certificate fulfils, if any
  std::string replaced;           // fingerprint of the certificate it replaced in place, if any
  std::string replaced_name;      // and that certificate's friendly name (which this one took)
  std::vector<std::string> name_changes;  // how a name made from the certificate was changed (DerivedName)
};

struct ImportResult {
  std::vector<ImportedCert> certificates;
  int keys_added = 0;
  std::vector<std::string> unattached_keys;  // SPKI SHA-256 of stored keys no certificate uses yet
};

ImportResult import_files(Store& store, const ImportRequest& request);
// The same for inputs already decoded (source name, content), e.g. what an ACME server sent:
// the same checks, one transaction with the audit row `command`; a new leaf certificate's
// source column says `source` ("imported", "acme"). acme_origin: how to order the new leaf
// again (renewals.origin, method "acme"), written in the same transaction.
ImportResult import_decoded(Store& store, std::vector<std::pair<std::string, Decoded>> inputs,
                            const std::optional<std::string>& name, std::string_view source,
                            std::string_view command, std::string_view acme_origin = {});

// The name an imported certificate gets when none is given: what it is issued to, within the
// friendly name rules (derived_friendly_name), made unique with a fingerprint prefix when that
// name is taken.
DerivedName import_name(const Store& store, const CertInfo& info);

}  // namespace applctl
