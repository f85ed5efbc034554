// Secrets named by an environment variable: read once, zeroed in place, unset (see
// applctl/base/secret_env.hpp).
#include "applctl/base/secret_env.hpp"

#include <openssl/crypto.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

extern char** environ;

namespace applctl {

namespace {

// The values taken so far, wiped when the process ends.
struct Taken {
  std::mutex mu;
  std::map<std::string, std::string> values;
  ~Taken() {
    for (auto& [name, value] : values) OPENSSL_cleanse(value.data(), value.size());
  }
};

Taken& taken() {
  static Taken t;
  return t;
}

}  // namespace

std::optional<std::string> take_secret_env(const std::string& name) {
  if (name.empty() || name.find('=') != std::string::npos) return std::nullopt;
  Taken& t = taken();
  std::lock_guard lock(t.mu);
  // Every NAME=... entry (an environment may hold one twice; getenv sees the first) is wiped.
  std::optional<std::string> value;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, name.c_str(), name.size()) != 0 || (*e)[name.size()] != '=') continue;
    char* v = *e + name.size() + 1;
    if (!value) value.emplace(v);
    OPENSSL_cleanse(v, std::strlen(v));
  }
  if (value) {  // in the environment (again): this is the value from now on
    ::unsetenv(name.c_str());
    auto [it, fresh] = t.values.try_emplace(name);
    if (!fresh) OPENSSL_cleanse(it->second.data(), it->second.size());
    it->second = *value;
    return value;
  }
  if (auto it = t.values.find(name); it != t.values.end()) return it->second;  // taken before
  return std::nullopt;
}

}  // namespace applctl
