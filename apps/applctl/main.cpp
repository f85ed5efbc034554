#include "cli.hpp"

int main(int argc, char** argv) { return applctl::cli::run(argc, argv); }
