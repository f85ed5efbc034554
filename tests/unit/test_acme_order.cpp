// The parts of acme issue that need no ACME server: key authorizations, Retry-After, and the
// http-01 responder (fetched with curl, three requests at once as pebble's VA sends them).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <future>

#include "applctl/acme/order.hpp"
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

TEST_CASE("acme: alternate chains are the Link headers with rel alternate", "[acme]") {
  acme::HttpResponse r;
  r.headers.emplace("link", "<https://acme/directory>;rel=\"index\"");
  r.headers.emplace("link", "<https://acme/cert/1/1>;rel=\"alternate\"");
  r.headers.emplace("link", "<https://acme/cert/1/2>; rel=alternate, <https://acme/up>;rel=\"up\"");
  r.headers.emplace("link", "<https://acme/cert/1/3>;title=\"x\";REL=\"Alternate\"");
  CHECK(acme::alternate_links(r) == std::vector<std::string>{"https://acme/cert/1/1", "https://acme/cert/1/2", "https://acme/cert/1/3"});
  CHECK(acme::alternate_links(acme::HttpResponse{}).empty());
}

TEST_CASE("acme: a chain matches a name by its topmost certificate's issuer or subject CN", "[acme]") {
  TempDir dir;
  dir.sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem -days 30 "
         "-subj '/CN=Test Root X1' 2>/dev/null");
  dir.sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout int.key -out int.csr -subj '/CN=Test Int' 2>/dev/null");
  dir.sh("printf 'basicConstraints=critical,CA:TRUE\\n' > ca.ext && openssl x509 -req -in int.csr -CA root.pem -CAkey root.key "
         "-set_serial 2 -days 20 -extfile ca.ext -out int.pem 2>/dev/null");
  dir.sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr -subj /CN=leaf 2>/dev/null");
  dir.sh("openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -set_serial 3 -days 10 -out leaf.pem 2>/dev/null");
  const std::string chain = unit_pki::read_text(dir / "leaf.pem") + unit_pki::read_text(dir / "int.pem");
  CHECK(acme::chain_matches(chain, "Test Root X1"));  // the intermediate's issuer
  CHECK(acme::chain_matches(chain, "Test Int"));      // the intermediate itself
  CHECK_FALSE(acme::chain_matches(chain, "Test Root"));
  CHECK_FALSE(acme::chain_matches(chain, "leaf"));
  CHECK(acme::chain_matches(chain + unit_pki::read_text(dir / "root.pem"), "Test Root X1"));
}
