// Results as JSON documents and as human tables and key: value blocks (see render.hpp).
#include "render.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

namespace applctl::cli {

std::string Table::str() const {
  std::vector<std::size_t> widths;
  for (const auto& row : rows_)
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + '\n';
  }
  return out;
}

Block& Block::add(std::string key, std::string value) {
  lines_.emplace_back(std::move(key), std::move(value));
  return *this;
}

std::string Block::str() const {
  std::size_t width = 0;
  for (const auto& [k, v] : lines_) width = std::max(width, k.size());
  std::string out;
  for (const auto& [k, v] : lines_) out += fmt::format("{:<{}} {}\n", k + ":", width + 1, v);
  return out;
}

std::string date_of(UnixTime t) { return format_rfc3339(t).substr(0, 10); }

namespace {

nlohmann::json warnings_json(const std::vector<Warning>& ws) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& w : ws) arr.push_back({{"code", w.code}, {"message", w.message}});
  return arr;
}

std::string warning_codes(const std::vector<Warning>& ws) {
  std::string out;
  for (const auto& w : ws) out += (out.empty() ? "" : ",") + w.code;
  return out.empty() ? "-" : out;
}

std::string joined(const std::vector<std::string>& v, const char* empty = "-") {
  return v.empty() ? empty : fmt::format("{}", fmt::join(v, ", "));
}

nlohmann::json time_or_null(const std::optional<UnixTime>& t) {
  return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json(nullptr);
}

// How cert renew would renew it: the stored method (acme), else from the certificate itself.
std::optional<std::string> renewal_method(const CertSummary& c) {
  if (c.renewal && !c.renewal->method.empty()) return c.renewal->method;
  if (c.renewal_due) return c.row.self_signed ? "self-signed" : "ca-request";
  return std::nullopt;
}

// Renewal state: when it is due, how it is renewed, how the last attempt went. Built member by
// member: `cert list` makes one per certificate, and an initializer list copies every value.
nlohmann::json renewal_json(const CertSummary& c) {
  nlohmann::json j(nlohmann::json::value_t::object);
  j["due"] = time_or_null(c.renewal_due);
  const auto method = renewal_method(c);
  j["method"] = method ? nlohmann::json(*method) : nlohmann::json(nullptr);
  j["last_attempt"] = time_or_null(c.renewal ? c.renewal->last_attempt : std::nullopt);
  j["last_success"] = time_or_null(c.renewal ? c.renewal->last_success : std::nullopt);
  j["last_error"] = c.renewal && c.renewal->failed() ? nlohmann::json(c.renewal->last_error) : nlohmann::json(nullptr);
  return j;
}

// The text writer of append_json: strings escaped as nlohmann's dump escapes them (ensure_ascii
// off), except that a byte that is not UTF-8 becomes U+FFFD where dump would throw.
class JsonText {
 public:
  JsonText(std::string& out, int indent) : out_(out), indent_(indent) {}

  void open(char bracket) {
    out_ += bracket;
    first_ = true;
    indent_ += 2;
  }
  void close(char bracket) {
    indent_ -= 2;
    if (!first_) newline();  // an empty [] or {} stays on its line
    out_ += bracket;
    first_ = false;
  }
  void key(std::string_view k) {
    item();
    string(k);
    out_ += ": ";
  }
  void item() {
    if (!first_) out_ += ',';
    newline();
    first_ = false;
  }
  void string(std::string_view s) {
    out_ += '"';
    std::size_t plain = 0;  // s[plain, i) is copied as it is
    for (std::size_t i = 0; i < s.size();) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
        ++i;
        continue;
      }
      if (c >= 0x80) {
        if (const std::size_t n = utf8_length(s.substr(i)); n != 0) {
          i += n;
          continue;
        }
      }
      out_.append(s.substr(plain, i - plain));
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\b': out_ += "\\b"; break;
        case '\f': out_ += "\\f"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default: out_ += c < 0x20 ? fmt::format("\\u{:04x}", c) : "\xef\xbf\xbd";  // a control character; not UTF-8
      }
      plain = ++i;
    }
    out_.append(s.substr(plain));
    out_ += '"';
  }
  void string_or_null(const std::optional<std::string>& s) {
    if (s)
      string(*s);
    else
      out_ += "null";
  }
  void boolean(bool b) { out_ += b ? "true" : "false"; }
  void strings(const std::vector<std::string>& v) {
    open('[');
    for (const auto& s : v) {
      item();
      string(s);
    }
    close(']');
  }

 private:
  void newline() {
    out_ += '\n';
    out_.append(static_cast<std::size_t>(indent_), ' ');
  }
  // The length of the UTF-8 sequence s starts with (shortest form, no surrogates), or 0.
  static std::size_t utf8_length(std::string_view s) {
    const auto b = [&](std::size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u; };
    const auto cont = [&](std::size_t i) { return (b(i) & 0xC0) == 0x80; };
    const unsigned c = b(0);
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
      const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
      return b(1) >= lo && b(1) <= hi && cont(2) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
      const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
      return b(1) >= lo && b(1) <= hi && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
  }

  std::string& out_;
  int indent_;
  bool first_ = true;
};

