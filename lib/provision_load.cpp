// Loading an APPLIANCE.yaml file: YAML syntax, then the schema (version 1), then every value
// (names, key specs, subjects, SANs, addresses, certificate files and their passphrases), each
// error naming file:line:column, before the store is touched.
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <set>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <yaml-cpp/yaml.h>

#include "applctl/appliance.hpp"
#include "applctl/provision.hpp"

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
  const char* v = std::getenv(ref.env.c_str());
  if (v == nullptr)
    fail(ErrorKind::BadInput, fmt::format("environment variable {} is not set", ref.env),
         "export it before running applctl, or use a passphrase file");
  return v;
}

namespace {

// Keys that would hold a secret in the file itself.
bool is_inline_secret(std::string_view key) {
  return key == "passphrase" || key == "password" || key == "private_key" || key == "secret";
}

// Reads values out of the YAML tree; every error says where.
class Reader {
 public:
  Reader(std::string file, fs::path base) : file_(std::move(file)), base_(std::move(base)) {}

  FilePos pos(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    return {file_, m.line + 1, m.column + 1};
  }

  [[noreturn]] void fail_at(const YAML::Node& n, std::string_view path, std::string_view message,
                            std::string hint = {}) const {
    fail(ErrorKind::BadInput, fmt::format("{}: {}: {}", pos(n).str(), path, message), std::move(hint));
  }

  // Rethrows a value's own error (an invalid country, SAN, key spec) with the position in front.
  template <typename F>
  auto at(const YAML::Node& n, std::string_view path, F&& f) const {
    try {
      return f();
    } catch (const Error& e) {
      fail(ErrorKind::BadInput, fmt::format("{}: {}: {}", pos(n).str(), path, e.what()), e.hint());
    }
  }

  // A mapping with only the given keys, each at most once, and no inline secret.
  void expect_map(const YAML::Node& n, std::string_view path, std::initializer_list<std::string_view> keys) const {
    if (!n.IsMap()) fail_at(n, path, "expected a mapping (key: value)");
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (!seen.insert(key).second) fail_at(it->first, path, fmt::format("duplicate key '{}'", key));
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
      if (is_inline_secret(key))
        fail_at(it->first, path, fmt::format("'{}': secrets are never written in the file", key),
                "name an environment variable (passphrase_env: VAR) or a file (passphrase_file: PATH)");
      fail_at(it->first, path, fmt::format("unknown key '{}' (expected one of: {})", key, fmt::join(keys, ", ")));
    }
  }

  std::string string(const YAML::Node& n, std::string_view path) const {
    if (!n.IsScalar()) fail_at(n, path, "expected a string");
    return n.Scalar();
  }

  std::vector<std::string> strings(const YAML::Node& n, std::string_view path) const {
    if (!n.IsSequence()) fail_at(n, path, "expected a list of strings, e.g. [a, b]");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n.size(); ++i) out.push_back(string(n[i], fmt::format("{}[{}]", path, i)));
    return out;
  }

  int integer(const YAML::Node& n, std::string_view path, int min, int max) const {
    const std::string s = string(n, path);
    int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v < min || v > max)
      fail_at(n, path, fmt::format("expected a whole number from {} to {}, not '{}'", min, max, printable(s)));
    return v;
  }

  bool boolean(const YAML::Node& n, std::string_view path) const {
    const std::string s = string(n, path);
    if (s == "true") return true;
    if (s == "false") return false;
    fail_at(n, path, fmt::format("expected true or false, not '{}'", printable(s)));
  }

  fs::path file_path(const YAML::Node& n, std::string_view path) const {
    fs::path p = string(n, path);
    if (p.empty()) fail_at(n, path, "empty path");
    return p.is_absolute() ? p : base_ / p;
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
  fs::path base_;
};

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

SecretRef load_secret_ref(const Reader& r, const YAML::Node& n, const std::string& path) {
  SecretRef ref;
  const auto env = n["passphrase_env"];
  const auto file = n["passphrase_file"];
  if (env && file) r.fail_at(file, path, "give passphrase_env or passphrase_file, not both");
  if (env) {
    ref.env = r.string(env, path + ".passphrase_env");
    if (std::getenv(ref.env.c_str()) == nullptr)
      r.fail_at(env, path + ".passphrase_env", fmt::format("environment variable {} is not set", ref.env),
                "export it before running applctl apply");
  }
  if (file) {
    ref.file = r.file_path(file, path + ".passphrase_file").string();
    if (::access(ref.file.c_str(), R_OK) != 0)
      r.fail_at(file, path + ".passphrase_file", fmt::format("cannot read '{}'", ref.file));
  }
  return ref;
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
    data = r.at(where, path + ".p12", [&] { return base64_decode(r.string(where, path + ".p12")); });
  }
  PassphraseFn passphrase = [secret]() -> std::optional<std::string> {
    if (secret.empty()) return std::nullopt;
    return resolve_secret(secret);
  };
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
  r.expect_map(root, "file", {"version", "hostnames", "certificates", "ips", "default"});
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
  return out;
}

ApplianceFile load_appliance_file(const std::string& path) {
  if (path == "-") {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return load_appliance(text, "<stdin>", fs::current_path());
  }
  Bytes data = read_file(path);
  fs::path base = fs::absolute(path).parent_path();
  return load_appliance(std::string(data.begin(), data.end()), path, base);
}

}  // namespace applctl
