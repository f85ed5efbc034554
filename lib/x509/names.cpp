// Subject names, subject alternative names and RFC 6125 host name matching.
#include "applctl/x509/names.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

#include "applctl/base/bytes.hpp"
#include "applctl/base/error.hpp"

namespace applctl {
namespace {

constexpr std::string_view kSanHint =
    "a SAN is DNS:name, IP:address, or a bare host name or IP address; a wildcard only as the "
    "whole leftmost label (*.example.com)";

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

// Case-insensitive starts_with; prefix is lower case.
bool has_prefix(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}


// Lower case, one trailing dot removed: the form names are stored and compared in.
std::string normalize_dns(std::string_view name) {
  std::string out = lower(name);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

struct DnsProblem {
  std::string reason;
  std::string hint;  // empty: the generic SAN hint
};

// Why a normalized name is not an acceptable DNS name (LDH labels, RFC 1123 / RFC 5280), or
// nullopt. A wildcard is accepted only as the whole leftmost label with two labels after it.
std::optional<DnsProblem> dns_problem(std::string_view name) {
  if (name.empty()) return DnsProblem{"empty name", {}};
  if (std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    return DnsProblem{"non-ASCII characters", "use the punycode (xn--) form of an internationalised name"};
  }
  if (name.size() > 253) {
    return DnsProblem{fmt::format("name is {} octets, longer than 253", name.size()), {}};
  }
  std::vector<std::string_view> labels;
  for (std::size_t start = 0;;) {
    std::size_t dot = name.find('.', start);
    labels.push_back(name.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    std::string_view label = labels[i];
    if (label.empty()) return DnsProblem{"empty label", {}};
    if (i == 0 && label == "*") {
      if (labels.size() < 3) return DnsProblem{"a wildcard needs at least two labels after it", {}};
      continue;
    }
    if (label.find('*') != std::string_view::npos) {
      return DnsProblem{"a wildcard '*' is allowed only as the whole leftmost label", {}};
    }
    if (label.size() > 63) {
      return DnsProblem{fmt::format("label '{}' is {} octets, longer than 63", label, label.size()), {}};
    }
    for (char c : label) {
      if (c == '_') {
        return DnsProblem{fmt::format("underscore in label '{}'", label),
                          "host names take letters, digits and hyphens only; use a hyphen"};
      }
      if (!is_alpha(c) && !is_digit(c) && c != '-') {
        return DnsProblem{fmt::format("invalid character '{}'", printable(std::string_view(&c, 1))), {}};
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return DnsProblem{fmt::format("label '{}' starts or ends with a hyphen", label), {}};
    }
  }
  // RFC 3696 2: a top-level label is never all-numeric; such a "name" is a mistyped address.
  if (std::all_of(labels.back().begin(), labels.back().end(), is_digit)) {
    return DnsProblem{"the last label is all-numeric",
                      "an IP address is written IP:address (IPv4 as four decimal numbers)"};
  }
  return std::nullopt;
}

[[noreturn]] void bad_san(std::string_view text, std::string_view reason, std::string_view hint) {
  fail(ErrorKind::BadInput, fmt::format("invalid SAN '{}': {}", printable(text), reason),
       std::string(hint.empty() ? kSanHint : hint));
}

// Field of Subject, its name in messages and its RFC 5280 upper bound (characters).
struct SubjectField {
  std::string Subject::*member;
  std::string_view name;
  std::size_t max_chars;
};

constexpr SubjectField kSubjectFields[] = {
    {&Subject::country, "country", 2},         {&Subject::state, "state", 128},
    {&Subject::locality, "locality", 128},     {&Subject::org, "organization", 64},
    {&Subject::ou, "organizational unit", 64}, {&Subject::cn, "common name", 64},
};

std::string trimmed(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  std::size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  std::size_t last = s.find_last_not_of(kSpace);
  return std::string(s.substr(first, last - first + 1));
}

// Code points of s, or nullopt when s is not well-formed UTF-8 (overlong forms, surrogates and
// values past U+10FFFF are malformed).
std::optional<std::u32string> decode_utf8(std::string_view s) {
  std::u32string out;
  for (std::size_t i = 0; i < s.size();) {
    auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (b0 < 0x80) {
      out += static_cast<char32_t>(b0);
      ++i;
      continue;
    }
    if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      return std::nullopt;
    }
    if (s.size() - i < len) return std::nullopt;
    for (std::size_t k = 1; k < len; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    out += cp;
    i += len;
  }
  return out;
}

bool is_control(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

}  // namespace

Subject validated(Subject s) {
  for (const auto& field : kSubjectFields) {
    std::string& value = s.*field.member;
    value = trimmed(value);
    auto chars = decode_utf8(value);
    if (!chars) {
      fail(ErrorKind::BadInput,
           fmt::format("invalid {} '{}': not valid UTF-8", field.name, printable(value)));
    }
    if (std::any_of(chars->begin(), chars->end(), is_control)) {
      fail(ErrorKind::BadInput,
           fmt::format("invalid {} '{}': control characters are not allowed", field.name, printable(value)),
           "use printable text only");
    }
    if (field.member == &Subject::country) {
      std::transform(value.begin(), value.end(), value.begin(), ascii_upper);
      if (!value.empty() && !is_iso3166_alpha2(value)) {
        fail(ErrorKind::BadInput,
             fmt::format("invalid country code '{}': not an ISO 3166-1 alpha-2 code", value),
             "two letters, e.g. US, DE, GB");
      }
    } else if (chars->size() > field.max_chars) {
      std::string shown = value.size() > 40 ? value.substr(0, 32) + "..." : value;
      fail(ErrorKind::BadInput,
           fmt::format("invalid {} '{}': {} characters, longer than the {} RFC 5280 allows", field.name,
                       shown, chars->size(), field.max_chars),
           field.member == &Subject::cn ? "shorten it; long host names belong in a SAN (--san)"
                                        : "shorten it");
    }
  }
  return s;
}

std::optional<std::string> canonical_ip(std::string_view text) {
  if (text.empty() || text.size() > 64 || text.find('\0') != std::string_view::npos) return std::nullopt;
  const std::string z(text);  // inet_pton wants a NUL-terminated string
  unsigned char addr[sizeof(in6_addr)];
  char out[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, z.c_str(), addr) == 1 && inet_ntop(family, addr, out, sizeof out) != nullptr) {
      return std::string(out);
    }
  }
  return std::nullopt;
}

San parse_san(std::string_view text) {
  enum class Form { Bare, Dns, Ip } form = Form::Bare;
  std::string_view body = text;
  if (has_prefix(text, "dns:")) {
    form = Form::Dns;
    body.remove_prefix(4);
  } else if (has_prefix(text, "ip:")) {
    form = Form::Ip;
    body.remove_prefix(3);
  }
  if (body.empty()) bad_san(text, form == Form::Ip ? "empty address" : "empty name", {});
  if (form != Form::Dns) {
    if (auto ip = canonical_ip(body)) return San{SanType::IP, *ip};
    bool has_colon = body.find(':') != std::string_view::npos;
    if (has_colon && body.find('%') != std::string_view::npos) {
      bad_san(text, "IPv6 zone ids (%...) are not allowed", "give the address without its zone");
    }
    if (form == Form::Ip) bad_san(text, "not an IPv4 or IPv6 address", {});
    if (has_colon) {
      std::string_view type = body.substr(0, body.find(':'));
      if (!type.empty() && std::all_of(type.begin(), type.end(), is_alpha)) {
        bad_san(text, fmt::format("unsupported SAN type '{}'", type), "only DNS: and IP: SANs are supported");
      }
      bad_san(text, "not an IPv4 or IPv6 address", {});
    }
  }
  std::string name = normalize_dns(body);
  if (auto problem = dns_problem(name)) bad_san(text, problem->reason, problem->hint);
  return San{SanType::DNS, std::move(name)};
}

bool is_dns_name(std::string_view text) {
  if (text.empty() || canonical_ip(text)) return false;
  std::string name = normalize_dns(text);
  if (dns_problem(name)) return false;
  return name.find('.') != std::string::npos || name == "localhost";
}

std::vector<San> build_sans(const Subject& subject, const std::vector<std::string>& sans) {
  if (subject.cn.empty() && sans.empty())
    fail(ErrorKind::BadInput, "neither --cn nor --san: the certificate or request would name no host",
         "give the host it is for, e.g. --cn support.example.com (it becomes the first SAN) or --san DNS:NAME");
  std::vector<San> out;
  auto add = [&out](San san) {
    if (std::find(out.begin(), out.end(), san) == out.end()) out.push_back(std::move(san));
  };
  if (is_dns_name(subject.cn)) add(San{SanType::DNS, normalize_dns(subject.cn)});
  for (const auto& text : sans) add(parse_san(text));
  return out;
}

bool matchable_dns_san(std::string_view value) {
  return !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '*';
  });
}

bool dns_name_matches(std::string_view pattern, std::string_view host) {
  if (!matchable_dns_san(pattern)) return false;
  const std::string p = normalize_dns(pattern);
  const std::string h = normalize_dns(host);
  // A DNS identifier never matches an IP address (RFC 6125 6.2.1; those match IP SANs only).
  if (p.empty() || h.empty() || canonical_ip(host) || canonical_ip(h)) return false;
  if (h.find('*') != std::string::npos) return false;
  if (!p.starts_with("*.")) return p.find('*') == std::string::npos && p == h;
  // "*.example.com": the suffix ".example.com" must hold two non-empty labels and no other '*'.
  const std::string_view suffix = std::string_view(p).substr(1);
  if (suffix.find('*') != std::string_view::npos || suffix.find("..") != std::string_view::npos ||
      suffix.back() == '.' || std::count(suffix.begin(), suffix.end(), '.') < 2) {
    return false;
  }
  const std::size_t dot = h.find('.');
  return dot != std::string::npos && dot > 0 && std::string_view(h).substr(dot) == suffix;
}

bool sans_cover(const std::vector<std::string>& alt_names, std::string_view host) {
  const std::optional<std::string> host_ip = canonical_ip(host);
  for (const auto& entry : alt_names) {
    std::string_view san = entry;
    if (has_prefix(san, "ip:")) {
      if (host_ip && canonical_ip(san.substr(3)) == host_ip) return true;
    } else if (has_prefix(san, "dns:")) {
      if (!host_ip && dns_name_matches(san.substr(4), host)) return true;
    }
  }
  return false;
}

}  // namespace applctl
