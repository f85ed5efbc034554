// Fills a store with N self-signed certificates in one transaction, for benchmarks of commands
// that must not be slower than linear in the store's size. Usage: applctl_mkstore STORE_DIR N
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "applctl/services/appliance.hpp"
#include "applctl/x509/certificate.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: applctl_mkstore STORE_DIR N\n";
    return 2;
  }
  using namespace applctl;
  try {
    const int n = std::atoi(argv[2]);
    Store store = Store::open(argv[1], Store::Mode::ReadWrite);
    init_appliance(store, {{"appliance.example.com"}});
    PrivateKey key = PrivateKey::generate(KeySpec::parse("ec:P-256"));
    auto tx = store.write("bench mkstore");
    std::int64_t key_id = store.insert_key(key);
    for (int i = 0; i < n; ++i) {
      Subject subject;
      subject.cn = fmt::format("host{}.example.com", i);
      // Validity spread over 1..800 days so that `cert check` has something to find.
      Bytes der = make_self_signed(key, {subject, {{SanType::DNS, subject.cn}}, 1 + i % 800, 0});
      store.insert_cert(inspect_certificate(der), der, fmt::format("cert-{:05}", i), key_id, "self-signed");
    }
    tx.commit();
  } catch (const std::exception& e) {
    std::cerr << "applctl_mkstore: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
