// Byte buffers and the hex/base64 helpers everything shares.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
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
// Text for people and JSON (cli.md: text from certificates): valid UTF-8 without control
// characters is kept as it is; each byte of an invalid UTF-8 sequence and each byte of a control
// character (C0, DEL, and the C1 range U+0080..U+009F, whose two UTF-8 bytes are both escaped)
// becomes \xNN. The result is valid UTF-8 without control characters, and printable() of it is
// itself (idempotent). Applied where certificate text enters our values and to messages.
std::string printable(std::string_view s);
bool is_printable(std::string_view s);       // printable(s) == s, without building it

// The one base64 codec (RFC 4648); the alphabet and the strictness are parameters.
struct Base64Rules {
  enum class Alphabet { Standard, Url };  // "+/" or "-_" (section 5)
  Alphabet alphabet = Alphabet::Standard;
  bool padded = true;             // encode with '='; decode: '=' required to a multiple of 4, else refused
  bool skip_whitespace = false;   // decode: space, tab, CR and LF anywhere are ignored
  bool canonical = false;         // decode: the unused bits of the last character must be zero
};
inline constexpr Base64Rules kBase64{};                    // PEM bodies: strict, padded
inline constexpr Base64Rules kBase64Text{Base64Rules::Alphabet::Standard, true, true, false};  // YAML values
inline constexpr Base64Rules kBase64Url{Base64Rules::Alphabet::Url, false, false, true};       // JOSE (ACME)
std::string base64_encode(BytesView b, const Base64Rules& rules = kBase64);
// nullopt when text breaks the rules; `why` then says how ("unexpected character 'x'").
std::optional<Bytes> base64_try_decode(std::string_view text, const Base64Rules& rules, std::string* why = nullptr);
// BadInput "invalid base64: why" ("invalid base64url: ..." for the URL alphabet) when invalid.
Bytes base64_decode(std::string_view text, const Base64Rules& rules = kBase64);
inline std::string base64url(BytesView b) { return base64_encode(b, kBase64Url); }
inline Bytes base64url_decode(std::string_view text) { return base64_decode(text, kBase64Url); }
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
