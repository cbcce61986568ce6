package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// EnvPrefix prefixes every environment variable that overrides a global key:
// prometheus.query_timeout is SCALED_PROMETHEUS_QUERY_TIMEOUT.
const EnvPrefix = "SCALED"

// globalKey is a key that the environment and flags may override. Scalers
// are not among them: a list cannot be overridden key by key, so scalers
// come from the file only.
type globalKey struct {
	key   string // viper key, dotted yaml path
	flag  string
	usage string
	field func(*Config) any // pointer to the field: *string, *bool, *int or *time.Duration
}

var globalKeys = []globalKey{
	{"prometheus.url", "prometheus.url", "URL of the Prometheus-compatible HTTP API", func(c *Config) any { return &c.Prometheus.URL }},
	{"prometheus.query_timeout", "prometheus.query-timeout", "timeout of one query", func(c *Config) any { return &c.Prometheus.QueryTimeout }},
	{"interval", "interval", "default tick of every scaler", func(c *Config) any { return &c.Interval }},
	{"dry_run", "dry-run", "only log and export decisions; change nothing", func(c *Config) any { return &c.DryRun }},
	{"listen", "listen", "address of the metrics and decisions HTTP server", func(c *Config) any { return &c.Listen }},
	{"log.level", "log.level", "log level: debug, info, warn, error", func(c *Config) any { return &c.Log.Level }},
	{"log.format", "log.format", "log encoding: json, console", func(c *Config) any { return &c.Log.Format }},
	{"decision_history", "decision-history", "decisions kept per scaler for the HTTP API", func(c *Config) any { return &c.DecisionHistory }},
}

// EnvVar is the environment variable that overrides key.
func EnvVar(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// BindFlags registers a flag for every global key on fs and binds it into v.
// Flag defaults are the built-in defaults, shown in --help; they never
// override the file, because only a flag given on the command line counts.
func BindFlags(fs *pflag.FlagSet, v *viper.Viper) {
	d := Defaults()
	for _, k := range globalKeys {
		usage := fmt.Sprintf("%s (env %s)", k.usage, EnvVar(k.key))
		switch p := k.field(d).(type) {
		case *string:
			fs.String(k.flag, *p, usage)
		case *time.Duration:
			fs.Duration(k.flag, *p, usage)
		case *bool:
			fs.Bool(k.flag, *p, usage)
		case *int:
			fs.Int(k.flag, *p, usage)
		}
		// BindPFlag fails only for a nil flag, and the flag was just made.
		_ = v.BindPFlag(k.key, fs.Lookup(k.flag))
	}
}

// Load reads the config file at path (none if path is empty), applies
// SCALED_* environment variables and then the flags bound into v (nil: a
// fresh viper, so the environment still applies), resolves relative file
// paths against the file's directory, runs adjust (a command's own changes,
// such as a placeholder for a key it does not need) and validates the result.
// Every problem of the file, of the environment and of validation is
// reported at once, as Problems; an unreadable file or a YAML syntax error
// is a plain error naming the file.
//
// Precedence, lowest first: built-in defaults, the file, the environment,
// flags given on the command line.
func Load(path string, v *viper.Viper, adjust ...func(*Config)) (*Config, error) {
	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
	}
	return LoadData(path, data, v, adjust...)
}

// LoadData is Load of a file already read: a pipe or a process
// substitution (`--config <(...)`) can be read only once, so a caller that
// looks at the bytes first (for Scaler manifests) hands them on. path names
// the file in errors and anchors its relative paths ("" for none).
func LoadData(path string, data []byte, v *viper.Viper, adjust ...func(*Config)) (*Config, error) {
	c, decoded, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if path != "" {
		resolvePaths(c, filepath.Dir(path))
	}
	if v == nil {
		v = viper.New()
	}
	decoded = append(decoded, override(c, v)...)
	for _, a := range adjust {
		a(c)
	}
	if errs := append(decoded, fielderr.Without(validate(c), decoded)...); len(errs) > 0 {
		return nil, Problems(errs)
	}
	return c, nil
}

