// Test vectors as the KMIP specification prints them: "42 00 20 | 02 | ...", hex digits with
// anything else ignored.
#pragma once

#include <cctype>
#include <string>

#include <catch2/catch.hpp>

#include "applctl/base/bytes.hpp"

namespace unit_hex {

inline applctl::Bytes from_hex(const std::string& text) {
  applctl::Bytes out;
  int nibble = -1;
  for (char c : text) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) continue;
    int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
    if (nibble < 0) {
      nibble = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(nibble * 16 + v));
      nibble = -1;
    }
  }
  REQUIRE(nibble < 0);
  return out;
}

}  // namespace unit_hex
