// KMIP configuration ("save and test"), connection test, key operations and status.
#include "applctl/services/kmip.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include "applctl/services/appliance.hpp"
#include "applctl/x509/certificate.hpp"
#include "applctl/base/error.hpp"
#include "applctl/x509/names.hpp"
#include "applctl/services/encryption.hpp"

namespace applctl {

namespace fs = std::filesystem;

namespace {

// The passphrase asked at most once for both files (a TTY prompt is not repeated), wiped at the end.
class OncePassphrase {
 public:
  explicit OncePassphrase(PassphraseFn source) : source_(std::move(source)) {}
  OncePassphrase(const OncePassphrase&) = delete;
  OncePassphrase& operator=(const OncePassphrase&) = delete;
  ~OncePassphrase() {
    if (value_ && *value_) OPENSSL_cleanse((*value_)->data(), (*value_)->size());
  }
  PassphraseFn fn() {
    return [this]() -> std::optional<std::string> {
      if (!value_) value_ = source_ ? source_() : std::nullopt;
      return *value_;  // a copy: decode_any wipes it after use
    };
  }

 private:
  PassphraseFn source_;
  std::optional<std::optional<std::string>> value_;
};

Decoded decode_file(const std::string& path, const PassphraseFn& passphrase, bool given) {
  Bytes data = read_file(path);
  Decoded d = decode_any(data, path, passphrase, given);
  OPENSSL_cleanse(data.data(), data.size());
  return d;
}

// The data given in the request, else the file's.
Decoded decode_input(const std::string& name, const std::optional<Bytes>& data, const PassphraseFn& passphrase,
                     bool given) {
  return data ? decode_any(*data, name, passphrase, given) : decode_file(name, passphrase, given);
}

// Runs f; an error it throws is shown to on_error with the input it is about, then propagates.
template <typename F>
auto about(const KmipInputErrorFn& on_error, KmipInput input, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    if (on_error) on_error(input, e);
    throw;
  }
}

std::string pem_of(const std::vector<Bytes>& certs) {
  std::string out;
  for (const auto& der : certs) out += pem_encode(der, "CERTIFICATE");
  return out;
}

// The CA file: at least one certificate, nothing else needed.
std::string read_ca(const std::string& path, const std::optional<Bytes>& data) {
  Decoded d = decode_input(path, data, {}, false);
  if (d.certificates.empty())
    fail(ErrorKind::BadInput, fmt::format("cannot read the CA certificate '{}': it holds no certificate", path),
         "give the PEM or DER certificate of the CA that issued the KMIP server's certificate");
  return pem_of(d.certificates);
}

struct ClientIdentity {
  std::vector<Bytes> chain;  // the client certificate first
  std::string key_pem;
  CertInfo info;
  ~ClientIdentity() { OPENSSL_cleanse(key_pem.data(), key_pem.size()); }
};

Decoded read_client_certs(const KmipConfigureRequest& r, const PassphraseFn& passphrase) {
  Decoded certs = decode_input(r.client_cert_file, r.client_cert_data, passphrase, r.passphrase_given);
  if (certs.certificates.empty())
    fail(ErrorKind::BadInput,
         fmt::format("cannot read the client certificate '{}': it holds no certificate", r.client_cert_file));
  return certs;
}

// The key that matches one of `certs` (from the certificate's file, or the key file), and its chain.
ClientIdentity match_client_key(const KmipConfigureRequest& r, const Decoded& certs, const PassphraseFn& passphrase) {
  const std::string& key_source = r.client_key_file.empty() ? r.client_cert_file : r.client_key_file;
  std::vector<PrivateKey> keys =
      r.client_key_file.empty() ? certs.keys : decode_file(r.client_key_file, passphrase, r.passphrase_given).keys;
  if (keys.empty())
    fail(ErrorKind::BadInput, fmt::format("no private key for the client certificate in '{}'", key_source),
         "give the key with --client-key FILE (PEM, DER or encrypted PKCS#8 with --passphrase-file)");
  for (const auto& key : keys)
    for (std::size_t i = 0; i < certs.certificates.size(); ++i) {
      CertInfo info = inspect_certificate(certs.certificates[i]);
      if (info.spki_sha256 != key.spki_sha256()) continue;
      ClientIdentity id;
      id.chain.push_back(certs.certificates[i]);
      for (std::size_t j = 0; j < certs.certificates.size(); ++j)
        if (j != i) id.chain.push_back(certs.certificates[j]);
      id.key_pem = encode_pkcs8_plain_pem(key);
      id.info = std::move(info);
      return id;
    }
  fail(ErrorKind::BadInput,
       fmt::format("the key in '{}' does not match the client certificate in '{}'", key_source, r.client_cert_file),
       "give the private key that belongs to the client certificate");
}

// The client certificate and the key that matches it, from one file or two.
ClientIdentity read_client_identity(const KmipConfigureRequest& r, const KmipInputErrorFn& on_error) {
  OncePassphrase pass(r.passphrase);
  Decoded certs = about(on_error, KmipInput::ClientCert, [&] { return read_client_certs(r, pass.fn()); });
  const KmipInput key_input = r.client_key_file.empty() ? KmipInput::ClientCert : KmipInput::ClientKey;
  return about(on_error, key_input, [&] { return match_client_key(r, certs, pass.fn()); });
}

// The host as it is connected to and checked: "[2001:db8::1]" loses its brackets.
std::string check_host(const std::string& host) {
  std::string h = host.size() > 2 && host.front() == '[' && host.back() == ']' ? host.substr(1, host.size() - 2) : host;
  if (h.empty() || h.find_first_of(" \t\r\n/[]") != std::string::npos ||
      (h.find(':') != std::string::npos && !canonical_ip(h)))
    fail(ErrorKind::BadInput, fmt::format("invalid KMIP server host '{}'", printable(host)),
         "give a host name or an IP address, e.g. --host kms.example.com");
  return h;
}

}  // namespace

