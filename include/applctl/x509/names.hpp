// Subject names, subject alternative names and hostname matching: pure values, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace applctl {

// The subject fields an operator types (seed 001, "Subject Name"). Empty fields are left out of
// the certificate. The `{}` initializers let callers write Subject{.cn = "x"} under -Wextra.
struct Subject {
  std::string country{};  // ISO 3166-1 alpha-2, upper case
  std::string state{};
  std::string locality{};
  std::string org{};
  std::string ou{};
  std::string cn{};
  bool empty() const {
    return country.empty() && state.empty() && locality.empty() && org.empty() && ou.empty() && cn.empty();
  }
};

// True for an officially assigned ISO 3166-1 alpha-2 code (the full list of 249, upper case only).
// User-assigned (XX, ZZ, XK) and exceptionally reserved codes (UK, EU) are not valid.
bool is_iso3166_alpha2(std::string_view code);
// Throws BadInput naming the field when a field is invalid (unknown country, over-long fields
// beyond RFC 5280's upper bounds, control characters). Country is upper-cased first.
// Surrounding white space is trimmed; bounds count characters (UTF-8, which must be well-formed);
// empty fields are allowed.
Subject validated(Subject s);

enum class SanType { DNS, IP };

struct San {
  SanType type;
  std::string value;  // DNS: lower case, no trailing dot; IP: canonical text (inet_ntop)
  std::string str() const { return (type == SanType::DNS ? "DNS:" : "IP:") + value; }
  bool operator==(const San&) const = default;
};

// "DNS:name", "IP:addr", or a bare name (IP when it parses as one, else DNS). Throws BadInput
// naming the SAN: empty labels, bad characters, labels over 63 or names over 253 octets, a
// wildcard that is not the whole leftmost label or that leaves fewer than two labels after it.
// DNS names: LDH labels (letters, digits, hyphen; no leading/trailing hyphen), ASCII only (IDNs
// in their xn-- form), last label not all-numeric. Prefixes are case-insensitive. IPv6 zone ids
// are refused. Other SAN types (email:, URI:) are refused as unsupported.
San parse_san(std::string_view text);
// Canonical text of an IPv4 or IPv6 address, or nullopt when text is not one.
std::optional<std::string> canonical_ip(std::string_view text);
// True when text is a syntactically valid DNS name (wildcards allowed as for parse_san) with at
// least one dot, or "localhost": what "the CN is a DNS name" means.
bool is_dns_name(std::string_view text);

// The SAN list of a new certificate or request: the parsed SANs, de-duplicated, with the CN
// first when the CN is a DNS name (cli.md: "it is also the first SAN").
// BadInput when there is neither a CN nor a SAN: a certificate or request must name its host.
std::vector<San> build_sans(const Subject& subject, const std::vector<std::string>& sans);

// True when a DNS SAN's value (as stored: lower case or not, "*." allowed) can ever be matched
// against a host name: letters, digits, '-', '.', '_' and '*' only. A SAN that held a control
// character or a byte that is not UTF-8 is stored escaped (printable(), "\x0a") and never matches:
// it is shown, but no TLS client (SNI) or hostname check can select a certificate by it.
bool matchable_dns_san(std::string_view value);

// RFC 6125 matching of a presented identifier against a host name: case-insensitive, a trailing
// dot ignored, '*' only as the whole leftmost label matching exactly one non-empty label. A
// pattern that is not matchable_dns_san never matches.
bool dns_name_matches(std::string_view pattern, std::string_view host);
// True when one of the SAN strings ("DNS:..", "IP:..") covers host (a DNS name or an IP). An IP
// host is covered only by an IP SAN, compared in canonical form ("::1" equals "0:0::1"); a name
// only by a DNS SAN. Other entries (email:, URI:, unprefixed) are ignored.
bool sans_cover(const std::vector<std::string>& alt_names, std::string_view host);

}  // namespace applctl
