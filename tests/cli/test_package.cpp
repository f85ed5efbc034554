// The Debian package: scripts/package and packaging/CMakeLists.txt. The .deb is made from this
// build directory (scripts/package --build-dir: seconds, no second build), then listed, unpacked,
// run, completed from and checked by lintian. Release builds only: a sanitized binary is never
// packaged (tests/CMakeLists.txt).
#include <algorithm>
#include <regex>

#include "harness.hpp"
#include "shell_completion.hpp"

namespace {
using clitest::chomp;
using clitest::Result;
using clitest::run_process;
namespace fs = std::filesystem;

struct Package {
  clitest::TempDir dir;
  fs::path deb;
  fs::path root = dir / "root";  // the package unpacked (dpkg-deb -x)
  std::vector<std::string> paths;  // dpkg-deb -c, without the leading "."
  std::map<std::string, std::string> modes;

  Package() {
    Result r = run_process({fs::path(APPLCTL_SOURCE_DIR) / "scripts/package", "--build-dir", APPLCTL_BUILD_DIR,
                            (dir / "out").string()});
    INFO("scripts/package: " << r.out << r.err);
    REQUIRE(r.code == 0);
    deb = chomp(r.out);
    REQUIRE(fs::is_regular_file(deb));
    Result list = run_process({"dpkg-deb", "-c", deb.string()});
    REQUIRE(list.code == 0);
    std::istringstream in(list.out);
    for (std::string line; std::getline(in, line);) {  // "-rw-r--r-- root/root 375 2026-12-01 12:08 ./usr/..."
      std::string mode = line.substr(0, 10);
      std::string path = line.substr(line.find(" ./") + 2);
      paths.push_back(path);
      modes[path] = mode;
    }
    REQUIRE(run_process({"dpkg-deb", "-x", deb.string(), root.string()}).code == 0);
  }
  bool has(const std::string& path) const { return std::count(paths.begin(), paths.end(), path) == 1; }
  std::string field(const std::string& name) const { return chomp(run_process({"dpkg-deb", "-f", deb.string(), name}).out); }
};

const Package& package() {
  static const Package p;
  return p;
}

std::string version() {
  Result r = run_process({APPLCTL_BIN, "--version"});
  return chomp(r.out).substr(std::string("applctl ").size());
}

}  // namespace

