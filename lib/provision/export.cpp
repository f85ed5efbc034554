// `export-config`: the store as an APPLIANCE.yaml that `apply` brings any store back to, with the
// certificates and the KMIP settings beside it (or embedded): keys only inside
// passphrase-encrypted PKCS#12 files, the KMIP password only as a variable to set.
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <yaml-cpp/yaml.h>

#include "applctl/services/appliance.hpp"
#include "applctl/kmip/config.hpp"
#include "applctl/provision/provision.hpp"

namespace applctl {

namespace fs = std::filesystem;

namespace {

constexpr const char* kYamlName = "appliance.yaml";

// A file name for a certificate: its friendly name with anything unusual replaced, made unique.
std::string file_stem(const CertRow& row, std::set<std::string>& used) {
  std::string stem;
  for (char c : row.friendly_name)
    stem += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  if (stem.empty() || stem.front() == '.') stem.insert(0, "cert");  // not "cert" + stem: GCC 12 -O3 -Wrestrict
  if (!used.insert(stem).second) {
    stem += "-" + row.fingerprint_sha256.substr(0, 8);
    used.insert(stem);
  }
  return stem;
}

void emit_secret_ref(YAML::Emitter& out, const SecretRef& ref) {
  if (!ref.env.empty()) out << YAML::Key << "passphrase_env" << YAML::Value << ref.env;
  else out << YAML::Key << "passphrase_file" << YAML::Value << ref.file;
}

// The client certificate (its chain after it) and key of the KMIP settings as one PKCS#12.
Bytes kmip_client_p12(const KmipConfig& config, const std::string& passphrase) {
  Decoded certs = decode_any(as_bytes(config.client_cert_pem), "the saved KMIP client certificate", {});
  Decoded key = decode_any(as_bytes(config.client_key_pem), "the saved KMIP client key", {});
  if (certs.certificates.empty() || key.keys.empty())
    fail(ErrorKind::Failed, "the saved KMIP settings hold no client certificate or key", "run applctl kmip configure again");
  std::vector<Bytes> chain(certs.certificates.begin() + 1, certs.certificates.end());
  return encode_pkcs12(certs.certificates.front(), key.keys.front(), chain, "kmip-client", passphrase, false);
}

// The kmip section: the CA and the client certificate as files under kmip/ (or embedded), the
// client key only inside the PKCS#12, the password only as the variable that must hold it.
void emit_kmip(YAML::Emitter& out, const KmipConfig& config, const ExportConfigRequest& request,
               const std::string& passphrase, ExportConfigResult& result) {
  Bytes p12 = kmip_client_p12(config, passphrase);
  out << YAML::Key << "kmip" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "host" << YAML::Value << config.host << YAML::Key << "port" << YAML::Value << config.port
      << YAML::Key << "timeout" << YAML::Value << config.timeout_seconds;
  if (request.dir) {
    out << YAML::Key << "ca" << YAML::Value << "kmip/ca.pem";
    out << YAML::Key << "client_cert" << YAML::Value << "kmip/client.p12"
        << YAML::Comment("the client key is only in here; kmip/client.pem is the certificate alone");
    result.files.push_back({"kmip/ca.pem", Bytes(config.ca_pem.begin(), config.ca_pem.end()), false});
    result.files.push_back({"kmip/client.pem", Bytes(config.client_cert_pem.begin(), config.client_cert_pem.end()), false});
    result.files.push_back({"kmip/client.p12", std::move(p12), true});
  } else {
    out << YAML::Key << "ca_pem" << YAML::Value << YAML::Literal << config.ca_pem;
    out << YAML::Key << "client_p12" << YAML::Value << base64_encode(p12);
  }
  emit_secret_ref(out, request.passphrase);
  if (config.credential) {
    out << YAML::Key << "username" << YAML::Value << config.credential->username;
    if (!config.credential->password.empty()) {
      out << YAML::Key << "password_env" << YAML::Value << kKmipPasswordEnv
          << YAML::Comment(fmt::format("the password is not exported: set {} before applying", kKmipPasswordEnv));
      result.kmip_password_env = kKmipPasswordEnv;
    }
  }
  out << YAML::EndMap;
  result.kmip = true;
}

}  // namespace

ExportConfigResult export_config(const Store& store, const ExportConfigRequest& request) {
  ExportConfigResult result;
  std::vector<CertRow> rows = store.list_certs();
  const std::optional<KmipConfig> kmip = load_kmip_config(store.dir());
  const bool any_key =
      kmip || std::any_of(rows.begin(), rows.end(), [](const CertRow& r) { return r.key_id.has_value(); });
  std::string passphrase;
  if (any_key) {
    if (request.passphrase.empty())
      fail(ErrorKind::Refused,
           "the store holds private keys (of certificates or the KMIP client) and export-config writes them only encrypted",
           "give --passphrase-env VAR or --passphrase-file FILE; the YAML refers to the same source");
    passphrase = resolve_secret(request.passphrase);
    if (passphrase.empty()) fail(ErrorKind::Usage, "the passphrase is empty");
  }
  const auto factory = factory_cert_id(store);
  const auto default_id = default_cert_id(store);

  YAML::Emitter out;
  out << YAML::Comment(fmt::format("applctl export-config of {}; apply with: applctl apply -f {}", store.dir().string(),
                                   request.dir ? kYamlName : "FILE"));
  out << YAML::BeginMap << YAML::Key << "version" << YAML::Value << 1;
  if (auto hostnames = appliance_hostnames(store); !hostnames.empty())
    out << YAML::Key << "hostnames" << YAML::Value << YAML::Flow << hostnames;

  out << YAML::Key << "certificates" << YAML::Value << YAML::BeginSeq;
  std::set<std::string> used;
  for (const auto& row : rows) {
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << row.friendly_name;
    if (factory == row.id) out << YAML::Key << "factory_default" << YAML::Value << true;
    out << YAML::Key << "import" << YAML::Value << YAML::BeginMap;
    Bytes der = store.cert_der(row.id);
    if (row.key_id) {
      PrivateKey key = store.load_key(*row.key_id);
      Bytes p12 = encode_pkcs12(der, key, {}, row.friendly_name, passphrase, false);
      if (request.dir) {
        std::string path = "certs/" + file_stem(row, used) + ".p12";
        out << YAML::Key << "file" << YAML::Value << path;
        result.files.push_back({path, std::move(p12), true});
      } else {
        out << YAML::Key << "p12" << YAML::Value << base64_encode(p12);
      }
      emit_secret_ref(out, request.passphrase);
      ++result.keys;
    } else {
      std::string pem = pem_encode(der, "CERTIFICATE");
      if (request.dir) {
        std::string path = "certs/" + file_stem(row, used) + ".pem";
        out << YAML::Key << "file" << YAML::Value << path;
        result.files.push_back({path, Bytes(pem.begin(), pem.end()), false});
      } else {
        out << YAML::Key << "pem" << YAML::Value << YAML::Literal << pem;
      }
    }
    out << YAML::EndMap << YAML::EndMap;
    ++result.certificates;
  }
  out << YAML::EndSeq;

  std::unordered_map<std::int64_t, std::string> names;
  for (const auto& row : rows) names[row.id] = row.friendly_name;
  out << YAML::Key << "ips" << YAML::Value << YAML::BeginSeq;
  for (const auto& ip : store.list_ips()) {
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "address" << YAML::Value << ip.address;
    if (ip.cert_id) out << YAML::Key << "certificate" << YAML::Value << names[*ip.cert_id];
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  if (default_id && names.contains(*default_id)) out << YAML::Key << "default" << YAML::Value << names[*default_id];
  if (kmip) emit_kmip(out, *kmip, request, passphrase, result);
  out << YAML::EndMap;
  OPENSSL_cleanse(passphrase.data(), passphrase.size());
  if (!out.good()) fail(ErrorKind::Failed, fmt::format("cannot write the YAML: {}", out.GetLastError()));
  result.yaml = std::string(out.c_str()) + "\n";
  return result;
}

void write_export(const fs::path& dir, const ExportConfigResult& result, bool force) {
  std::vector<std::pair<fs::path, const Bytes*>> files;
  Bytes yaml(result.yaml.begin(), result.yaml.end());
  files.emplace_back(dir / kYamlName, &yaml);
  for (const auto& f : result.files) files.emplace_back(dir / f.path, &f.data);
  if (!force)
    for (const auto& [path, data] : files)
      if (fs::exists(path))
        fail(ErrorKind::Refused, fmt::format("'{}' already exists", path.string()), "pass --force to overwrite it");
  std::set<fs::path> dirs{dir};  // a parent before its subdirectories
  for (const auto& f : result.files) dirs.insert((dir / f.path).parent_path());
  for (const fs::path& d : dirs) {
    if (fs::is_directory(d)) continue;
    if (::mkdir(d.c_str(), 0700) != 0)
      fail(ErrorKind::Failed, fmt::format("cannot create '{}': {}", d.string(), std::strerror(errno)));
  }
  // The certificates and KMIP files first and the YAML last: a YAML file is only ever there with its files.
  for (std::size_t i = 0; i < result.files.size(); ++i)
    write_file_atomic(files[i + 1].first.string(), result.files[i].data, result.files[i].secret ? 0600 : 0644, force);
  write_file_atomic(files[0].first.string(), yaml, 0644, force);
}

}  // namespace applctl
