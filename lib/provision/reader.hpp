// Reading APPLIANCE.yaml values (internal to lib/provision_*.cpp): the Reader that checks types and
// keys and puts file:line:column in front of every error, the secret references, and the loaders
// of sections that live in files of their own.
#pragma once

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "applctl/base/bytes.hpp"
#include "applctl/base/error.hpp"
#include "applctl/provision/provision.hpp"

namespace applctl::provision {

// Keys that would hold a secret in the file itself.
inline bool is_inline_secret(std::string_view key) {
  return key == "passphrase" || key == "password" || key == "private_key" || key == "secret";
}

// Reads values out of the YAML tree; every error says where.
class Reader {
 public:
  Reader(std::string file, std::filesystem::path base) : file_(std::move(file)), base_(std::move(base)) {}

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
                fmt::format("name an environment variable ({0}_env: VAR) or a file ({0}_file: PATH)",
                            key == "password" ? "password" : "passphrase"));
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

  std::filesystem::path file_path(const YAML::Node& n, std::string_view path) const {
    std::filesystem::path p = string(n, path);
    if (p.empty()) fail_at(n, path, "empty path");
    return p.is_absolute() ? p : base_ / p;
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::filesystem::path base_;
};

// `NAME_env: VAR` or `NAME_file: PATH` (NAME is passphrase or password) of the mapping n, checked
// to be there (the variable set, the file readable); empty when neither is given.
SecretRef load_secret_ref(const Reader& r, const YAML::Node& n, const std::string& path,
                          const std::string& name = "passphrase");
// A secret asked for only when needed, from the reference the file gives (nullopt: none given).
PassphraseFn secret_fn(const SecretRef& ref);

// The kmip section (lib/provision/kmip.cpp).
KmipSpec load_kmip(const Reader& r, const YAML::Node& n);

}  // namespace applctl::provision
