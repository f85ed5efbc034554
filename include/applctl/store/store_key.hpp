// The key of an encrypted store (data at rest, seed 003): Store::open fetches it from the KMIP
// server named in kmip.json with Get, derives the page keys (page_cipher.hpp) and wipes the key.
// Turning encryption on and off is a service (applctl/services/encryption.hpp).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "applctl/kmip/config.hpp"
#include "applctl/store/page_cipher.hpp"

namespace applctl {

// True when the store's database file exists and is encrypted (read from the file itself).
bool store_encrypted(const std::filesystem::path& store_dir);

// Get of key `uid` through `via`, derived into page keys (the key's bytes are wiped with the
// KeyObject). BadInput when the object is not a symmetric key of 128 bits or more.
PageKeys fetch_page_keys(const KmipConfig& via, const std::string& uid);

// For KMIP settings about to replace the saved ones: when the store is encrypted, Get of the key
// that encrypts it with the new settings, checked against the saved check value. Keeps the
// error's kind (Remote, NotFound) with a message saying the store would become unreadable;
// Refused when the server holds a different key under that identifier.
void check_store_key_with(const std::filesystem::path& store_dir, const KmipConfig& candidate);
// Copies the encryption key's identifier and check value from the saved settings into new ones.
void keep_store_key(KmipConfig& config, const std::optional<KmipConfig>& saved);

}  // namespace applctl
