// The KMIP settings of an appliance: kmip.json in the store directory, read, checked and written
// 0600 (see applctl/kmip/config.hpp).
#include "applctl/kmip/config.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

#include "applctl/base/error.hpp"
#include "applctl/x509/names.hpp"

namespace applctl {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kFormat = 1;

void wipe(std::string& s) { OPENSSL_cleanse(s.data(), s.size()); }

// Every string in a JSON document is wiped before it is freed (the document holds the key).
void wipe(json& j) {
  if (j.is_string()) {
    wipe(j.get_ref<std::string&>());
  } else if (j.is_structured()) {
    for (auto& v : j) wipe(v);
  }
}

struct WipedJson {
  json doc;
  ~WipedJson() { wipe(doc); }
};

json to_json(const KmipConfig& c) {
  json j = {{"format", kFormat},
            {"host", c.host},
            {"port", c.port},
            {"timeout_seconds", c.timeout_seconds},
            {"configured_at", format_rfc3339(c.configured_at)},
            {"ca_pem", c.ca_pem},
            {"client_certificate_pem", c.client_cert_pem},
            {"client_key_pem", c.client_key_pem}};
  if (c.version) j["protocol_version"] = c.version->str();
  if (c.credential) {
    j["username"] = c.credential->username;
    if (!c.credential->password.empty()) j["password"] = c.credential->password;
  }
  if (!c.encryption_key_uid.empty())
    j["encryption"] = {{"key_unique_identifier", c.encryption_key_uid}, {"key_check", c.encryption_key_check}};
  return j;
}

KmipConfig from_json(const json& j) {
  if (j.value("format", 0) != kFormat)
    throw std::runtime_error(fmt::format("unknown format {}", j.value("format", 0)));
  KmipConfig c;
  c.host = j.at("host").get<std::string>();
  c.port = j.at("port").get<int>();
  c.timeout_seconds = j.value("timeout_seconds", 10);
  c.configured_at = parse_rfc3339(j.at("configured_at").get<std::string>()).seconds;
  c.ca_pem = j.at("ca_pem").get<std::string>();
  c.client_cert_pem = j.at("client_certificate_pem").get<std::string>();
  c.client_key_pem = j.at("client_key_pem").get<std::string>();
  if (j.contains("protocol_version")) c.version = kmip::Version::parse(j.at("protocol_version").get<std::string>());
  if (j.contains("username"))
    c.credential = kmip::Credential(j.at("username").get<std::string>(), j.value("password", std::string()));
  if (j.contains("encryption")) {
    c.encryption_key_uid = j.at("encryption").at("key_unique_identifier").get<std::string>();
    c.encryption_key_check = j.at("encryption").value("key_check", "");
  }
  return c;
}

std::optional<json> read_json(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  Bytes data = read_file(file.string());
  std::optional<json> doc;
  try {
    doc = json::parse(data.begin(), data.end());
  } catch (const json::exception& e) {
    OPENSSL_cleanse(data.data(), data.size());
    fail(ErrorKind::Failed, fmt::format("cannot read the KMIP settings '{}': {}", file.string(), e.what()),
         "run applctl kmip configure again");
  }
  OPENSSL_cleanse(data.data(), data.size());
  return doc;
}

void write_json(const fs::path& file, const json& doc) {
  std::string text = doc.dump(2) + "\n";
  try {
    write_file_atomic(file.string(), as_bytes(text), 0600, true);
  } catch (...) {
    wipe(text);
    throw;
  }
  wipe(text);
}

}  // namespace

KmipConfig::~KmipConfig() { wipe(client_key_pem); }

std::string KmipConfig::server() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

kmip::Client KmipConfig::connect() const {
  kmip::Client c(client_settings());
  if (!version) c.negotiate();
  return c;
}

kmip::ClientSettings KmipConfig::client_settings() const {
  kmip::ClientSettings s;
  s.host = host;
  s.port = port;
  s.ca_pem = ca_pem;
  s.client_cert_pem = client_cert_pem;
  s.client_key_pem = client_key_pem;
  s.credential = credential;
  s.timeout = std::chrono::seconds(timeout_seconds);
  s.version = version;
  return s;
}

fs::path kmip_config_path(const fs::path& store_dir) { return store_dir / "kmip.json"; }
fs::path kmip_test_path(const fs::path& store_dir) { return store_dir / "kmip-test.json"; }

bool kmip_configured(const fs::path& store_dir) {
  struct stat st {};
  return ::stat(kmip_config_path(store_dir).c_str(), &st) == 0;
}

std::optional<KmipConfig> load_kmip_config(const fs::path& store_dir) {
  const fs::path file = kmip_config_path(store_dir);
  WipedJson j;
  auto doc = read_json(file);
  if (!doc) return std::nullopt;
  j.doc = std::move(*doc);
  try {
    return from_json(j.doc);
  } catch (const std::exception& e) {
    // e.what() names a field or a type, never a value.
    fail(ErrorKind::Failed, fmt::format("cannot read the KMIP settings '{}': {}", file.string(), e.what()),
         "run applctl kmip configure again");
  }
}

KmipConfig require_kmip_config(const fs::path& store_dir) {
  if (auto c = load_kmip_config(store_dir)) return std::move(*c);
  fail(ErrorKind::NotFound, fmt::format("KMIP is not configured in the store '{}'", store_dir.string()),
       "run applctl kmip configure --host HOST --ca CA.pem --client-cert CLIENT.pem first");
}

void save_kmip_config(const fs::path& store_dir, const KmipConfig& config) {
  WipedJson j{to_json(config)};
  write_json(kmip_config_path(store_dir), j.doc);
}

void restore_kmip_config(const fs::path& store_dir, const std::optional<KmipConfig>& previous) {
  if (previous) {
    save_kmip_config(store_dir, *previous);
  } else {
    std::error_code ec;
    fs::remove(kmip_config_path(store_dir), ec);
  }
}

std::optional<KmipTestRecord> load_kmip_test(const fs::path& store_dir) {
  try {
    auto doc = read_json(kmip_test_path(store_dir));
    if (!doc) return std::nullopt;
    KmipTestRecord r;
    r.time = parse_rfc3339(doc->at("time").get<std::string>()).seconds;
    r.server = doc->at("server").get<std::string>();
    r.ok = doc->at("ok").get<bool>();
    r.version = doc->value("version", "");
    r.versions = doc->value("versions", std::vector<std::string>{});
    r.vendor = doc->value("vendor", "");
    r.error = doc->value("error", "");
    return r;
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged cache is no record
  }
}

void save_kmip_test(const fs::path& store_dir, const KmipTestRecord& r) {
  json j = {{"time", format_rfc3339(r.time)}, {"server", r.server}, {"ok", r.ok}};
  if (r.ok) {
    j["version"] = r.version;
    j["versions"] = r.versions;
    j["vendor"] = r.vendor;
  } else {
    j["error"] = r.error;
  }
  try {
    write_json(kmip_test_path(store_dir), j);
  } catch (const std::exception&) {
    // best effort
  }
}

}  // namespace applctl
