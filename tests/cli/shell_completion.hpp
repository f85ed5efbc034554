// Completing a command line with applctl's bash or zsh completion script, as the shell does on
// TAB with the cursor at the end of the line (test_completion.cpp, test_package.cpp).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "harness.hpp"

namespace clitest {

// The words of the completion, sorted.
inline std::vector<std::string> sorted_words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  std::sort(out.begin(), out.end());
  return out;
}

// bash: the function that `complete -p applctl` names, called with COMP_WORDS, COMP_CWORD,
// COMP_LINE and COMP_POINT as bash sets them; its COMPREPLY.
inline std::vector<std::string> bash_complete(const fs::path& script, const std::string& line) {
  static const char* const program = R"sh(
source "$1" || exit 3
read -ra COMP_WORDS <<< "$2"
[[ $2 == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) COMP_LINE=$2 COMP_POINT=${#2}
spec=$(complete -p applctl) || exit 4
fn=${spec##*-F } fn=${fn%% *}
"$fn" || exit 5
printf '%s\n' "${COMPREPLY[@]}"
)sh";
  Result r = run_process({"bash", "-c", program, "bash", script.string(), line});
  INFO("bash completion of '" << line << "': exit " << r.code << "\n" << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  return sorted_words(r.out);
}

// zsh: _applctl with `words` and CURRENT as the completion system sets them, and _describe,
// compadd and _files replaced by functions that print what they would offer ("<files>" for file
// names); the words that start with the one being completed.
inline std::vector<std::string> zsh_complete(const fs::path& script, const std::string& line) {
  static const char* const program = R"sh(
compdef() { :; }
_describe() { local -a items=(${(P)${@[-1]}}); print -rl -- ${items%%:*}; }
compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }
_files() { print -r -- '<files>'; }
source $1 || exit 3
words=(${(z)2}); [[ $2 == *' ' ]] && words+=('')
CURRENT=$#words PREFIX=${words[-1]}
_applctl
)sh";
  Result r = run_process({"zsh", "-fc", program, "zsh", script.string(), line});
  INFO("zsh completion of '" << line << "': exit " << r.code << "\n" << r.err);
  CHECK(r.err.empty());
  const std::string current = line.substr(line.rfind(' ') + 1);
  std::vector<std::string> out;
  for (const auto& w : sorted_words(r.out))
    if (w.rfind(current, 0) == 0 || w == "<files>") out.push_back(w);
  return out;
}

}  // namespace clitest
