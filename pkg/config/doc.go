// Package config defines scaled's configuration file, fills its defaults,
// loads it with environment and flag overrides, and validates every field,
// reporting all problems at once. It reads the config file and nothing else:
// no trace, token or certificate file is opened here.
package config
