// The appliance as a whole: init and the factory certificate, hostnames, and the rules for
// putting a certificate in or out of service (see applctl/services/appliance.hpp).
#include "applctl/services/appliance.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "applctl/services/chains.hpp"
#include "applctl/base/error.hpp"
#include "applctl/kmip/config.hpp"
#include "applctl/x509/names.hpp"

namespace applctl {

namespace {

// The machine's host name when it is a usable DNS name, else "localhost".
std::string machine_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  try {
    San san = parse_san(buf);
    if (san.type == SanType::DNS) return san.value;
  } catch (const Error&) {
  }
  return "localhost";
}

}  // namespace

std::vector<std::string> checked_hostnames(const std::vector<std::string>& given) {
  std::vector<std::string> out;
  for (const auto& h : given) {
    San san = parse_san(h);
    if (san.type != SanType::DNS || san.value.starts_with("*."))
      fail(ErrorKind::BadInput, fmt::format("invalid hostname '{}': expected a DNS name", h),
           "an appliance hostname is a fully qualified DNS name, e.g. support.example.com");
    if (std::find(out.begin(), out.end(), san.value) == out.end()) out.push_back(san.value);
  }
  return out;
}

bool fingerprint_like(std::string_view name) {
  std::size_t digits = 0;
  for (unsigned char c : name) {
    if (std::isxdigit(c)) ++digits;
    else if (c != ':') return false;
  }
  return digits >= 8;
}

const std::string& checked_friendly_name(const std::string& name) {
  auto bad = [&](std::string_view why, std::string_view hint = "use 1 to 128 printable characters, e.g. --name www-2027") {
    fail(ErrorKind::BadInput, fmt::format("invalid friendly name '{}': {}", printable(name), why), std::string(hint));
  };
  if (name.empty()) bad("empty");
  if (name.size() > 128) bad("longer than 128 characters");
  if (name.front() == ' ' || name.back() == ' ') bad("leading or trailing space");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) bad("control character");
  if (!is_printable(name)) bad("not valid UTF-8, or a control character");
  if (fingerprint_like(name))
    bad("it looks like a fingerprint prefix (8 or more hex digits) and would hide that certificate",
        "add a letter that is not a hex digit, e.g. --name web-0a1b2c3d");
  return name;
}

DerivedName derived_friendly_name(std::string_view text) {
  DerivedName d;
  d.name = printable(text);
  if (d.name != text)
    d.changes.push_back("control characters and bytes that are not UTF-8 are written \\xNN");
  else if (d.name.find("\\x") != std::string::npos)
    d.changes.push_back("control characters or bytes that are not UTF-8 in the certificate's name are written \\xNN");
  const std::size_t first = d.name.find_first_not_of(' ');
  const std::size_t last = d.name.find_last_not_of(' ');
  std::string trimmed = first == std::string::npos ? std::string() : d.name.substr(first, last - first + 1);
  if (trimmed != d.name) {
    d.changes.push_back("leading or trailing spaces removed");
    d.name = std::move(trimmed);
  }
  constexpr std::size_t kMax = 100;  // room for a "-" and 8 fingerprint digits within 128
  if (d.name.size() > kMax) {
    std::size_t cut = kMax;
    // At a character boundary (never inside a UTF-8 sequence), and never inside a \xNN escape.
    while (cut > 0 && (static_cast<unsigned char>(d.name[cut]) & 0xC0) == 0x80) --cut;
    for (std::size_t back = 1; back <= 3 && back <= cut; ++back)
      if (d.name.compare(cut - back, 2, "\\x") == 0) {
        cut -= back;
        break;
      }
    d.name.resize(cut);
    while (!d.name.empty() && d.name.back() == ' ') d.name.pop_back();
    d.changes.push_back(fmt::format("shortened to {} bytes", d.name.size()));
  }
  if (d.name.empty()) {
    d.name = "certificate";
    d.changes.push_back("nothing usable was left: named 'certificate'");
  }
  if (fingerprint_like(d.name)) {
    d.name += "-cert";
    d.changes.push_back("'-cert' added: it looked like a fingerprint prefix");
  }
  return d;
}

