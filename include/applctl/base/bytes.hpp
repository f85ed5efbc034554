// Byte buffers and the hex/base64 helpers everything shares.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace applctl {

using Bytes = std::vector<std::uint8_t>;
using BytesView = std::span<const std::uint8_t>;

inline BytesView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string to_string(BytesView b) { return {b.begin(), b.end()}; }

std::string hex(BytesView b);                // lowercase, no separators
std::string printable(std::string_view s);   // for messages: control bytes as \xNN
std::string base64_encode(BytesView b);      // standard alphabet, padded, one line
Bytes base64_decode(std::string_view text);  // white space ignored; BadInput when invalid
std::string sha256_hex(BytesView b);         // lowercase hex of SHA-256(b)
// The whole content of a file (or a stream: "<stdin>" names it), at most `limit` bytes: a
// longer input, like /dev/zero named by mistake, is refused. Throws BadInput naming the file.
inline constexpr std::size_t max_file_size = 16u * 1024u * 1024u;
Bytes read_file(const std::string& path, std::size_t limit = max_file_size);
Bytes read_stream(std::istream& in, const std::string& name, std::size_t limit = max_file_size);
// Writes through a temporary file in the same directory and rename(2); mode applies to the new
// file from its creation (so a key is never readable by others, not even for an instant).
// Refuses (Refused) to replace an existing file unless overwrite is true. The data is fsync'ed
// before the rename when it replaces a file (overwrite) or is private (mode 0600). A symbolic
// link stays a link (the file it names is written); a device, FIFO or socket (/dev/null,
// /dev/stdout into a pipe) is written into directly, with or without overwrite.
void write_file_atomic(const std::string& path, BytesView data, unsigned mode, bool overwrite);

}  // namespace applctl