KmipInputs read_kmip_inputs(const KmipConfigureRequest& r, const KmipInputErrorFn& on_error) {
  KmipInputs in;
  KmipConfig& config = in.config;
  config.host = about(on_error, KmipInput::Host, [&] { return check_host(r.host); });
  config.port = r.port;
  config.timeout_seconds = r.timeout_seconds;
  config.ca_pem = about(on_error, KmipInput::Ca, [&] { return read_ca(r.ca_file, r.ca_data); });
  ClientIdentity id = read_client_identity(r, on_error);
  config.client_cert_pem = pem_of(id.chain);
  config.client_key_pem = id.key_pem;
  in.client_subject = id.info.subject;
  in.client_fingerprint_sha256 = id.info.fingerprint_sha256;
  const UnixTime t = now();
  if (t > id.info.not_after)
    in.warnings.push_back(fmt::format("the client certificate expired on {}", format_rfc3339(id.info.not_after)));
  else if (t < id.info.not_before)
    in.warnings.push_back(fmt::format("the client certificate is not valid before {}", format_rfc3339(id.info.not_before)));
  if (!r.username.empty()) {
    std::optional<std::string> password =
        about(on_error, KmipInput::Password, [&] { return r.password ? r.password() : std::nullopt; });
    config.credential = kmip::Credential(r.username, password.value_or(""));
    if (password) OPENSSL_cleanse(password->data(), password->size());
    else in.warnings.push_back(fmt::format("no password for user '{}': the Credential carries the user name only", r.username));
  }
  return in;
}

KmipTestResult test_kmip_settings(const KmipConfig& config) {
  kmip::Client c(config.client_settings());
  KmipTestResult r;
  r.server = c.server();
  r.tls = c.tls();
  r.versions = c.negotiate();
  r.version = c.version();
  r.info = c.query();
  r.saved_version = config.version;
  return r;
}

KmipTestRecord kmip_test_record(const KmipTestResult& t) {
  KmipTestRecord rec;
  rec.time = now();
  rec.server = t.server;
  rec.ok = true;
  rec.version = t.version.str();
  for (const auto& v : t.versions) rec.versions.push_back(v.str());
  rec.vendor = t.info.vendor;
  return rec;
}

KmipConfigureResult configure_kmip(const fs::path& dir, const KmipConfigureRequest& r) {
  KmipInputs in = read_kmip_inputs(r);
  KmipConfig& config = in.config;
  KmipConfigureResult result;
  result.server = config.server();
  result.client_subject = in.client_subject;
  result.warnings = std::move(in.warnings);
  if (config.credential) result.username = config.credential->username;
  const UnixTime t = now();

  if (r.test) {
    result.test = test_kmip_settings(config);
    config.version = result.test->version;
  } else {
    result.warnings.push_back("saved without testing the connection: run applctl kmip test");
  }

  // An encrypted store is opened with the KMIP settings: the new ones must reach its key, and are
  // saved before it is opened.
  const bool encrypted = store_encrypted(dir);
  if (encrypted && !r.test)
    fail(ErrorKind::Refused, "the store is encrypted with a key on the KMIP server: new settings must be tested",
         "drop --no-test; the settings must reach the key that encrypts the store");
  if (encrypted) check_store_key_with(dir, config);

  // Saved only now: a failed check or test above left nothing behind.
  std::optional<KmipConfig> previous;
  bool saved = false;
  auto save = [&] {
    try {
      previous = load_kmip_config(dir);
    } catch (const Error&) {
      // A damaged file is what a new configure replaces.
    }
    keep_store_key(config, previous);
    config.configured_at = t;
    save_kmip_config(dir, config);
    saved = true;
  };
  if (encrypted) save();
  try {
    Store store = Store::open(dir, Store::Mode::ReadWrite);
    ensure_initialized(store);
    auto tx = store.write("kmip configure");  // the store's write lock also serializes configures
    if (!encrypted) save();
    tx.touch("kmip:" + config.server());
    tx.commit();
  } catch (...) {
    if (saved) restore_kmip_config(dir, previous);
    throw;
  }
  if (result.test) save_kmip_test(dir, kmip_test_record(*result.test));
  return result;
}

