// Catch2's main (CATCH_CONFIG_MAIN): the costliest file of the suite to compile, so it is compiled
// once (the object library applctl_catch_main, tests/CMakeLists.txt) and linked into unit_tests,
// cli_tests and integration_tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