TEST_CASE("the Debian package", "[cli][package][long]") {
  const Package& p = package();

  SECTION("is applctl_<version>_<arch>.deb from the project version") {
    std::string arch = chomp(run_process({"dpkg", "--print-architecture"}).out);
    CHECK(p.deb.filename() == "applctl_" + version() + "_" + arch + ".deb");
    CHECK(p.field("Package") == "applctl");
    CHECK(p.field("Version") == version());
    CHECK(p.field("Architecture") == arch);
    CHECK_FALSE(p.field("Maintainer").empty());
    CHECK(std::regex_match(p.field("Section"), std::regex("admin|utils")));
  }

  SECTION("holds the binary, the man pages, the completions, the examples and the copyright") {
    CHECK(p.has("/usr/bin/applctl"));
    CHECK(p.modes.at("/usr/bin/applctl") == "-rwxr-xr-x");
    CHECK(p.has("/usr/libexec/applctl/applctl-acme"));
    CHECK(p.modes.at("/usr/libexec/applctl/applctl-acme") == "-rwxr-xr-x");
    for (const auto& page : fs::directory_iterator(fs::path(APPLCTL_SOURCE_DIR) / "man")) {
      const std::string name = page.path().filename().string();
      INFO("man page " << name);
      CHECK(p.has("/usr/share/man/man" + name.substr(name.rfind('.') + 1) + "/" + name + ".gz"));
    }
    CHECK(p.has("/usr/share/bash-completion/completions/applctl"));
    CHECK(p.has("/usr/share/zsh/vendor-completions/_applctl"));
    for (const auto& example : fs::directory_iterator(fs::path(APPLCTL_SOURCE_DIR) / "examples")) {
      INFO("example " << example.path().filename());
      const std::string path = "/usr/share/doc/applctl/examples/" + example.path().filename().string();
      CHECK((p.has(path) || p.has(path + "/")));  // dpkg-deb -c lists directories with a slash
    }
    CHECK(p.has("/usr/share/doc/applctl/copyright"));
    CHECK(p.has("/usr/share/doc/applctl/changelog.gz"));
    for (const auto& path : p.paths) {
      INFO(path);
      CHECK(path.rfind("/usr/", 0) == 0);
      CHECK(p.modes.at(path)[8] != 'w');  // nothing world-writable
    }
  }

  SECTION("the copyright file is LICENSE in Debian's format") {
    const std::string copyright = clitest::slurp(p.root / "usr/share/doc/applctl/copyright");
    CHECK(copyright.rfind("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n", 0) == 0);
    CHECK(copyright.find("\nLicense: Expat\n") != std::string::npos);
    CHECK(copyright.find("\n Permission is hereby granted, free of charge,") != std::string::npos);
    CHECK(copyright.find("\n .\n THE SOFTWARE IS PROVIDED \"AS IS\"") != std::string::npos);
  }

  SECTION("the packaged binary is stripped and runs from the package alone") {
    const std::string bin = (p.root / "usr/bin/applctl").string();
    Result file = run_process({"file", "-b", bin});
    CHECK(file.out.find(", stripped") != std::string::npos);
    Result v = run_process({"env", "-u", "LD_LIBRARY_PATH", bin, "--version"});
    CHECK(v.code == 0);
    CHECK(chomp(v.out) == "applctl " + version());
    clitest::TempDir store;
    Result list = run_process({"env", "-u", "LD_LIBRARY_PATH", bin, "--store", (store / "s").string(), "cert", "list"});
    INFO(list.err);
    CHECK(list.code == 0);
  }

  SECTION("Depends comes from the shared libraries: OpenSSL and libc, not the static ones") {
    const std::string depends = p.field("Depends");
    INFO("Depends: " << depends);
    CHECK(std::regex_search(depends, std::regex(R"((^|, )libssl3( \(|,|$))")));
    CHECK(std::regex_search(depends, std::regex(R"((^|, )libc6( \(|,|$))")));
    CHECK(depends.find("libstdc++") == std::string::npos);  // linked statically
    CHECK(depends.find("libsqlite3") == std::string::npos);
    CHECK(std::regex_search(depends, std::regex(R"((^|, )libcurl4( \(|,|$))")));  // applctl-acme's
  }

  SECTION("libcurl is applctl-acme's alone: applctl's start-up does not load it") {
    auto needed = [&](const std::string& rel) {
      Result r = run_process({"readelf", "-d", (p.root / rel).string()});
      REQUIRE(r.code == 0);
      return r.out;
    };
    const std::string lean = needed("usr/bin/applctl");
    const std::string full = needed("usr/libexec/applctl/applctl-acme");
    CHECK(lean.find("libssl.so") != std::string::npos);
    CHECK(lean.find("libcurl") == std::string::npos);
    CHECK(full.find("libcurl") != std::string::npos);
    Result v = run_process({"env", "-u", "LD_LIBRARY_PATH", (p.root / "usr/libexec/applctl/applctl-acme").string(), "--version"});
    CHECK(v.code == 0);
    CHECK(chomp(v.out) == "applctl " + version());
  }

  SECTION("the completion scripts are the binary's and complete groups, verbs and flags") {
    const fs::path bash = p.root / "usr/share/bash-completion/completions/applctl";
    CHECK(clitest::slurp(bash) == run_process({APPLCTL_BIN, "completion", "bash"}).out);
    CHECK(clitest::bash_complete(bash, "applctl ce") == std::vector<std::string>{"cert"});
    CHECK(clitest::bash_complete(bash, "applctl cert ex") == std::vector<std::string>{"export"});
    CHECK(clitest::bash_complete(bash, "applctl cert export --fo") == std::vector<std::string>{"--force", "--format"});
    const fs::path zsh = p.root / "usr/share/zsh/vendor-completions/_applctl";
    CHECK(clitest::slurp(zsh) == run_process({APPLCTL_BIN, "completion", "zsh"}).out);
    if (run_process({"sh", "-c", "command -v zsh"}).code == 0) {
      Result syntax = run_process({"zsh", "-n", zsh.string()});
      INFO(syntax.err);
      CHECK(syntax.code == 0);
    }
  }

  SECTION("lintian reports no error and no warning") {
    Result r = run_process({"lintian", "--fail-on", "none", p.deb.string()});
    INFO("lintian:\n" << r.out << r.err);
    CHECK(r.code == 0);
    CHECK_FALSE(std::regex_search(r.out, std::regex("(^|\n)[EW]: ")));
  }
}
