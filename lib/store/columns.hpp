// Encodings of store columns that hold lists, shared by the store's rows and its migrations
// (internal).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "applctl/x509/certificate.hpp"

namespace applctl {

namespace sql {
class Db;
}

// The warnings column: one "code\tmessage" line per warning. Messages are made of printable()
// certificate text (lib/x509), so they hold no newline or tab of their own.
std::string encode_warnings(const std::vector<Warning>& ws);
std::vector<Warning> decode_warnings(std::string_view text);

// Migration 4: every certificate's and request's text columns (issued_to, issued_by, subject,
// issuer, alt_names as a JSON array, warnings; a request's subject and alt_names) derived again
// from its DER, so text stored raw by an older applctl (control characters, SANs joined by
// newlines) becomes what this one stores. A DER that no longer parses keeps its text columns,
// printable() and its newline-joined SANs turned into an array. A friendly name that is not
// printable() text becomes printable() of it ("-ID" added when that name is taken).
void rederive_text_columns(sql::Db& db);

}  // namespace applctl