void require_servable(const CertRow& row) {
  if (!row.key_id)
    fail(ErrorKind::Refused, fmt::format("'{}' has no private key: it cannot be served", row.friendly_name),
         "import its private key first (applctl cert import KEY.pem), or choose a certificate that has one");
  if (row.role != Role::Leaf)
    fail(ErrorKind::Refused, fmt::format("'{}' is a CA certificate ({}), not a server certificate", row.friendly_name,
                                         role_name(row.role)));
}

FactoryCertificate make_factory_certificate(const std::vector<std::string>& hostnames) {
  FactoryCertificate f{PrivateKey::generate(KeySpec::parse("ec:P-256")), {}, {}};
  Subject subject;
  subject.cn = hostnames.front();
  std::vector<San> sans;
  for (const auto& h : hostnames) sans.push_back({SanType::DNS, h});
  f.der = make_self_signed(f.key, {subject, sans, 3650, 0});
  f.info = inspect_certificate(f.der);
  return f;
}

std::int64_t install_factory_certificate(Store& store, const FactoryCertificate& factory) {
  std::int64_t key_id = store.insert_key(factory.key);
  std::int64_t id = store.insert_cert(factory.info, factory.der, kFactoryName, key_id, "factory");
  set_factory_cert_id(store, id);
  set_default_cert_id(store, id);
  return id;
}

std::vector<std::string> initial_hostnames(const Store& store) {
  std::vector<std::string> current = appliance_hostnames(store);
  return current.empty() ? checked_hostnames({machine_hostname()}) : current;
}

void replace_certificate(Store& store, const CertRow& old, std::int64_t new_id) {
  store.move_ips(old.id, new_id);
  if (default_cert_id(store) == old.id) set_default_cert_id(store, new_id);
  if (factory_cert_id(store) == old.id) set_factory_cert_id(store, new_id);
  store.move_renewal_state(old.id, new_id);
  store.remove_cert(old.id);
  if (old.key_id) store.remove_key_if_unused(*old.key_id);
}

std::vector<std::string> drop_certificate(Store& store, const CertRow& row) {
  auto factory = factory_cert_id(store);
  std::vector<std::string> moved;
  for (const auto& ip : store.list_ips())
    if (ip.cert_id == row.id) moved.push_back(ip.address);
  store.move_ips(row.id, factory);
  if (default_cert_id(store) == row.id && factory) set_default_cert_id(store, *factory);
  store.remove_cert(row.id);
  if (row.key_id) store.remove_key_if_unused(*row.key_id);
  return moved;
}

InitResult init_appliance(Store& store, const InitRequest& request) {
  std::vector<std::string> wanted = checked_hostnames(request.hostnames);
  auto tx = store.write("init");
  InitResult result;
  std::vector<std::string> current = appliance_hostnames(store);
  const bool has_factory = factory_cert_id(store).has_value();
  if (wanted.empty()) wanted = has_factory ? current : initial_hostnames(store);
  if (wanted != current) {
    set_appliance_hostnames(store, wanted);
    result.hostnames_changed = true;
    tx.touch("hostnames:" + fmt::format("{}", fmt::join(wanted, ",")));
  }
  if (!has_factory) {
    install_factory_certificate(store, make_factory_certificate(wanted));
    tx.touch("cert:" + std::string(kFactoryName));
    result.created = true;
  } else if (result.hostnames_changed) {
    // The factory certificate is for the appliance's hostnames: new ones get a new certificate.
    auto old = store.cert_by_id(*factory_cert_id(store));
    std::vector<std::string> sans;
    for (const auto& h : wanted) sans.push_back("DNS:" + h);
    if (old && old->source == "factory" && old->alt_names != sans) {
      FactoryCertificate f = make_factory_certificate(wanted);
      store.replace_cert_in_place(old->id, f.info, f.der, store.insert_key(f.key));
      if (old->key_id) store.remove_key_if_unused(*old->key_id);
      tx.touch("cert:" + old->friendly_name);
      result.factory_reissued = true;
    }
  }
  if (result.created || result.hostnames_changed) tx.commit();
  result.hostnames = wanted;
  auto factory = store.cert_by_id(*factory_cert_id(store));
  result.factory = summarize(store, std::move(*factory));
  return result;
}

void ensure_initialized(Store& store) {
  if (!factory_cert_id(store)) init_appliance(store, {});
}

}  // namespace applctl
