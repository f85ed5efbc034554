// Small X.509 readers shared by inspection, lint and path validation (internal).
#pragma once

#include <string>
#include <vector>

#include "base/ossl.hpp"
#include "applctl/base/timeutil.hpp"

namespace applctl::x509util {

// The text readers below return printable() text: control characters and bytes that are not
// UTF-8 as \xNN, so what they return is valid UTF-8 that is safe on a terminal and in JSON.
std::string rfc4514(const X509_NAME* name);                   // UTF-8, RFC 4514 order and escaping
std::string common_name(const X509_NAME* name);               // "" when none
UnixTime to_unix(const ASN1_TIME* t);                          // throws BadInput when unreadable
std::vector<std::string> alt_names(const GENERAL_NAMES* gens); // "DNS:..", "IP:..", "email:..", "URI:.."
std::string ip_text(const ASN1_OCTET_STRING* ip);              // inet_ntop of 4 or 16 bytes
GENERAL_NAMES* make_general_names(const std::vector<std::string>& sans);  // from "DNS:x"/"IP:y", owned

}  // namespace applctl::x509util
