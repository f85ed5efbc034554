// The kmip section of `apply` (internal to lib/provision_*.cpp): the file's KMIP settings
// compared with the saved ones (STORE/kmip.json), tested against the server before the store
// transaction, saved while it is open and put back when it does not commit.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "applctl/services/kmip.hpp"
#include "applctl/provision/provision.hpp"

namespace applctl {

// What differs between the saved settings and the file's, for people: never a secret, only that
// it changed ("password changed"). Empty when they are equal.
std::vector<std::string> kmip_differences(const KmipConfig& saved, const KmipConfig& wanted);

// The action that brings the saved settings to the file's: '+' when there are none, '~' when they
// differ (or cannot be read); none when they are equal.
std::optional<PlanAction> plan_kmip(const KmipSpec& spec, const std::filesystem::path& store_dir);

// The file's settings on their way to STORE/kmip.json during one apply.
class KmipUpdate {
 public:
  KmipUpdate(const KmipSpec& spec, std::filesystem::path store_dir);

  // DiscoverVersions + Query with the file's settings, once (never with no_test). A failure is
  // the server's error (Remote, exit 7) with the file's position in front.
  void test();
  // With the store's write lock held: saves the settings in place of the saved ones, keeping their
  // encryption key (an encrypted store stays readable), and remembers those for restore().
  void save();
  // The store transaction did not commit: the settings saved before are back.
  void restore();
  // The store transaction committed: the test's outcome is recorded (kmip-test.json).
  void committed();

 private:
  const KmipSpec& spec_;
  std::filesystem::path dir_;
  std::optional<KmipTestResult> tested_;
  bool saved_ = false;
  std::optional<KmipConfig> previous_;
};

}  // namespace applctl
