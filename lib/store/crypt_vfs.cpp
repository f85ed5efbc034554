// The encrypting VFS shim (see crypt_vfs.hpp).
#include "store/crypt_vfs.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <new>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "applctl/base/error.hpp"

namespace applctl::detail {

namespace {

thread_local std::string t_failure;

constexpr sqlite3_int64 kP = static_cast<sqlite3_int64>(kPageSize);
constexpr sqlite3_int64 kWalHeader = 32;
constexpr sqlite3_int64 kWalFrameHeader = 24;
constexpr sqlite3_int64 kWalFrame = kWalFrameHeader + kP;

// An open file: SQLite allocates szOsFile bytes; this header, then the real file.
struct CryptFile {
  sqlite3_file base;
  sqlite3_file* real;
  PageCipher* cipher;  // null: passed through (the -shm file)
  PageFile kind;
  const char* path;
};

struct VfsData {
  sqlite3_vfs vfs{};
  sqlite3_vfs* root = nullptr;
  std::string name;
  PageKeys keys;
  explicit VfsData(const PageKeys& k) : keys(k) {}
};

VfsData* data_of(sqlite3_vfs* vfs) { return static_cast<VfsData*>(vfs->pAppData); }
CryptFile* crypt_of(sqlite3_file* f) { return reinterpret_cast<CryptFile*>(f); }

const char* kind_name(PageFile k) {
  switch (k) {
    case PageFile::Database: return "database";
    case PageFile::Journal: return "journal";
    case PageFile::Wal: return "WAL";
  }
  return "file";
}

int page_failed(const CryptFile* f, sqlite3_int64 offset) {
  t_failure = fmt::format("{} page at offset {} of '{}' failed its authentication tag", kind_name(f->kind), offset,
                          f->path != nullptr ? f->path : "?");
  return SQLITE_IOERR_DATA;
}

int refused_write(const CryptFile* f, std::string what) {
  t_failure = fmt::format("refused to write '{}': {}", f->path != nullptr ? f->path : "?", what);
  return SQLITE_IOERR_WRITE;
}

bool all_zero(const std::uint8_t* p, std::size_t n) {
  return std::all_of(p, p + n, [](std::uint8_t b) { return b == 0; });
}

std::span<std::uint8_t, kPageSize> page_at(std::uint8_t* p) { return std::span<std::uint8_t, kPageSize>(p, kPageSize); }

// Where the page image that holds `offset` starts, or -1 when the offset is in no page image.
sqlite3_int64 page_start(PageFile kind, sqlite3_int64 offset) {
  if (kind == PageFile::Database) return offset / kP * kP;
  if (offset < kWalHeader) return -1;  // WAL
  const sqlite3_int64 frame = kWalHeader + (offset - kWalHeader) / kWalFrame * kWalFrame;
  return offset >= frame + kWalFrameHeader ? frame + kWalFrameHeader : -1;
}

// In the WAL, from an offset in a header: where the next page image starts.
sqlite3_int64 next_wal_page(sqlite3_int64 offset) {
  if (offset < kWalHeader) return kWalHeader + kWalFrameHeader;
  return kWalHeader + (offset - kWalHeader) / kWalFrame * kWalFrame + kWalFrameHeader;
}

// Checks and decrypts the page image read at `start` into `page`. A short read leaves zeros past
// the end of the file: a page wholly past the end is returned as zeros, like SQLite expects.
int open_page(CryptFile* f, sqlite3_int64 start, std::uint8_t* page, bool short_read) {
  if (short_read && all_zero(page, kPageSize)) {
    sqlite3_int64 size = 0;
    if (f->real->pMethods->xFileSize(f->real, &size) == SQLITE_OK && size <= start) return SQLITE_OK;
  }
  return f->cipher->open(f->kind, static_cast<std::uint64_t>(start), page_at(page)) ? SQLITE_OK : page_failed(f, start);
}

int x_read(sqlite3_file* file, void* buf, int amt, sqlite3_int64 off) {
  CryptFile* f = crypt_of(file);
  int rc = f->real->pMethods->xRead(f->real, buf, amt, off);
  if (f->cipher == nullptr || (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ)) return rc;
  const bool short_read = rc == SQLITE_IOERR_SHORT_READ;
  auto* out = static_cast<std::uint8_t*>(buf);
  if (f->kind == PageFile::Journal) {  // page images are the reads of exactly one page
    if (amt != kP) return rc;
    int prc = open_page(f, off, out, short_read);
    return prc != SQLITE_OK ? prc : rc;
  }
  const sqlite3_int64 end = off + amt;
  for (sqlite3_int64 at = off; at < end;) {
    const sqlite3_int64 start = page_start(f->kind, at);
    if (start < 0) {  // a WAL header: skip to the next page image
      at = next_wal_page(at);
      continue;
    }
    if (start >= end) break;
    int prc = SQLITE_OK;
    if (start >= off && start + kP <= end) {
      prc = open_page(f, start, out + (start - off), short_read);
    } else {  // a part of a page (the 100-byte header): read, check and decrypt all of it
      std::uint8_t page[kPageSize];
      int r = f->real->pMethods->xRead(f->real, page, static_cast<int>(kP), start);
      if (r != SQLITE_OK && r != SQLITE_IOERR_SHORT_READ) return r;
      prc = open_page(f, start, page, r == SQLITE_IOERR_SHORT_READ);
      if (prc == SQLITE_OK) {
        const sqlite3_int64 from = std::max(start, off), to = std::min(start + kP, end);
        std::memcpy(out + (from - off), page + (from - start), static_cast<std::size_t>(to - from));
      }
    }
    if (prc != SQLITE_OK) return prc;
    at = start + kP;
  }
  return rc;
}

int check_first_page(CryptFile* f, const std::uint8_t* page) {
  const unsigned size = (unsigned{page[16]} << 8) | page[17];
  if (size != kPageSize) return refused_write(f, fmt::format("its page size is {}, an encrypted store needs {}", size, kPageSize));
  if (page[20] < kPageTagSize)
    return refused_write(f, fmt::format("its pages reserve {} bytes, an encrypted store needs {}", page[20], kPageTagSize));
  return SQLITE_OK;
}

int x_write(sqlite3_file* file, const void* buf, int amt, sqlite3_int64 off) {
  CryptFile* f = crypt_of(file);
  if (f->cipher == nullptr) return f->real->pMethods->xWrite(f->real, buf, amt, off);
  const auto* in = static_cast<const std::uint8_t*>(buf);
  if (f->kind == PageFile::Journal && amt != kP) return f->real->pMethods->xWrite(f->real, buf, amt, off);
  std::vector<std::uint8_t> copy(in, in + amt);
  if (f->kind == PageFile::Journal) {
    f->cipher->seal(f->kind, static_cast<std::uint64_t>(off), page_at(copy.data()));
  } else {
    const sqlite3_int64 end = off + amt;
    if (f->kind == PageFile::Database && (off % kP != 0 || amt % kP != 0))
      return refused_write(f, fmt::format("a write of {} bytes at offset {} is not whole pages", amt, off));
    if (f->kind == PageFile::Database && off == 0) {
      if (int rc = check_first_page(f, in); rc != SQLITE_OK) return rc;
    }
    for (sqlite3_int64 at = off; at < end;) {
      const sqlite3_int64 start = page_start(f->kind, at);
      if (start < 0) {
        at = next_wal_page(at);
        continue;
      }
      if (start >= end) break;
      if (start < off || start + kP > end)
        return refused_write(f, fmt::format("a write of {} bytes at offset {} covers part of a page", amt, off));
      f->cipher->seal(f->kind, static_cast<std::uint64_t>(start), page_at(copy.data() + (start - off)));
      at = start + kP;
    }
  }
  return f->real->pMethods->xWrite(f->real, copy.data(), amt, off);
}

int x_close(sqlite3_file* file) {
  CryptFile* f = crypt_of(file);
  int rc = f->real->pMethods != nullptr ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
  delete f->cipher;
  f->cipher = nullptr;
  return rc;
}

// The rest passes straight through to the real file.
int x_truncate(sqlite3_file* f, sqlite3_int64 size) { return crypt_of(f)->real->pMethods->xTruncate(crypt_of(f)->real, size); }
int x_sync(sqlite3_file* f, int flags) { return crypt_of(f)->real->pMethods->xSync(crypt_of(f)->real, flags); }
int x_file_size(sqlite3_file* f, sqlite3_int64* size) { return crypt_of(f)->real->pMethods->xFileSize(crypt_of(f)->real, size); }
int x_lock(sqlite3_file* f, int lock) { return crypt_of(f)->real->pMethods->xLock(crypt_of(f)->real, lock); }
int x_unlock(sqlite3_file* f, int lock) { return crypt_of(f)->real->pMethods->xUnlock(crypt_of(f)->real, lock); }
int x_check_reserved(sqlite3_file* f, int* out) {
  return crypt_of(f)->real->pMethods->xCheckReservedLock(crypt_of(f)->real, out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  return crypt_of(f)->real->pMethods->xFileControl(crypt_of(f)->real, op, arg);
}
int x_sector_size(sqlite3_file* f) { return crypt_of(f)->real->pMethods->xSectorSize(crypt_of(f)->real); }
int x_device_characteristics(sqlite3_file* f) {
  return crypt_of(f)->real->pMethods->xDeviceCharacteristics(crypt_of(f)->real);
}
int x_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return crypt_of(f)->real->pMethods->xShmMap(crypt_of(f)->real, page, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return crypt_of(f)->real->pMethods->xShmLock(crypt_of(f)->real, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) { crypt_of(f)->real->pMethods->xShmBarrier(crypt_of(f)->real); }
int x_shm_unmap(sqlite3_file* f, int del) { return crypt_of(f)->real->pMethods->xShmUnmap(crypt_of(f)->real, del); }

// Version 2: shared memory for WAL, no memory-mapped reads (they would bypass x_read).
const sqlite3_io_methods kMethods = {
    2,        x_close,          x_read,    x_write,         x_truncate,   x_sync,     x_file_size, x_lock, x_unlock,
    x_check_reserved, x_file_control, x_sector_size, x_device_characteristics, x_shm_map, x_shm_lock, x_shm_barrier,
    x_shm_unmap, nullptr, nullptr};

int x_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  VfsData* d = data_of(vfs);
  CryptFile* f = crypt_of(file);
  std::memset(f, 0, sizeof *f);
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->path = name;
  if (flags & SQLITE_OPEN_MAIN_DB) {
    f->kind = PageFile::Database;
  } else if (flags & SQLITE_OPEN_MAIN_JOURNAL) {
    f->kind = PageFile::Journal;
  } else if (flags & SQLITE_OPEN_WAL) {
    f->kind = PageFile::Wal;
  } else {
    t_failure = "the encrypted store needs its temporary files in memory (PRAGMA temp_store=MEMORY)";
    return SQLITE_CANTOPEN;
  }
  int rc = d->root->xOpen(d->root, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  try {
    f->cipher = new PageCipher(d->keys);
  } catch (...) {
    f->real->pMethods->xClose(f->real);
    return SQLITE_NOMEM;
  }
  file->pMethods = &kMethods;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs* v, const char* name, int sync) { return data_of(v)->root->xDelete(data_of(v)->root, name, sync); }
int x_access(sqlite3_vfs* v, const char* name, int flags, int* out) {
  return data_of(v)->root->xAccess(data_of(v)->root, name, flags, out);
}
int x_full_pathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  return data_of(v)->root->xFullPathname(data_of(v)->root, name, n, out);
}
void* x_dl_open(sqlite3_vfs* v, const char* name) { return data_of(v)->root->xDlOpen(data_of(v)->root, name); }
void x_dl_error(sqlite3_vfs* v, int n, char* out) { data_of(v)->root->xDlError(data_of(v)->root, n, out); }
void (*x_dl_sym(sqlite3_vfs* v, void* h, const char* sym))(void) { return data_of(v)->root->xDlSym(data_of(v)->root, h, sym); }
void x_dl_close(sqlite3_vfs* v, void* h) { data_of(v)->root->xDlClose(data_of(v)->root, h); }
int x_randomness(sqlite3_vfs* v, int n, char* out) { return data_of(v)->root->xRandomness(data_of(v)->root, n, out); }
int x_sleep(sqlite3_vfs* v, int us) { return data_of(v)->root->xSleep(data_of(v)->root, us); }
int x_current_time(sqlite3_vfs* v, double* out) { return data_of(v)->root->xCurrentTime(data_of(v)->root, out); }
int x_get_last_error(sqlite3_vfs* v, int n, char* out) { return data_of(v)->root->xGetLastError(data_of(v)->root, n, out); }
int x_current_time_int64(sqlite3_vfs* v, sqlite3_int64* out) {
  return data_of(v)->root->xCurrentTimeInt64(data_of(v)->root, out);
}

std::atomic<int> g_serial{0};

}  // namespace

struct CryptVfs::Impl {
  VfsData data;
  explicit Impl(const PageKeys& keys) : data(keys) {}
};

CryptVfs::CryptVfs(const PageKeys& keys) : impl_(std::make_unique<Impl>(keys)) {
  VfsData& d = impl_->data;
  d.root = sqlite3_vfs_find(nullptr);
  if (d.root == nullptr) fail(ErrorKind::Failed, "SQLite has no default VFS");
  d.name = fmt::format("applctl-crypt-{}", ++g_serial);
  sqlite3_vfs& v = d.vfs;
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(sizeof(CryptFile)) + d.root->szOsFile;
  v.mxPathname = d.root->mxPathname;
  v.zName = d.name.c_str();
  v.pAppData = &d;
  v.xOpen = x_open;
  v.xDelete = x_delete;
  v.xAccess = x_access;
  v.xFullPathname = x_full_pathname;
  v.xDlOpen = x_dl_open;
  v.xDlError = x_dl_error;
  v.xDlSym = x_dl_sym;
  v.xDlClose = x_dl_close;
  v.xRandomness = x_randomness;
  v.xSleep = x_sleep;
  v.xCurrentTime = x_current_time;
  v.xGetLastError = x_get_last_error;
  v.xCurrentTimeInt64 = x_current_time_int64;
  if (int rc = sqlite3_vfs_register(&v, 0); rc != SQLITE_OK)
    fail(ErrorKind::Failed, fmt::format("cannot register the encrypting VFS: {}", sqlite3_errstr(rc)));
}

CryptVfs::~CryptVfs() { sqlite3_vfs_unregister(&impl_->data.vfs); }

const char* CryptVfs::name() const { return impl_->data.name.c_str(); }

std::string take_page_failure() { return std::exchange(t_failure, std::string()); }

bool looks_encrypted(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[16] = {};
  in.read(head, sizeof head);
  return in.gcount() > 0 && (in.gcount() < 16 || std::memcmp(head, "SQLite format 3", 16) != 0);
}

}  // namespace applctl::detail
