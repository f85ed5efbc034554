// `chain show` and `chain set`: seed 002's automatic / current / manual chain modes.
#include <fmt/format.h>

#include "applctl/services/appliance.hpp"
#include "applctl/services/certs.hpp"
#include "applctl/services/chains.hpp"
#include "applctl/codec/codec.hpp"

namespace applctl {

namespace {

ChainLink link_of(const CertRow& r) {
  return {r.friendly_name, r.fingerprint_sha256, r.subject, r.issuer, r.role, r.not_after};
}

ChainLink link_of(const Store& store, const CertInfo& i) {
  auto stored = store.cert_by_fingerprint(i.fingerprint_sha256);
  return {stored ? stored->friendly_name : "", i.fingerprint_sha256, i.subject, i.issuer, i.role, i.not_after};
}

ChainReport report(const Store& store, const CertRow& row) {
  ChainReport r;
  r.mode = row.chain_mode;
  if (row.chain_mode == "automatic") {
    StoreChain chain = store_chain(store, row, now());
    for (const auto& c : chain.certificates) r.links.push_back(link_of(c));
    r.complete = chain.complete;
    r.missing = chain.missing;
    return r;
  }
  r.links.push_back(link_of(row));
  bool self_signed = row.self_signed;
  std::string last_issuer = row.issuer;
  for (const auto& der : chain_for_export(store, row)) {
    CertInfo i = inspect_certificate(der);
    r.links.push_back(link_of(store, i));
    self_signed = i.self_signed;
    last_issuer = i.issuer;
  }
  r.complete = self_signed;
  if (!self_signed) r.missing = last_issuer;
  return r;
}

}  // namespace

ChainReport show_chain(const Store& store, std::string_view ref) { return report(store, store.resolve_cert(ref)); }

ChainReport set_chain(Store& store, std::string_view ref, ChainMode mode, const std::string& manual_file) {
  std::string pem;
  std::vector<CertInfo> manual;
  Decoded d;
  if (mode == ChainMode::Manual) {
    d = decode_any(read_file(manual_file), manual_file, {});
    if (d.certificates.empty())
      fail(ErrorKind::BadInput, fmt::format("'{}' holds no certificate", manual_file), "give the intermediates and root as PEM");
    for (const auto& der : d.certificates) manual.push_back(inspect_certificate(der));
  }
  auto tx = store.write("chain set");
  CertRow row = store.resolve_cert(ref);
  std::string mode_name = "automatic";
  if (mode == ChainMode::Current) {
    mode_name = "current";
    StoreChain chain = store_chain(store, row, now());
    for (std::size_t i = 1; i < chain.certificates.size(); ++i)
      pem += pem_encode(store.cert_der(chain.certificates[i].id), "CERTIFICATE");
  } else if (mode == ChainMode::Manual) {
    mode_name = "manual";
    // Each certificate must issue the one before it, starting from the certificate itself; a copy
    // of the certificate at the head of the file is skipped.
    std::string issuer_hash = row.issuer_hash;
    for (std::size_t i = 0; i < manual.size(); ++i) {
      if (manual[i].fingerprint_sha256 == row.fingerprint_sha256) continue;
      if (manual[i].subject_hash != issuer_hash)
        fail(ErrorKind::BadInput,
             fmt::format("'{}': certificate {} ({}) does not issue the one before it", manual_file, i + 1, manual[i].subject),
             "order the file leaf's issuer first, then up to the root");
      issuer_hash = manual[i].issuer_hash;
      pem += pem_encode(d.certificates[i], "CERTIFICATE");
    }
  }
  store.set_cert_chain(row.id, mode_name, pem);
  tx.touch(fmt::format("cert:{}:chain={}", row.friendly_name, mode_name));
  tx.commit();
  row.chain_mode = mode_name;
  return report(store, row);
}

}  // namespace applctl
