// ISO 3166-1 alpha-2: the officially assigned codes (249 of them, ISO 3166 Maintenance Agency).
//
// Only "officially assigned" codes are valid. Deliberately NOT in the list:
// - user-assigned codes (AA, QM..QZ, XA..XZ, ZZ): free for private use, so no country; this
//   includes XK, which some bodies use for Kosovo but ISO has not assigned;
// - exceptionally reserved codes (UK, EU, EZ, UN, AC, CP, DG, EA, FX, IC, SU, TA): reserved for
//   other uses and not country codes, so a certificate saying C=UK is wrong (it is C=GB);
// - transitionally reserved and formerly used codes (AN, BU, CS, NT, TP, YU, ZR, ...).
// Update when the Maintenance Agency assigns or withdraws a code; the unit tests count
// the valid pairs among AA..ZZ.
#include <algorithm>
#include <array>
#include <string_view>

#include "applctl/x509/names.hpp"

namespace applctl {
namespace {

// One row per first letter.
// clang-format off
constexpr std::array<std::string_view, 249> kAlpha2 = {
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN",
    "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ",
    "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO",
    "CR", "CU", "CV", "CW", "CX", "CY", "CZ",
    "DE", "DJ", "DK", "DM", "DO", "DZ",
    "EC", "EE", "EG", "EH", "ER", "ES", "ET",
    "FI", "FJ", "FK", "FM", "FO", "FR",
    "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP",
    "GQ", "GR", "GS", "GT", "GU", "GW", "GY",
    "HK", "HM", "HN", "HR", "HT", "HU",
    "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT",
    "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ",
    "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY",
    "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO",
    "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ",
    "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM",
    "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY",
    "QA",
    "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM",
    "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ",
    "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ",
    "UA", "UG", "UM", "US", "UY", "UZ",
    "VA", "VC", "VE", "VG", "VI", "VN", "VU",
    "WF", "WS",
    "YE", "YT",
    "ZA", "ZM", "ZW",
};
// clang-format on

static_assert(std::is_sorted(kAlpha2.begin(), kAlpha2.end()),
              "kAlpha2 must stay sorted for binary search");
static_assert(std::adjacent_find(kAlpha2.begin(), kAlpha2.end()) == kAlpha2.end(),
              "kAlpha2 has a duplicate");

}  // namespace

bool is_iso3166_alpha2(std::string_view code) {
  // Upper case only: callers that accept "us" upper-case it first (validated()).
  if (code.size() != 2) return false;
  return std::binary_search(kAlpha2.begin(), kAlpha2.end(), code);
}

}  // namespace applctl
