// take_secret_env: the value of a secret's environment variable, taken out of the environment.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>

#include "applctl/base/secret_env.hpp"

using applctl::take_secret_env;

TEST_CASE("take_secret_env wipes and unsets the variable and keeps the value for a second read", "[secret_env]") {
  const char* name = "APPLCTL_UNIT_SECRET_ENV";
  ::setenv(name, "first-s3cret", 1);
  const char* raw = std::getenv(name);  // the bytes other readers of the environment would see
  REQUIRE(raw != nullptr);
  CHECK(take_secret_env(name) == "first-s3cret");
  CHECK(std::getenv(name) == nullptr);
  CHECK(std::memcmp(raw, std::string(12, '\0').data(), 12) == 0);  // overwritten in place
  CHECK(take_secret_env(name) == "first-s3cret");                  // read twice in one command

  ::setenv(name, "second-s3cret", 1);  // set again: the new value counts
  CHECK(take_secret_env(name) == "second-s3cret");
  CHECK(std::getenv(name) == nullptr);
  CHECK(take_secret_env(name) == "second-s3cret");

  CHECK_FALSE(take_secret_env("APPLCTL_UNIT_SECRET_ENV_NEVER_SET"));
  CHECK_FALSE(take_secret_env(""));
  CHECK_FALSE(take_secret_env("A=B"));
}
