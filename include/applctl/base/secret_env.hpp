// Secrets named by an environment variable (--passphrase-env VAR, --password-env VAR,
// --eab-hmac-env VAR, `passphrase_env: VAR` in a provisioning file) are read through one helper
// that takes them out of the environment.
#pragma once

#include <optional>
#include <string>

namespace applctl {

// The value of the environment variable `name`, taken out of the environment. The first call
// copies it, overwrites the value in place with zeros (the bytes getenv points at are the
// process's original environment block, which is what /proc/PID/environ shows) and unsets the
// variable, so neither /proc nor a hook or child process sees it. A later call for the same name
// returns the kept copy (a variable named twice in one command works), unless the variable was
// set again in between: then the new value is taken. nullopt when it was never set.
std::optional<std::string> take_secret_env(const std::string& name);

}  // namespace applctl
