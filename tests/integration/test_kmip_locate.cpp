// applctl kmip locate against PyKMIP's server: keys found by their Name, with the negotiated
// protocol version and with KMIP 1.x, and exit 4 for a name no key has.
#include <algorithm>

#include "integration/pykmip.hpp"

namespace {

using clitest::Appliance;
using clitest::Result;
using kmiptest::KmipPki;
using kmiptest::PyKmipServer;

}  // namespace

TEST_CASE("kmip locate finds keys by name on PyKMIP", "[integration][kmip]") {
  const KmipPki& pki = KmipPki::get();
  PyKmipServer& server = PyKmipServer::shared();
  Appliance a;
  Result c = a.run({"kmip", "configure", "--host", "127.0.0.1", "--port", std::to_string(server.port()), "--ca",
                    pki / "ca.crt", "--client-cert", pki / "client.crt", "--client-key", pki / "client.key"});
  INFO(c.out << c.err);
  REQUIRE(c.code == 0);

  const std::string name = "locate-" + std::to_string(::getpid());
  const std::string first = a.json({"kmip", "create-key", "--name", name})["unique_identifier"];
  const std::string second = a.json({"kmip", "create-key", "--name", name, "--bits", "128"})["unique_identifier"];
  a.json({"kmip", "create-key", "--name", name + "-other"});

  nlohmann::json found = a.json({"kmip", "locate", "--name", name});
  CHECK(found["name"] == name);
  std::vector<std::string> uids = found["unique_identifiers"];
  std::sort(uids.begin(), uids.end());
  std::vector<std::string> expected{first, second};
  std::sort(expected.begin(), expected.end());
  CHECK(uids == expected);
  Result human = a.run({"kmip", "locate", "--name", name + "-other"});
  CHECK(human.code == 0);
  CHECK(std::count(human.out.begin(), human.out.end(), '\n') == 1);

  // With KMIP 1.2 (the saved protocol version is what requests use): Attribute structures.
  nlohmann::json settings = nlohmann::json::parse(clitest::slurp(a.store / "kmip.json"));
  REQUIRE(settings["protocol_version"] == "2.0");
  settings["protocol_version"] = "1.2";
  clitest::spit(a.store / "kmip.json", settings.dump());
  std::vector<std::string> again = a.json({"kmip", "locate", "--name", name})["unique_identifiers"];
  std::sort(again.begin(), again.end());
  CHECK(again == expected);

  Result none = a.run({"--json", "kmip", "locate", "--name", name + "-nothing"});
  CHECK(none.code == 4);
  CHECK(none.json()["error"]["code"] == "not-found");
  CHECK(a.run({"kmip", "locate"}).code == 2);
}
