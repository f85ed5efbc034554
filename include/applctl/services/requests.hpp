// Certificate signing requests: the key stays in the store, the request goes to a CA.
#pragma once

#include <string>
#include <vector>

#include "applctl/x509/names.hpp"
#include "applctl/store/store.hpp"

namespace applctl {

struct CsrRequest {
  std::string name;
  KeySpec key;
  Subject subject;
  std::vector<std::string> sans;
};

struct CsrCreated {
  RequestRow row;
  std::string pem;  // exactly what `csr create -o` writes and `csr show` prints
};

CsrCreated create_request(Store& store, const CsrRequest& request);
std::vector<RequestRow> list_requests(const Store& store);
CsrCreated show_request(const Store& store, std::string_view ref);
// Removes the request; its key goes too unless a certificate uses it.
RequestRow remove_request(Store& store, std::string_view ref);

}  // namespace applctl
