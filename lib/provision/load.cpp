// Loading an APPLIANCE.yaml file: YAML syntax, then the schema (version 1), then every value
// (names, key specs, subjects, SANs, addresses, certificate files and their passphrases, the KMIP
// inputs), each error naming file:line:column, before the store is touched.
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <set>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <yaml-cpp/yaml.h>

#include "applctl/services/appliance.hpp"
#include "applctl/provision/provision.hpp"
#include "applctl/base/secret_env.hpp"
#include "provision/reader.hpp"

namespace applctl {

namespace fs = std::filesystem;

std::string FilePos::str() const { return fmt::format("{}:{}:{}", file, line, column); }

std::string read_secret_line(const std::string& path) {
  Bytes data = read_file(path);
  std::string s(data.begin(), data.end());
  OPENSSL_cleanse(data.data(), data.size());
  auto end = s.find_first_of("\r\n");
  if (end != std::string::npos) {
    OPENSSL_cleanse(s.data() + end, s.size() - end);
    s.resize(end);
  }
  return s;
}

std::string resolve_secret(const SecretRef& ref) {
  if (!ref.file.empty()) return read_secret_line(ref.file);
  std::optional<std::string> v = take_secret_env(ref.env);
  if (!v)
    fail(ErrorKind::BadInput, fmt::format("environment variable {} is not set", ref.env),
         "export it before running applctl, or use a passphrase file");
  return *v;
}

namespace provision {

// `NAME_env: VAR` or `NAME_file: PATH` (NAME is passphrase or password), checked to be there.
SecretRef load_secret_ref(const Reader& r, const YAML::Node& n, const std::string& path, const std::string& name) {
  SecretRef ref;
  const auto env = n[name + "_env"];
  const auto file = n[name + "_file"];
  if (env && file) r.fail_at(file, path, fmt::format("give {0}_env or {0}_file, not both", name));
  if (env) {
    ref.env = r.string(env, path + "." + name + "_env");
    if (!take_secret_env(ref.env))  // out of the environment from here on
      r.fail_at(env, path + "." + name + "_env", fmt::format("environment variable {} is not set", ref.env),
                "export it before running applctl apply");
  }
  if (file) {
    ref.file = r.file_path(file, path + "." + name + "_file").string();
    if (::access(ref.file.c_str(), R_OK) != 0)
      r.fail_at(file, path + "." + name + "_file", fmt::format("cannot read '{}'", ref.file));
  }
  return ref;
}

// A secret asked for only when needed, from the reference the file gives (nullopt: none given).
PassphraseFn secret_fn(const SecretRef& ref) {
  return [ref]() -> std::optional<std::string> {
    if (ref.empty()) return std::nullopt;
    return resolve_secret(ref);
  };
}

}  // namespace provision

namespace {

using provision::load_secret_ref;
using provision::Reader;
using provision::secret_fn;

SelfSignedSpec load_self_signed(const Reader& r, const YAML::Node& n, const std::string& path) {
  r.expect_map(n, path, {"key", "cn", "san", "days", "country", "state", "locality", "org", "ou"});
  SelfSignedSpec spec;
  spec.key = KeySpec::default_spec();
  if (auto v = n["key"]) spec.key = r.at(v, path + ".key", [&] { return KeySpec::parse(r.string(v, path + ".key")); });
  Subject s;
  const std::pair<const char*, std::string Subject::*> fields[] = {
      {"cn", &Subject::cn},   {"country", &Subject::country}, {"state", &Subject::state},
      {"locality", &Subject::locality}, {"org", &Subject::org}, {"ou", &Subject::ou}};
  // Each field and SAN is checked on its own first, so that an error points at its value.
  for (const auto& [key, field] : fields)
    if (auto v = n[key]) {
      Subject one;
      s.*field = one.*field = r.string(v, path + "." + key);
      r.at(v, path + "." + key, [&] { return validated(one); });
    }
  spec.subject = r.at(n, path, [&] { return validated(s); });
  std::vector<std::string> sans;
  if (auto v = n["san"]) {
    sans = r.strings(v, path + ".san");
    for (std::size_t i = 0; i < sans.size(); ++i)
      r.at(v[i], fmt::format("{}.san[{}]", path, i), [&] { return parse_san(sans[i]); });
  }
  spec.sans = r.at(n, path, [&] { return build_sans(spec.subject, sans); });
  if (spec.subject.empty() && spec.sans.empty())
    r.fail_at(n, path, "the subject is empty and there are no SANs", "give at least cn: NAME or san: [NAME]");
  if (auto v = n["days"]) spec.days = r.integer(v, path + ".days", 1, 36500);
  return spec;
}

ImportSpec load_import(const Reader& r, const YAML::Node& n, const std::string& path) {
  r.expect_map(n, path, {"file", "pem", "p12", "passphrase_env", "passphrase_file"});
  const int given = (n["file"] ? 1 : 0) + (n["pem"] ? 1 : 0) + (n["p12"] ? 1 : 0);
  if (given != 1) r.fail_at(n, path, "give exactly one of file, pem and p12");
  SecretRef secret = load_secret_ref(r, n, path);
  ImportSpec spec;
  Bytes data;
  YAML::Node where;
  if (auto v = n["file"]) {
    where = v;
    std::string file = r.file_path(v, path + ".file").string();
    spec.source = file;
    data = r.at(v, path + ".file", [&] { return read_file(file); });
  } else if (auto pem = n["pem"]) {
    where = pem;
    spec.source = r.file() + " (inline pem)";
    std::string text = r.string(pem, path + ".pem");
    if (text.find("PRIVATE KEY") != std::string::npos)
      r.fail_at(pem, path + ".pem", "a private key is never written in the file",
                "put the key in a PKCS#12 file encrypted with a passphrase (applctl export-config -o DIR)");
    data.assign(text.begin(), text.end());
  } else {
    where = n["p12"];
    spec.source = r.file() + " (inline p12)";
    data = r.at(where, path + ".p12", [&] { return base64_decode(r.string(where, path + ".p12"), kBase64Text); });
  }
  PassphraseFn passphrase = secret_fn(secret);
  spec.decoded = r.at(where, path, [&] { return decode_any(data, spec.source, passphrase, !secret.empty()); });
  OPENSSL_cleanse(data.data(), data.size());
  if (spec.decoded.certificates.empty())
    r.fail_at(where, path, fmt::format("'{}' holds no certificate", spec.source),
              "a private key alone cannot be a named certificate");
  return spec;
}

CertificateSpec load_certificate(const Reader& r, const YAML::Node& n, const std::string& path) {
  r.expect_map(n, path, {"name", "self_signed", "import", "factory_default"});
  CertificateSpec c;
  c.pos = r.pos(n);
  if (!n["name"]) r.fail_at(n, path, "missing 'name'");
  c.name = r.at(n["name"], path + ".name", [&] { return checked_friendly_name(r.string(n["name"], path + ".name")); });
  if (auto v = n["factory_default"]) c.factory_default = r.boolean(v, path + ".factory_default");
  const auto self_signed = n["self_signed"];
  const auto import = n["import"];
  if (!!self_signed == !!import) r.fail_at(n, path, "give exactly one of self_signed and import");
  if (self_signed) c.self_signed = load_self_signed(r, self_signed, path + ".self_signed");
  if (import) c.import = load_import(r, import, path + ".import");
  return c;
}

std::vector<IpSpec> load_ips(const Reader& r, const YAML::Node& n) {
  if (!n.IsSequence()) r.fail_at(n, "ips", "expected a list of {address: ..., certificate: ...}");
  std::vector<IpSpec> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const std::string path = fmt::format("ips[{}]", i);
    const YAML::Node item = n[i];
    r.expect_map(item, path, {"address", "certificate"});
    if (!item["address"]) r.fail_at(item, path, "missing 'address'");
    IpSpec ip;
    ip.pos = r.pos(item);
    const std::string text = r.string(item["address"], path + ".address");
    auto canonical = canonical_ip(text);
    if (!canonical)
      r.fail_at(item["address"], path + ".address", fmt::format("invalid IP address '{}'", printable(text)),
                "IPv4 like 192.0.2.10 or IPv6 like 2001:db8::10");
    ip.address = *canonical;
    if (!seen.insert(ip.address).second) r.fail_at(item, path, fmt::format("{} is listed twice", ip.address));
    if (auto c = item["certificate"]) ip.certificate = r.string(c, path + ".certificate");
    out.push_back(std::move(ip));
  }
  return out;
}

}  // namespace

