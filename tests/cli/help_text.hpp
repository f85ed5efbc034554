// Reading CLI11's --help text: its sections, their first columns, the flags a verb lists.
// test_help.cpp checks the help against the man pages; test_completion.cpp against the completions.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"

namespace clitest {

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

inline std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// The indented lines under a "TITLE:" heading of CLI11's help (title case-insensitive: CLI11 2.1
// prints "Subcommands:", later versions "SUBCOMMANDS:"), up to the next unindented line.
inline std::vector<std::string> help_section(const std::string& help, const std::string& title) {
  std::vector<std::string> out;
  bool inside = false;
  for (const auto& line : lines_of(help)) {
    if (!inside) {
      inside = lower(trim(line)) == lower(title) + ":" && !line.empty() && line[0] != ' ';
      continue;
    }
    if (!line.empty() && line[0] != ' ') break;
    if (!trim(line).empty()) out.push_back(line);
  }
  return out;
}

// First-column names of a section: "  name   summary" (a line indented deeper continues the one
// before it, when CLI11 wraps a long option).
inline std::vector<std::string> first_column(const std::vector<std::string>& section) {
  std::vector<std::string> out;
  for (const auto& line : section)
    if (line.size() > 2 && line.compare(0, 2, "  ") == 0 && line[2] != ' ')
      out.push_back(line.substr(2, line.find(' ', 2) - 2));
  return out;
}

// The long flags (and short-only flags) a verb's help lists, without --help.
inline std::vector<std::string> help_flags(const std::string& help) {
  std::vector<std::string> out;
  for (const auto& line : lines_of(help.substr(0, help.find("\nEXAMPLES:")))) {
    if (line.size() < 3 || line.compare(0, 2, "  ") != 0 || line[2] != '-') continue;
    std::string names = line.substr(2, line.find(' ', 2) - 2);  // "-o,--out" or "--format"
    std::string chosen;
    std::istringstream parts(names);
    for (std::string n; std::getline(parts, n, ',');)
      if (chosen.empty() || n.rfind("--", 0) == 0) chosen = n;
    if (chosen != "--help" && chosen != "-h") out.push_back(chosen);
  }
  return out;
}

}  // namespace clitest