KmipTestResult test_kmip(const fs::path& store_dir, const KmipConfig& config) {
  try {
    KmipTestResult r = test_kmip_settings(config);
    save_kmip_test(store_dir, kmip_test_record(r));
    return r;
  } catch (const Error& e) {
    KmipTestRecord rec;
    rec.time = now();
    rec.server = config.server();
    rec.error = e.what();
    save_kmip_test(store_dir, rec);
    throw;
  }
}

std::string create_kmip_key(const KmipConfig& config, const kmip::AesKeySpec& spec) {
  if (spec.bits != 128 && spec.bits != 256)
    fail(ErrorKind::BadInput, fmt::format("invalid key length {}: AES keys here are 128 or 256 bits", spec.bits));
  kmip::Client c = config.connect();
  const std::string uid = c.create_aes_key(spec);
  try {
    c.activate(uid);
  } catch (const Error& e) {
    std::string cleanup = "it was destroyed again";
    try {
      c.destroy(uid);
    } catch (const Error&) {
      cleanup = "it is still on the server, pre-active";
    }
    fail(ErrorKind::Remote, fmt::format("created key '{}' but could not activate it ({}): {}", uid, cleanup, e.what()));
  }
  return uid;
}

KmipKeyResult get_kmip_key(const KmipConfig& config, const std::string& uid, bool reveal) {
  kmip::Client c = config.connect();
  kmip::KeyObject object = c.get(uid);
  KmipKeyResult r;
  r.attributes = c.get_attributes(uid);
  if (r.attributes.object_type.empty()) r.attributes.object_type = object.object_type;
  if (r.attributes.algorithm.empty()) r.attributes.algorithm = object.algorithm;
  if (r.attributes.length == 0) r.attributes.length = object.length;
  r.format = object.format;
  if (reveal) {
    if (object.key.size() == 0)
      fail(ErrorKind::Refused, fmt::format("KMIP object '{}' is a {}, not a symmetric key: no key bytes to reveal",
                                           printable(uid), object.object_type));
    r.key = std::move(object.key);
  }
  return r;
}

std::vector<std::string> locate_kmip_keys(const KmipConfig& config, const std::string& name) {
  if (name.empty()) fail(ErrorKind::BadInput, "the name to locate is empty");
  kmip::Client c = config.connect();
  std::vector<std::string> uids = c.locate(name);
  if (uids.empty())
    fail(ErrorKind::NotFound, fmt::format("the KMIP server has no key named '{}'", printable(name)),
         "create one: applctl kmip create-key --name NAME");
  return uids;
}

KmipDestroyResult destroy_kmip_key(const KmipConfig& config, const std::string& uid) {
  if (!config.encryption_key_uid.empty() && uid == config.encryption_key_uid)
    fail(ErrorKind::Refused, fmt::format("key '{}' encrypts this store: destroying it would lose the store", printable(uid)),
         "run applctl kmip decrypt first");
  kmip::Client c = config.connect();
  KmipDestroyResult r;
  if (c.get_attributes(uid).state_value == kmip::kStateActive) {
    c.revoke(uid);
    r.revoked = true;
  }
  c.destroy(uid);
  return r;
}

KmipStatus kmip_status(const fs::path& store_dir, const std::optional<KmipConfig>& config) {
  KmipStatus s;
  if (!config) return s;
  s.configured = true;
  s.host = config->host;
  s.port = config->port;
  s.server = config->server();
  if (config->credential) s.username = config->credential->username;
  s.timeout_seconds = config->timeout_seconds;
  s.version = config->version;
  s.configured_at = config->configured_at;
  Decoded ca = decode_any(as_bytes(config->ca_pem), "the saved KMIP CA", {});
  for (const auto& der : ca.certificates) s.ca_subjects.push_back(inspect_certificate(der).subject);
  Decoded client = decode_any(as_bytes(config->client_cert_pem), "the saved KMIP client certificate", {});
  if (!client.certificates.empty()) {
    CertInfo info = inspect_certificate(client.certificates.front());
    s.client_subject = info.subject;
    s.client_fingerprint_sha256 = info.fingerprint_sha256;
    s.client_not_after = info.not_after;
  }
  s.encrypted = store_encrypted(store_dir);
  if (s.encrypted) s.key_unique_identifier = config->encryption_key_uid;
  s.last_test = load_kmip_test(store_dir);
  return s;
}

}  // namespace applctl
