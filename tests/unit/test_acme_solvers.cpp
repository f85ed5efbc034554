// The challenge solvers of acme issue without a server: --webroot files (0644, removed after,
// also on failure; no token may leave the directory), the --dns-hook's environment, its
// failures and its cleanup, the dns-01 record value, and the identifiers an order is for.
#include <sys/stat.h>

#include "applctl/acme/order.hpp"
#include "unit_pki.hpp"

namespace {
using namespace applctl;
using unit_pki::error_of;
using unit_pki::kind_of;
using unit_pki::TempDir;
namespace fs = std::filesystem;

acme::Authorization authz(const std::string& domain) {
  acme::Authorization a;
  a.identifier = {"dns", domain};
  a.status = "pending";
  return a;
}
acme::Challenge challenge(const std::string& type, const std::string& token) { return {type, "https://acme/chall", token, "pending", {}}; }
}  // namespace

TEST_CASE("acme: the dns-01 record value is base64url SHA-256 of the key authorization", "[acme]") {
  // printf %s KA | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d =
  CHECK(acme::dns01_value("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.abc") == "olInU7LHGGru8R_u93zZ-s0RFtT8Boj7mSk-NFEixTo");
}

TEST_CASE("acme: --webroot writes the key authorization as a 0644 file and removes it", "[acme]") {
  TempDir dir;
  acme::ChallengeSettings s;
  s.webroot = dir.path().string();
  CHECK(s.type() == "http-01");
  CHECK(s.origin() == nlohmann::json({{"type", "http-01"}, {"webroot", dir.path().lexically_normal().string()}}));
  auto solver = acme::make_solver(s);
  CHECK(solver->type() == "http-01");
  ::umask(077);
  solver->present(authz("test.example"), challenge("http-01", "tok-1_A"), "tok-1_A.thumb");
  const fs::path file = dir.path() / ".well-known/acme-challenge/tok-1_A";
  CHECK(unit_pki::read_text(file.string()) == "tok-1_A.thumb");
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  REQUIRE(::stat(file.parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0755);
  ::umask(022);
  // A token that would leave the directory is the server's fault.
  CHECK(kind_of([&] { solver->present(authz("test.example"), challenge("http-01", "../x"), "k"); }) == ErrorKind::Remote);
  solver->cleanup();
  CHECK_FALSE(fs::exists(file));
  CHECK_FALSE(fs::exists(dir.path() / ".well-known"));  // made here, so removed

  // A .well-known of the web server's own stays, with its other files.
  fs::create_directories(dir.path() / ".well-known/acme-challenge");
  unit_pki::write_text((dir.path() / ".well-known/security.txt").string(), "x");
  {
    auto again = acme::make_solver(s);
    again->present(authz("test.example"), challenge("http-01", "tok2"), "tok2.t");
    CHECK(fs::exists(dir.path() / ".well-known/acme-challenge/tok2"));
  }  // the destructor cleans up too
  CHECK_FALSE(fs::exists(dir.path() / ".well-known/acme-challenge/tok2"));
  CHECK(fs::exists(dir.path() / ".well-known/acme-challenge"));
  CHECK(fs::exists(dir.path() / ".well-known/security.txt"));

  s.webroot = (dir.path() / "missing").string();
  CHECK(kind_of([&] { acme::make_solver(s); }) == ErrorKind::BadInput);
}

TEST_CASE("acme: --dns-hook gets the record in its environment and always cleans up", "[acme]") {
  TempDir dir;
  const std::string log = dir / "hook.log";
  acme::ChallengeSettings s;
  s.dns_hook = "echo \"$APPLCTL_ACME_ACTION $APPLCTL_ACME_DOMAIN $APPLCTL_ACME_RECORD_NAME $APPLCTL_ACME_RECORD_VALUE\" >> " + log;
  CHECK(s.type() == "dns-01");
  CHECK(s.origin() == nlohmann::json({{"type", "dns-01"}, {"dns_hook", s.dns_hook}}));
  auto solver = acme::make_solver(s);
  CHECK(solver->type() == "dns-01");
  const std::string ka = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.abc";
  solver->present(authz("test.example"), challenge("dns-01", "t"), ka);
  CHECK(unit_pki::read_text(log) ==
        "present test.example _acme-challenge.test.example. olInU7LHGGru8R_u93zZ-s0RFtT8Boj7mSk-NFEixTo\n");
  solver->cleanup();
  CHECK(unit_pki::read_text(log) ==
        "present test.example _acme-challenge.test.example. olInU7LHGGru8R_u93zZ-s0RFtT8Boj7mSk-NFEixTo\n"
        "cleanup test.example _acme-challenge.test.example. olInU7LHGGru8R_u93zZ-s0RFtT8Boj7mSk-NFEixTo\n");
  solver->cleanup();  // once only
  const std::string text = unit_pki::read_text(log);
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);

  SECTION("a failing hook: an error naming the hook and its exit status; cleanup still runs") {
    acme::ChallengeSettings f;
    f.dns_hook = "echo \"$APPLCTL_ACME_ACTION\" >> " + log + "; test \"$APPLCTL_ACME_ACTION\" = cleanup || exit 3";
    auto bad = acme::make_solver(f);
    Error e = error_of([&] { bad->present(authz("a.example"), challenge("dns-01", "t"), ka); });
    CHECK(e.kind() == ErrorKind::Failed);
    CHECK(std::string(e.what()).find(f.dns_hook) != std::string::npos);
    CHECK(std::string(e.what()).find("exit status 3") != std::string::npos);
    bad.reset();  // the destructor runs the cleanup
    CHECK(unit_pki::read_text(log).find("present\ncleanup\n") != std::string::npos);
  }
}

