// Chains as the store knows them: which stored certificates issue which, found by issuer name
// and key identifiers, without parsing certificates.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "applctl/store/store.hpp"

namespace applctl {

struct StoreChain {
  std::vector<CertRow> certificates;  // leaf first, then its issuers, up to the root when known
  bool complete = false;              // ends in a self-signed root from the store
  std::string missing;                // issuer name that is not in the store, when incomplete
};

// The candidates that could have issued a certificate, by subject hash.
using IssuerLookup = std::function<std::vector<const CertRow*>(const std::string& subject_hash)>;

struct ChainStatus {
  bool complete = false;
  std::string missing;
};
// Whether row's chain reaches a self-signed root through the lookup, copying nothing; when path is
// given it receives the issuers found, nearest first (pointers from the lookup).
ChainStatus chain_status(const CertRow& row, const IssuerLookup& lookup, UnixTime at,
                         std::vector<const CertRow*>* path = nullptr);

// Walks from row to its root, choosing among several candidate issuers the one whose subject key
// id matches the authority key id, then one valid at `at`, then the latest expiry.
StoreChain walk_chain(const CertRow& row, const IssuerLookup& lookup, UnixTime at);
// The same against the store's index.
StoreChain store_chain(const Store& store, const CertRow& row, UnixTime at);

}  // namespace applctl

namespace applctl {

// `chain show`: the chain a certificate is served with, per its chain mode.
struct ChainLink {
  std::string friendly_name;  // "" for a certificate of a manual chain that is not in the store
  std::string fingerprint_sha256;
  std::string subject, issuer;
  Role role = Role::Leaf;
  UnixTime not_after = 0;
};
struct ChainReport {
  std::string mode;
  std::vector<ChainLink> links;  // leaf first
  bool complete = false;
  std::string missing;           // the issuer that is not there, when incomplete
};
ChainReport show_chain(const Store& store, std::string_view ref);

enum class ChainMode { Automatic, Current, Manual };
// automatic: built from the store each time; current: the chain built now, frozen; manual: the
// certificates of a PEM file, checked to issue one another starting from the certificate.
ChainReport set_chain(Store& store, std::string_view ref, ChainMode mode, const std::string& manual_file = {});

}  // namespace applctl