std::optional<std::string> time_text(const std::optional<UnixTime>& t) {
  return t ? std::optional<std::string>(format_rfc3339(*t)) : std::nullopt;
}

}  // namespace

void append_json(std::string& out, const CertSummary& c, int indent) {
  const CertRow& r = c.row;
  JsonText j(out, indent);
  // The members in nlohmann's (sorted) order.
  j.open('{');
  j.key("alt_names");
  j.strings(r.alt_names);
  j.key("default");
  j.boolean(c.is_default);
  j.key("factory_default");
  j.boolean(c.factory_default);
  j.key("fingerprint_sha256");
  j.string(r.fingerprint_sha256);
  j.key("friendly_name");
  j.string(r.friendly_name);
  j.key("ips");
  j.strings(c.ips);
  j.key("issued_by");
  j.string(r.issued_by);
  j.key("issued_to");
  j.string(r.issued_to);
  j.key("not_after");
  j.string(format_rfc3339(r.not_after));
  j.key("not_before");
  j.string(format_rfc3339(r.not_before));
  j.key("private_key");
  j.boolean(c.has_key);
  j.key("renewal");
  j.open('{');
  j.key("due");
  j.string_or_null(time_text(c.renewal_due));
  j.key("last_attempt");
  j.string_or_null(time_text(c.renewal ? c.renewal->last_attempt : std::nullopt));
  j.key("last_error");
  j.string_or_null(c.renewal && c.renewal->failed() ? std::optional<std::string>(c.renewal->last_error) : std::nullopt);
  j.key("last_success");
  j.string_or_null(time_text(c.renewal ? c.renewal->last_success : std::nullopt));
  j.key("method");
  j.string_or_null(renewal_method(c));
  j.close('}');
  j.key("role");
  j.string(role_name(r.role));
  j.key("source");
  j.string(r.source);
  j.key("warnings");
  j.open('[');
  for (const auto& w : c.warnings) {
    j.item();
    j.open('{');
    j.key("code");
    j.string(w.code);
    j.key("message");
    j.string(w.message);
    j.close('}');
  }
  j.close(']');
  j.close('}');
}

nlohmann::json to_json(const CertSummary& c) {
  const CertRow& r = c.row;
  return {
      {"friendly_name", r.friendly_name},
      {"fingerprint_sha256", r.fingerprint_sha256},
      {"issued_to", r.issued_to},
      {"issued_by", r.issued_by},
      {"not_before", format_rfc3339(r.not_before)},
      {"not_after", format_rfc3339(r.not_after)},
      {"alt_names", r.alt_names},
      {"private_key", c.has_key},
      {"default", c.is_default},
      {"factory_default", c.factory_default},
      {"role", role_name(r.role)},
      {"ips", c.ips},
      {"warnings", warnings_json(c.warnings)},
      {"source", r.source},
      {"renewal", renewal_json(c)},
  };
}

nlohmann::json to_json(const std::vector<CertSummary>& list) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& c : list) arr.push_back(to_json(c));
  return arr;
}

