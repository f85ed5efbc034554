// The key of an encrypted store: fetched from the KMIP server for Store::open, and checked when
// the KMIP settings change (see applctl/store/store_key.hpp).
#include "applctl/store/store_key.hpp"

#include "store/store_key_internal.hpp"

#include <fmt/format.h>

#include "applctl/base/error.hpp"
#include "applctl/kmip/kmip.hpp"
#include "applctl/store/store.hpp"
#include "store/crypt_vfs.hpp"

namespace applctl {

namespace fs = std::filesystem;

PageKeys fetch_page_keys(const KmipConfig& via, const std::string& uid) {
  const kmip::KeyObject object = via.connect().get(uid);
  if (object.key.size() < 16)
    fail(ErrorKind::BadInput,
         fmt::format("KMIP object '{}' is a {} without symmetric key bytes of 128 bits or more", printable(uid), object.object_type),
         "give the identifier of an AES key, or let applctl kmip encrypt create one");
  return PageKeys::derive(object.key.view());
}

namespace detail {

PageKeys fetch_store_keys(const fs::path& dir) {
  const std::string file = Store::database_path(dir).string();
  const auto config = load_kmip_config(dir);
  if (!config || config->encryption_key_uid.empty())
    fail(ErrorKind::Failed,
         fmt::format("the store database '{}' is not a plaintext SQLite database, and {} names no key to decrypt it", file,
                     kmip_config_path(dir).string()),
         "if this store was encrypted with applctl kmip encrypt, restore its kmip.json from a backup");
  const std::string& uid = config->encryption_key_uid;
  try {
    PageKeys keys = fetch_page_keys(*config, uid);
    if (!config->encryption_key_check.empty() && keys.check_value() != config->encryption_key_check)
      fail(ErrorKind::Failed, fmt::format("KMIP key '{}' is not the key this store was encrypted with", printable(uid)));
    return keys;
  } catch (const Error& e) {
    throw Error(e.kind(),
                fmt::format("cannot open the encrypted store '{}': its key '{}' on {}: {}", dir.string(), printable(uid),
                            config->server(), e.what()),
                "nothing was changed; the store needs its KMIP server to be reachable (applctl kmip test)");
  }
}

}  // namespace detail

void check_store_key_with(const fs::path& dir, const KmipConfig& candidate) {
  if (!store_encrypted(dir)) return;
  const auto saved = load_kmip_config(dir);
  if (!saved || saved->encryption_key_uid.empty()) return;  // unreadable anyway: nothing to keep reachable
  const std::string& uid = saved->encryption_key_uid;
  std::string check;
  try {
    check = fetch_page_keys(candidate, uid).check_value();
  } catch (const Error& e) {
    throw Error(e.kind(),
                fmt::format("the KMIP settings for {} cannot reach the key '{}' that encrypts the store: {}", candidate.server(),
                            printable(uid), e.what()),
                "nothing was saved; the new server must hold the store's key (or run applctl kmip decrypt first)");
  }
  if (!saved->encryption_key_check.empty() && check != saved->encryption_key_check)
    fail(ErrorKind::Refused,
         fmt::format("KMIP key '{}' on {} is not the key that encrypts the store", printable(uid), candidate.server()),
         "nothing was saved; the new server must hold the store's key (or run applctl kmip decrypt first)");
}

void keep_store_key(KmipConfig& config, const std::optional<KmipConfig>& saved) {
  config.encryption_key_uid = saved ? saved->encryption_key_uid : std::string();
  config.encryption_key_check = saved ? saved->encryption_key_check : std::string();
}

bool store_encrypted(const fs::path& dir) { return detail::looks_encrypted(Store::database_path(dir).string()); }

}  // namespace applctl
