// Data at rest encryption of the store with a key held by the KMIP server (seed 003).
//
// An encrypted store is the same SQLite database written through an encrypting VFS (every page
// image of the database, its journal and its WAL sealed with XTS-AES-128 and an HMAC-SHA-256 tag,
// see page_cipher.hpp). Only the key's unique identifier and what it takes to reach the KMIP server
// stay outside it, in kmip.json. Every command that opens an encrypted store fetches the key with
// Get, derives the page keys, and wipes the key: with the server down it fails (exit 7) and
// changes nothing.
//
// Turning encryption on or off rewrites the whole database into a new file beside it (VACUUM
// INTO, under an exclusive lock), checks it, and renames it over the old one: a crash or a KMIP
// failure at any point leaves the store readable in its old state. Whether the store is encrypted
// is read from the database file itself, never assumed from the settings.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "applctl/kmip/config.hpp"
#include "applctl/store/store_key.hpp"

namespace applctl {

struct EncryptRequest {
  std::string key_uid;             // an existing AES key on the server; "" creates one
  std::string name = "applctl-store";  // the Name of a created key
  int bits = 256;                  // of a created key: 128 or 256
};

struct EncryptResult {
  bool changed = false;            // false: the store was already encrypted
  bool created_key = false;
  std::string unique_identifier;   // of the key that encrypts the store
  std::string server;              // "host:port"
  std::uint64_t bytes = 0;         // size of the new database file
};

// NotFound without a store or KMIP settings; Remote when the server fails (nothing changed; a key
// created for this run is destroyed again); BadInput when the key is not an AES key.
EncryptResult encrypt_store(const std::filesystem::path& store_dir, const EncryptRequest& request);

struct DecryptResult {
  bool changed = false;            // false: the store was not encrypted
  std::string unique_identifier;   // of the key that encrypted it (it stays on the server)
  std::uint64_t bytes = 0;
};
DecryptResult decrypt_store(const std::filesystem::path& store_dir);

}  // namespace applctl