nlohmann::json to_json(const CertDetails& d) {
  nlohmann::json j = to_json(d.summary);
  j["subject"] = d.summary.row.subject;
  j["issuer"] = d.summary.row.issuer;
  j["serial"] = d.serial;
  j["signature_algorithm"] = d.signature_algorithm;
  j["public_key"] = {{"type", d.public_key.type}, {"bits", d.public_key.bits}};
  if (!d.public_key.curve.empty()) j["public_key"]["curve"] = d.public_key.curve;
  j["chain"] = {{"mode", d.chain.mode}, {"certificates", d.chain.certificates}, {"complete", d.chain.complete}};
  return j;
}

nlohmann::json to_json(const RequestRow& r) {
  return {{"id", r.id},
          {"friendly_name", r.friendly_name},
          {"subject", r.subject},
          {"alt_names", r.alt_names},
          {"fingerprint_sha256", r.fingerprint_sha256},
          {"created", format_rfc3339(r.created)},
          {"key", r.key_spec}};
}

std::string cert_table(const std::vector<CertSummary>& list) {
  Table t({"NAME", "ISSUED TO", "ISSUED BY", "EXPIRES", "ROLE", "KEY", "DEFAULT", "IPS", "RENEW", "WARNINGS"});
  for (const auto& c : list)
    t.add({c.row.friendly_name, c.row.issued_to, c.row.issued_by, date_of(c.row.not_after),
           std::string(role_name(c.row.role)), c.has_key ? "yes" : "no", c.is_default ? "*" : "",
           joined(c.ips), c.renewal_due ? date_of(*c.renewal_due) : "-", warning_codes(c.warnings)});
  return t.str();
}

std::string cert_block(const CertSummary& c) {
  const CertRow& r = c.row;
  Block b;
  b.add("friendly name", r.friendly_name)
      .add("fingerprint", r.fingerprint_sha256)
      .add("issued to", r.issued_to)
      .add("issued by", r.issued_by)
      .add("valid", fmt::format("{} to {}", format_rfc3339(r.not_before), format_rfc3339(r.not_after)))
      .add("alt names", joined(r.alt_names))
      .add("role", std::string(role_name(r.role)))
      .add("private key", c.has_key ? "available" : "not available")
      .add("default", c.is_default ? "yes" : "no")
      .add("ips", joined(c.ips));
  if (c.renewal_due) b.add("renewal due", format_rfc3339(*c.renewal_due));
  if (c.renewal && c.renewal->last_attempt)
    b.add("last renewal", fmt::format("{} ({})", format_rfc3339(*c.renewal->last_attempt),
                                      c.renewal->failed() ? "failed: " + c.renewal->last_error : "ok"));
  for (const auto& w : c.warnings) b.add("warning", fmt::format("{}: {}", w.code, w.message));
  return b.str();
}

std::string cert_details_block(const CertDetails& d) {
  Block b;
  b.add("subject", d.summary.row.subject)
      .add("issuer", d.summary.row.issuer)
      .add("serial", d.serial)
      .add("signature", d.signature_algorithm)
      .add("public key", d.public_key.curve.empty() ? fmt::format("{} {} bits", d.public_key.type, d.public_key.bits)
                                                   : fmt::format("{} {} ({} bits)", d.public_key.type,
                                                                 d.public_key.curve, d.public_key.bits))
      .add("chain", fmt::format("{} ({}, {} certificate{})", d.chain.complete ? "complete" : "incomplete",
                                d.chain.mode, d.chain.certificates.size(), d.chain.certificates.size() == 1 ? "" : "s"));
  return cert_block(d.summary) + b.str();
}

std::string request_block(const RequestRow& r) {
  return Block()
      .add("id", std::to_string(r.id))
      .add("friendly name", r.friendly_name)
      .add("subject", r.subject)
      .add("alt names", joined(r.alt_names))
      .add("key", r.key_spec)
      .add("fingerprint", r.fingerprint_sha256)
      .add("created", format_rfc3339(r.created))
      .str();
}

}  // namespace applctl::cli
