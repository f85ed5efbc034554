// The kmip section of APPLIANCE.yaml: loaded and checked by kmip configure's own input checks,
// planned against STORE/kmip.json, tested before the store transaction, saved inside it, and the
// previous settings put back when it does not commit.
#include "provision/kmip.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include "applctl/x509/certificate.hpp"
#include "applctl/base/error.hpp"
#include "applctl/services/encryption.hpp"
#include "provision/reader.hpp"

namespace applctl {

namespace fs = std::filesystem;

namespace provision {

namespace {

// Where an input of the kmip section was given: the value and its key.
struct Given {
  YAML::Node node;
  std::string key;
};

// One of two keys that give the same input: a file (`file_key`) or the data itself (`data_key`).
// Fills the request's file name (the data's name in messages) and data.
Given load_file_or_data(const Reader& r, const YAML::Node& n, const char* file_key, const char* data_key,
                        std::string& file, std::optional<Bytes>& data) {
  const auto f = n[file_key];
  const auto d = n[data_key];
  if (!!f == !!d) r.fail_at(n, "kmip", fmt::format("give exactly one of {} and {}", file_key, data_key));
  if (f) {
    file = r.file_path(f, fmt::format("kmip.{}", file_key)).string();
    return {f, file_key};
  }
  file = fmt::format("{} (inline {})", r.file(), data_key);
  const std::string path = fmt::format("kmip.{}", data_key);
  const std::string text = r.string(d, path);
  if (std::string_view(data_key) == "ca_pem") {
    if (text.find("PRIVATE KEY") != std::string::npos)
      r.fail_at(d, path, "a private key is never written in the file", "ca_pem holds the CA certificates only");
    data = Bytes(text.begin(), text.end());
  } else {
    data = r.at(d, path, [&] { return base64_decode(text, kBase64Text); });
  }
  return {d, data_key};
}

}  // namespace

// The inputs of `kmip configure`, checked by the same function (read_kmip_inputs).
KmipSpec load_kmip(const Reader& r, const YAML::Node& n) {
  r.expect_map(n, "kmip",
               {"host", "port", "ca", "ca_pem", "client_cert", "client_p12", "client_key", "passphrase_env",
                "passphrase_file", "username", "password_env", "password_file", "timeout", "no_test"});
  KmipSpec spec;
  spec.pos = r.pos(n);
  KmipConfigureRequest req;
  if (!n["host"]) r.fail_at(n, "kmip", "missing 'host'");
  req.host = r.string(n["host"], "kmip.host");
  if (auto v = n["port"]) req.port = r.integer(v, "kmip.port", 1, 65535);
  if (auto v = n["timeout"]) req.timeout_seconds = r.integer(v, "kmip.timeout", 1, 600);
  if (auto v = n["no_test"]) spec.test = !r.boolean(v, "kmip.no_test");
  const Given ca = load_file_or_data(r, n, "ca", "ca_pem", req.ca_file, req.ca_data);
  const Given cert = load_file_or_data(r, n, "client_cert", "client_p12", req.client_cert_file, req.client_cert_data);
  const Given key{n["client_key"], "client_key"};
  if (key.node) req.client_key_file = r.file_path(key.node, "kmip.client_key").string();
  const SecretRef passphrase = load_secret_ref(r, n, "kmip");
  req.passphrase = secret_fn(passphrase);
  req.passphrase_given = !passphrase.empty();
  if (auto v = n["username"]) {
    req.username = r.string(v, "kmip.username");
    if (req.username.empty()) r.fail_at(v, "kmip.username", "empty user name", "leave username out for no Credential");
  }
  const SecretRef password = load_secret_ref(r, n, "kmip", "password");
  const Given password_at = n["password_env"] ? Given{n["password_env"], "password_env"}
                                              : Given{n["password_file"], "password_file"};
  if (!password.empty() && req.username.empty())
    r.fail_at(password_at.node, "kmip." + password_at.key, "a password needs a username", "add username: NAME");
  req.password = secret_fn(password);

  // An input's error, at the key that gave the input.
  // (YAML::Node's operator= writes into the document: the nodes are picked, never assigned.)
  const Given host{n["host"], "host"};
  auto given = [&](KmipInput input) -> const Given& {
    switch (input) {
      case KmipInput::Host: return host;
      case KmipInput::Ca: return ca;
      case KmipInput::ClientCert: return cert;
      case KmipInput::ClientKey: return key.node ? key : cert;
      case KmipInput::Password: return password_at;
    }
    return host;
  };
  auto where = [&](KmipInput input, const Error& e) {
    const Given& at = given(input);
    fail(ErrorKind::BadInput, fmt::format("{}: kmip.{}: {}", r.pos(at.node).str(), at.key, e.what()), e.hint());
  };
  KmipInputs in = read_kmip_inputs(req, where);
  spec.config = std::move(in.config);
  spec.client_subject = std::move(in.client_subject);
  spec.client_fingerprint_sha256 = std::move(in.client_fingerprint_sha256);
  spec.warnings = std::move(in.warnings);
  return spec;
}

}  // namespace provision

namespace {

std::vector<CertInfo> certificates_of(const std::string& pem) {
  std::vector<CertInfo> out;
  for (const auto& der : decode_any(as_bytes(pem), "the KMIP settings", {}).certificates)
    out.push_back(inspect_certificate(der));
  return out;
}

std::string short_fp(const std::string& fp) { return fp.substr(0, 16); }

bool same_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string username_of(const KmipConfig& c) { return c.credential ? c.credential->username : ""; }
std::string password_of(const KmipConfig& c) { return c.credential ? c.credential->password : ""; }
std::string or_none(const std::string& s) { return s.empty() ? "(none)" : s; }

std::string ca_change(const KmipConfig& saved, const KmipConfig& wanted) {
  auto subjects = [](const std::string& pem) {
    std::vector<std::string> out;
    for (const auto& info : certificates_of(pem)) out.push_back(info.subject);
    return fmt::format("{}", fmt::join(out, ", "));
  };
  const std::string a = subjects(saved.ca_pem), b = subjects(wanted.ca_pem);
  return a == b ? "CA certificates changed" : fmt::format("CA {} -> {}", a, b);
}

std::string client_change(const KmipConfig& saved, const KmipConfig& wanted) {
  auto leaf = [](const std::string& pem) {
    auto certs = certificates_of(pem);
    return certs.empty() ? std::string() : certs.front().fingerprint_sha256;
  };
  const std::string a = leaf(saved.client_cert_pem), b = leaf(wanted.client_cert_pem);
  return a == b ? "client certificate chain changed" : fmt::format("client certificate {} -> {}", short_fp(a), short_fp(b));
}

}  // namespace

std::vector<std::string> kmip_differences(const KmipConfig& saved, const KmipConfig& wanted) {
  std::vector<std::string> d;
  if (saved.host != wanted.host) d.push_back(fmt::format("host {} -> {}", saved.host, wanted.host));
  if (saved.port != wanted.port) d.push_back(fmt::format("port {} -> {}", saved.port, wanted.port));
  if (saved.ca_pem != wanted.ca_pem) d.push_back(ca_change(saved, wanted));
  if (saved.client_cert_pem != wanted.client_cert_pem) d.push_back(client_change(saved, wanted));
  else if (!same_secret(saved.client_key_pem, wanted.client_key_pem)) d.push_back("client key changed");
  const std::string user = username_of(saved), wanted_user = username_of(wanted);
  if (user != wanted_user) d.push_back(fmt::format("username {} -> {}", or_none(user), or_none(wanted_user)));
  if (!same_secret(password_of(saved), password_of(wanted)))
    d.push_back(wanted.credential && !wanted.credential->password.empty() ? "password changed" : "password removed");
  if (saved.timeout_seconds != wanted.timeout_seconds)
    d.push_back(fmt::format("timeout {} s -> {} s", saved.timeout_seconds, wanted.timeout_seconds));
  return d;
}

std::optional<PlanAction> plan_kmip(const KmipSpec& spec, const fs::path& store_dir) {
  const KmipConfig& wanted = spec.config;
  const std::string untested = spec.test ? "" : " (no_test: saved without contacting the server)";
  std::optional<KmipConfig> saved;
  try {
    saved = load_kmip_config(store_dir);
  } catch (const Error&) {
    // Not the error's text: a JSON parser's message can quote the file, which holds secrets.
    return PlanAction{'~', "kmip", wanted.server(), "replaces saved settings that cannot be read" + untested};
  }
  if (!saved) {
    const std::string user = username_of(wanted);
    return PlanAction{'+', "kmip", wanted.server(),
                      fmt::format("client {} ({}){}{}", spec.client_subject, short_fp(spec.client_fingerprint_sha256),
                                  user.empty() ? "" : ", user " + user, untested)};
  }
  std::vector<std::string> diffs = kmip_differences(*saved, wanted);
  if (diffs.empty()) return std::nullopt;
  return PlanAction{'~', "kmip", wanted.server(), fmt::format("{}{}", fmt::join(diffs, "; "), untested)};
}

KmipUpdate::KmipUpdate(const KmipSpec& spec, fs::path store_dir) : spec_(spec), dir_(std::move(store_dir)) {}

void KmipUpdate::test() {
  if (tested_) return;
  const bool encrypted = store_encrypted(dir_);
  if (!spec_.test) {
    if (encrypted)
      fail(ErrorKind::Refused,
           fmt::format("{}: kmip: the store is encrypted with a key on the KMIP server: new settings must be tested",
                       spec_.pos.str()),
           "remove no_test: the settings must reach the key that encrypts the store");
    return;
  }
  try {
    tested_ = test_kmip_settings(spec_.config);
    if (encrypted) check_store_key_with(dir_, spec_.config);
  } catch (const Error& e) {
    fail(e.kind(),
         fmt::format("{}: kmip: the test of {} failed, nothing changed: {}", spec_.pos.str(), spec_.config.server(), e.what()),
         e.hint());
  }
}

void KmipUpdate::save() {
  try {
    previous_ = load_kmip_config(dir_);
  } catch (const Error&) {
    previous_.reset();  // a damaged file is what the new settings replace (as kmip configure does)
  }
  KmipConfig config = spec_.config;
  if (tested_) config.version = tested_->version;
  keep_store_key(config, previous_);
  config.configured_at = now();
  save_kmip_config(dir_, config);
  saved_ = true;
}

void KmipUpdate::restore() {
  if (!saved_) return;
  restore_kmip_config(dir_, previous_);
  saved_ = false;
}

void KmipUpdate::committed() {
  if (tested_) save_kmip_test(dir_, kmip_test_record(*tested_));
}

}  // namespace applctl
