// Internal to lib/: what Store needs to open an encrypted database.
#pragma once

#include <filesystem>

#include "applctl/store/page_cipher.hpp"

namespace applctl::detail {

// Get of the key named in kmip.json, derived into page keys and checked against the saved check
// value. Errors keep the KMIP client's kind (Remote, NotFound) and say the store is unchanged.
PageKeys fetch_store_keys(const std::filesystem::path& store_dir);

}  // namespace applctl::detail
