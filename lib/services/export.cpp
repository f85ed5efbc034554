// `cert export`: one certificate (and its chain, and its key) in the format the reader needs.
// A private key never leaves unencrypted unless --no-passphrase --insecure (pem, pkcs8 only).
#include <openssl/crypto.h>

#include <fmt/format.h>

#include "applctl/services/certs.hpp"

namespace applctl {

ExportFormat parse_export_format(std::string_view s) {
  if (s == "der") return ExportFormat::Der;
  if (s == "pem") return ExportFormat::Pem;
  if (s == "p7b") return ExportFormat::P7b;
  if (s == "pkcs8") return ExportFormat::Pkcs8;
  if (s == "p12") return ExportFormat::P12;
  fail(ErrorKind::Usage, fmt::format("unknown export format '{}'", s), "use der, pem, p7b, pkcs8 or p12");
}

std::vector<Bytes> chain_for_export(const Store& store, const CertRow& row) {
  std::vector<Bytes> out;
  if (row.chain_mode == "automatic") {
    StoreChain chain = store_chain(store, row, now());
    for (std::size_t i = 1; i < chain.certificates.size(); ++i) out.push_back(store.cert_der(chain.certificates[i].id));
    return out;
  }
  // current / manual: the chain fixed when `chain set` ran, kept as PEM.
  std::string pem = store.cert_chain_pem(row.id);
  if (pem.empty()) return out;
  Decoded d = decode_any(as_bytes(pem), fmt::format("stored chain of '{}'", row.friendly_name), {});
  return d.certificates;
}

namespace {

// The passphrase for a key export; the rules of cli.md decide whether one is required.
std::optional<std::string> key_passphrase(const ExportRequest& req, bool plain_allowed) {
  if (req.no_passphrase) {
    if (!req.insecure)
      fail(ErrorKind::Refused, "--no-passphrase writes the private key unencrypted",
           "add --insecure as well if the server really cannot read an encrypted key");
    if (!plain_allowed)
      fail(ErrorKind::Refused, "an unencrypted private key can only be exported as pem or pkcs8",
           "PKCS#12 files are always encrypted: give --passphrase-file or --passphrase-env");
    return std::nullopt;
  }
  std::optional<std::string> pass = req.passphrase ? req.passphrase() : std::nullopt;
  if (!pass || pass->empty())
    fail(ErrorKind::Refused, "exporting a private key needs a passphrase to encrypt it",
         "give --passphrase-file FILE or --passphrase-env VAR (or --no-passphrase --insecure for pem/pkcs8)");
  return pass;
}

}  // namespace

ExportResult export_certificate(const Store& store, const ExportRequest& req) {
  ExportResult result;
  result.row = store.resolve_cert(req.ref);
  const CertRow& row = result.row;
  const bool wants_key = req.with_key || req.format == ExportFormat::Pkcs8 || req.format == ExportFormat::P12;
  if (req.format == ExportFormat::Der && (req.with_key || req.with_chain))
    fail(ErrorKind::Usage, "der holds exactly one certificate: --with-key and --with-chain do not apply",
         "use --format pem, p7b or p12");
  if (req.format == ExportFormat::P7b && req.with_key)
    fail(ErrorKind::Usage, "PKCS#7 files carry certificates only", "use --format p12 or pem for the key");
  if (req.format == ExportFormat::Pkcs8 && req.with_chain)
    fail(ErrorKind::Usage, "pkcs8 holds the private key alone: --with-chain does not apply");
  if (wants_key && !row.key_id)
    fail(ErrorKind::Refused, fmt::format("'{}' has no private key in the store", row.friendly_name),
         "export it without the key (--format der, pem or p7b)");

  Bytes der = store.cert_der(row.id);
  std::vector<Bytes> chain;
  if (req.with_chain || req.format == ExportFormat::P7b) chain = chain_for_export(store, row);
  result.chain.push_back(row.fingerprint_sha256);
  for (const auto& c : chain) result.chain.push_back(sha256_hex(c));

  std::optional<std::string> pass;
  if (wants_key) pass = key_passphrase(req, req.format == ExportFormat::Pem || req.format == ExportFormat::Pkcs8);
  struct Wipe {
    std::optional<std::string>& p;
    ~Wipe() {
      if (p) OPENSSL_cleanse(p->data(), p->size());
    }
  } wipe{pass};

  switch (req.format) {
    case ExportFormat::Der: result.data = der; break;
    case ExportFormat::P7b: {
      std::vector<Bytes> all{der};
      all.insert(all.end(), chain.begin(), chain.end());
      result.data = encode_p7b(all);
      break;
    }
    case ExportFormat::Pem: {
      std::string text = pem_encode(der, "CERTIFICATE");
      for (const auto& c : chain) text += pem_encode(c, "CERTIFICATE");
      if (req.with_key) {
        PrivateKey key = store.load_key(*row.key_id);
        text += pass ? encode_pkcs8_encrypted_pem(key, *pass) : encode_pkcs8_plain_pem(key);
      }
      result.data.assign(text.begin(), text.end());
      OPENSSL_cleanse(text.data(), text.size());
      break;
    }
    case ExportFormat::Pkcs8: {
      PrivateKey key = store.load_key(*row.key_id);
      std::string text = pass ? encode_pkcs8_encrypted_pem(key, *pass) : encode_pkcs8_plain_pem(key);
      result.data.assign(text.begin(), text.end());
      OPENSSL_cleanse(text.data(), text.size());
      result.chain.clear();
      break;
    }
    case ExportFormat::P12: {
      PrivateKey key = store.load_key(*row.key_id);
      result.data = encode_pkcs12(der, key, chain, row.friendly_name, *pass, req.legacy);
      break;
    }
  }
  result.contains_key = wants_key;
  return result;
}

}  // namespace applctl
