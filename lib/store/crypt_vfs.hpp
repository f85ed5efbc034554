// The encrypting SQLite VFS of an encrypted store (internal to lib/). A shim over the default VFS,
// modelled on SQLite's cksumvfs: it recognises page images by the size and offset of each read
// and write, and seals them with PageCipher (XTS-AES-128, the position as the tweak, an HMAC tag
// in the page's reserved bytes) in the database file, its rollback journal and its WAL. Headers
// of the journal and WAL (page numbers, salts, checksums) stay as SQLite wrote them. Nothing above
// the VFS knows about encryption; a page that fails its tag reads as SQLITE_IOERR_DATA, and
// take_page_failure() says which.
//
// Requirements on the database: 4096-byte pages with at least 32 reserved bytes (the VFS refuses
// to write a first page that says otherwise), and temporary files in memory (PRAGMA
// temp_store=MEMORY): the VFS refuses to open temporary files, which would hold plaintext.
#pragma once

#include <memory>
#include <string>

#include "applctl/store/page_cipher.hpp"

namespace applctl::detail {

class CryptVfs {
 public:
  // Registers a VFS with a name of its own (not the default one); keys are copied.
  explicit CryptVfs(const PageKeys& keys);
  // Unregisters it: every connection that uses it must be closed first.
  ~CryptVfs();
  CryptVfs(const CryptVfs&) = delete;
  CryptVfs& operator=(const CryptVfs&) = delete;
  const char* name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What the last SQLITE_IOERR_DATA of this thread was about ("page 3 of '/x/applctl.db' failed
// its authentication tag"), then forgotten; "" when there was none.
std::string take_page_failure();

// A database file that is not empty and does not start as a plaintext SQLite database does.
bool looks_encrypted(const std::string& path);

}  // namespace applctl::detail
