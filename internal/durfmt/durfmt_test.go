package durfmt

import (
	"fmt"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                   "0s",
		500 * time.Millisecond:              "500ms",
		15 * time.Second:                    "15s",
		90 * time.Second:                    "1m30s",
		time.Hour:                           "1h",
		336 * time.Hour:                     "336h",
		time.Hour + 30*time.Minute:          "1h30m",
		2*time.Hour + 1500*time.Millisecond: "2h1.5s",
		-time.Minute:                        "-1m",
		2562047 * time.Hour:                 "2562047h",
	} {
		if got := Format(d); got != want {
			t.Errorf("Format(%v) = %q, want %q", d, got, want)
		}
		if back, err := Parse(Format(d)); err != nil || back != d {
			t.Errorf("Parse(Format(%v)) = %v, %v", d, back, err)
		}
	}
}

func TestParseTakesPrometheusSyntax(t *testing.T) {
	for s, want := range map[string]time.Duration{"14d": 336 * time.Hour, "2w": 336 * time.Hour, " 1.5h ": 90 * time.Minute} {
		if got, err := Parse(s); err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := Parse("soon"); err == nil || err.Error() != `"soon": must be a duration such as 90s, 15m, 36h or 14d` {
		t.Errorf("Parse(soon): %v", err)
	}
}

func TestArgsWritesDurationsOneWay(t *testing.T) {
	args := []any{5 * time.Minute, "x", 3, time.Hour}
	if got := fmt.Sprintf("%s %s %d %v", Args(args)...); got != "5m x 3 1h" {
		t.Errorf("got %q, want %q", got, "5m x 3 1h")
	}
	if _, ok := args[0].(time.Duration); !ok {
		t.Errorf("Args changed its argument: %T", args[0])
	}
}