ApplianceFile load_appliance(const std::string& text, const std::string& file, const fs::path& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail(ErrorKind::BadInput,
         fmt::format("{}:{}:{}: invalid YAML: {}", file, e.mark.line + 1, e.mark.column + 1, e.msg),
         "check the indentation and the quoting around this line");
  }
  Reader r(file, base_dir);
  if (root.IsNull()) fail(ErrorKind::BadInput, fmt::format("{}: the file is empty", file), "start it with: version: 1");
  r.expect_map(root, "file", {"version", "hostnames", "certificates", "ips", "default", "kmip"});
  if (!root["version"]) r.fail_at(root, "file", "missing 'version: 1'");
  if (int v = r.integer(root["version"], "version", 0, 1000000); v != 1)
    r.fail_at(root["version"], "version", fmt::format("unsupported version {} (this applctl reads version 1)", v));

  ApplianceFile out;
  out.file = file;
  if (auto h = root["hostnames"]) {
    std::vector<std::string> names = r.strings(h, "hostnames");
    if (names.empty()) r.fail_at(h, "hostnames", "give at least one hostname");
    out.hostnames = r.at(h, "hostnames", [&] { return checked_hostnames(names); });
  }
  if (auto certs = root["certificates"]) {
    if (!certs.IsSequence()) r.fail_at(certs, "certificates", "expected a list of certificates");
    std::set<std::string> names;
    int factories = 0;
    for (std::size_t i = 0; i < certs.size(); ++i) {
      const std::string path = fmt::format("certificates[{}]", i);
      CertificateSpec c = load_certificate(r, certs[i], path);
      if (!names.insert(c.name).second) r.fail_at(certs[i], path, fmt::format("the name '{}' is used twice", c.name));
      if (c.factory_default && ++factories > 1)
        r.fail_at(certs[i], path, "only one certificate can be the factory default");
      if (c.factory_default && !c.import)
        r.fail_at(certs[i], path, "factory_default: true needs an imported certificate with its key",
                  "export-config writes such entries; a new store makes its own factory default otherwise");
      out.certificates.push_back(std::move(c));
    }
  }
  if (auto ips = root["ips"]) out.ips = load_ips(r, ips);
  if (auto d = root["default"]) {
    out.default_cert = r.string(d, "default");
    out.default_pos = r.pos(d);
  }
  if (auto k = root["kmip"]) out.kmip = provision::load_kmip(r, k);
  return out;
}

ApplianceFile load_appliance_file(const std::string& path) {
  if (path == "-") {
    Bytes data = read_stream(std::cin, "<stdin>");
    return load_appliance(std::string(data.begin(), data.end()), "<stdin>", fs::current_path());
  }
  Bytes data = read_file(path);
  fs::path base = fs::absolute(path).parent_path();
  return load_appliance(std::string(data.begin(), data.end()), path, base);
}

}  // namespace applctl
