// The parts of acme issue that need no ACME server: key authorizations, Retry-After, and the
// http-01 responder (fetched with curl, three requests at once as pebble's VA sends them).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <future>

#include "applctl/acme_order.hpp"
#include "unit_pki.hpp"

namespace {
using namespace applctl;
using unit_pki::kind_of;
using unit_pki::TempDir;

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}
}  // namespace

TEST_CASE("acme: key authorization: token, a dot, the account key's thumbprint", "[acme]") {
  PrivateKey key = PrivateKey::generate(KeySpec::parse("ec:P-256"));
  CHECK(acme::key_authorization("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA", key) ==
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA." + acme::jwk_thumbprint(acme::public_jwk(key)));
}

TEST_CASE("acme: Retry-After: seconds are honoured, anything else falls back", "[acme]") {
  using std::chrono::milliseconds;
  acme::HttpResponse r;
  CHECK(acme::retry_after(r, milliseconds(50)) == milliseconds(50));
  r.headers.emplace("retry-after", "3");
  CHECK(acme::retry_after(r, milliseconds(50)) == milliseconds(3000));
  r.headers.clear();
  r.headers.emplace("retry-after", "Fri, 31 Dec 1999 23:59:59 GMT");
  CHECK(acme::retry_after(r, milliseconds(50)) == milliseconds(50));
  r.headers.clear();
  r.headers.emplace("retry-after", "-1");
  CHECK(acme::retry_after(r, milliseconds(50)) == milliseconds(50));
}

TEST_CASE("acme: the http-01 responder serves key authorizations, 404 otherwise, to parallel requests", "[acme]") {
  const int port = free_port();
  acme::Http01Responder responder(port);
  responder.publish("tok1", "tok1.thumb");
  TempDir dir;
  const std::string base = "http://127.0.0.1:" + std::to_string(port) + "/.well-known/acme-challenge/";
  std::vector<std::future<std::string>> gets;
  for (int i = 0; i < 3; ++i)
    gets.push_back(std::async(std::launch::async, [&] { return dir.sh("curl -sS --max-time 5 " + base + "tok1"); }));
  for (auto& g : gets) CHECK(g.get() == "tok1.thumb");
  CHECK(responder.served() == 3);
  CHECK(dir.sh("curl -s -o /dev/null -w '%{http_code}' " + base + "nope") == "404");
  CHECK(dir.sh("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:" + std::to_string(port) + "/") == "404");
  // The port is taken now: a second responder is refused.
  CHECK(kind_of([&] { acme::Http01Responder again(port); }) == ErrorKind::Refused);
}