TEST_CASE("acme: identifiers of an order: DNS and IP and wildcards only with dns-01", "[acme]") {
  acme::ChallengeSettings http;
  auto ids = acme::parse_identifiers({"test.example", "127.0.0.1", "dns:test.example", "ip:127.0.0.1", "b.example"}, http);
  std::vector<std::string> texts;
  for (const auto& id : ids) texts.push_back(acme::identifier_text(id));
  CHECK(texts == std::vector<std::string>{"dns:test.example", "ip:127.0.0.1", "dns:b.example"});
  CHECK(kind_of([&] { acme::parse_identifiers({"*.test.example"}, http); }) == ErrorKind::BadInput);
  CHECK(kind_of([&] { acme::parse_identifiers({"not a name"}, http); }) == ErrorKind::BadInput);
  CHECK(kind_of([&] { acme::parse_identifiers({}, http); }) == ErrorKind::Usage);
  acme::ChallengeSettings dns;
  dns.dns_hook = "true";
  CHECK(acme::identifier_text(acme::parse_identifiers({"*.test.example"}, dns).at(0)) == "dns:*.test.example");
  CHECK(kind_of([&] { acme::parse_identifiers({"127.0.0.1"}, dns); }) == ErrorKind::BadInput);
  CHECK(http.origin() == nlohmann::json({{"type", "http-01"}, {"http_port", 80}}));
}

TEST_CASE("acme: challenge settings come back from their origin", "[acme]") {
  acme::ChallengeSettings port;
  port.http_port = 8080;
  acme::ChallengeSettings web;
  web.webroot = "/var/www/html";
  acme::ChallengeSettings dns;
  dns.dns_hook = "/usr/local/bin/hook --zone example.com";
  for (const auto& s : {port, web, dns}) {
    acme::ChallengeSettings back = acme::ChallengeSettings::from_origin(s.origin());
    CHECK(back.origin() == s.origin());
    CHECK(back.type() == s.type());
  }
  for (const char* bad : {R"({"type":"tls-alpn-01"})", R"({"type":"http-01"})", R"({"type":"http-01","http_port":0})",
                          R"({"type":"dns-01"})", R"({"type":"dns-01","dns_hook":""})", R"([])", R"({"http_port":80})"})
    CHECK(kind_of([&] { acme::ChallengeSettings::from_origin(nlohmann::json::parse(bad)); }) == ErrorKind::BadInput);
}

TEST_CASE("acme: a --dns-hook still running at the deadline is stopped and fails the order", "[acme]") {
  TempDir dir;
  const std::string log = dir / "hook.log";
  acme::ChallengeSettings s;
  // present hangs (with a child of its own, which must go too); cleanup is quick.
  s.dns_hook = "echo \"$APPLCTL_ACME_ACTION\" >> " + log + "; [ \"$APPLCTL_ACME_ACTION\" = cleanup ] || { sleep 60 & wait; }";
  const auto t0 = std::chrono::steady_clock::now();
  auto solver = acme::make_solver(s, t0 + std::chrono::milliseconds(500));
  Error e = error_of([&] { solver->present(authz("slow.example"), challenge("dns-01", "t"), "t.k"); });
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(e.kind() == ErrorKind::Failed);
  CHECK(std::string(e.what()).find("within --timeout") != std::string::npos);
  CHECK(took < std::chrono::seconds(5));
  solver->cleanup();
  CHECK(unit_pki::read_text(log) == "present\ncleanup\n");
}