// Parse decodes a config file strictly over the defaults and fills the
// scaler defaults. It does not validate: call Validate, or Load, which also
// reports decode and validation problems together. A problem of the file
// (an unknown key, a value of the wrong type) comes back as Problems.
func Parse(data []byte) (*Config, error) {
	c, decoded, err := parse(data)
	switch {
	case err != nil:
		return nil, err
	case len(decoded) > 0:
		return nil, Problems(decoded)
	}
	return c, nil
}

// parse decodes data over the defaults and fills the scaler defaults. It
// returns the config even when some keys failed to decode (they keep their
// defaults) with their problems; err is a YAML syntax error.
func parse(data []byte) (*Config, field.ErrorList, error) {
	c := Defaults()
	doc, err := parseYAML(data)
	if err != nil {
		return nil, nil, err
	}
	decoded := decodeInto(doc, c, nil)
	if hc := mappingValue(mappingValue(doc, "prometheus"), "http_config"); hc != nil && mappingKey(hc, "follow_redirects") == nil {
		// prometheus/common decodes http_config over its own defaults,
		// which follow redirects; scaled's default does not.
		c.Prometheus.HTTP.FollowRedirects = false
	}
	ApplyDefaults(c)
	return c, decoded, nil
}

// Override applies environment variables and flags bound into v to the
// global keys of c. The values c already holds (defaults, then the file) are
// given to v as its defaults, so v's own precedence (flag, env, default)
// decides. Decoding the file here and not through viper keeps keys strict and
// the case of map keys (HTTP headers) intact.
func Override(c *Config, v *viper.Viper) error {
	if errs := override(c, v); len(errs) > 0 {
		return Problems(errs)
	}
	return nil
}

func override(c *Config, v *viper.Viper) field.ErrorList {
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	var errs field.ErrorList
	for _, k := range globalKeys {
		p := k.field(c)
		switch p := p.(type) {
		case *string:
			v.SetDefault(k.key, *p)
		case *time.Duration:
			v.SetDefault(k.key, *p)
		case *bool:
			v.SetDefault(k.key, *p)
		case *int:
			v.SetDefault(k.key, *p)
		}
		if err := set(p, v.Get(k.key)); err != nil {
			errs = append(errs, fielderr.Invalid(keyPath(k.key), fmt.Sprint(v.Get(k.key)), "%v (from %s or --%s)", err, EnvVar(k.key), k.flag))
		}
	}
	return errs
}

// keyPath is the field path of a dotted global key.
func keyPath(key string) *field.Path {
	parts := strings.Split(key, ".")
	return field.NewPath(parts[0], parts[1:]...)
}

// set stores raw, which is the field's own type (default or typed flag) or a
// string (environment), into the field p points to.
func set(p, raw any) error {
	s, isString := raw.(string)
	switch p := p.(type) {
	case *string:
		*p = fmt.Sprint(raw)
	case *time.Duration:
		return setParsed(p, raw, s, isString, time.ParseDuration, "must be a duration such as 15s or 5m")
	case *bool:
		return setParsed(p, raw, s, isString, strconv.ParseBool, "must be true or false")
	case *int:
		return setParsed(p, raw, s, isString, strconv.Atoi, "must be an integer")
	}
	return nil
}

// setParsed stores raw into p when it is already a T, and otherwise the
// string s parsed; a raw that is neither, or an s that does not parse, is
// the error must.
func setParsed[T any](p *T, raw any, s string, isString bool, parse func(string) (T, error), must string) error {
	if v, ok := raw.(T); ok {
		*p = v
		return nil
	}
	v, err := parse(strings.TrimSpace(s))
	if !isString || err != nil {
		return errors.New(must)
	}
	*p = v
	return nil
}

// resolvePaths makes relative file paths relative to dir, the config file's
// directory, as Prometheus does for its own config.
func resolvePaths(c *Config, dir string) {
	c.Prometheus.HTTP.SetDirectory(dir)
	for i := range c.Scalers {
		for j := range c.Scalers[i].Signals {
			if r, ok := c.Scalers[i].Signals[j].Source.Spec.(sources.PathResolver); ok {
				r.ResolvePaths(dir)
			}
		}
	}
}
