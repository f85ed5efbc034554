// applctl doctor: a read-only consistency check of the store. It reads every row and parses every
// certificate and key (the one command that does), and reports each invariant the schema and the
// services rely on as a check that holds or names what breaks it. It never changes the store.
#pragma once

#include <string>
#include <vector>

#include "applctl/store/store.hpp"

namespace applctl {

struct DoctorCheck {
  std::string name;    // stable, e.g. "integrity", "certificate-columns"
  bool ok = true;
  std::string detail;  // what was checked, or the first problems found (names, ids; never secrets)
};

struct DoctorReport {
  std::vector<DoctorCheck> checks;
  int problems() const;  // failed checks
  bool ok() const { return problems() == 0; }
};

// Runs every check on the open store, in a fixed order. A check that cannot run (a table the
// schema lacks, a store SQLite cannot read) fails with the reason instead of throwing.
DoctorReport check_store(const Store& store);

}  // namespace applctl
