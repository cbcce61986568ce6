package sources

import (
	"strings"
	"testing"
	"time"
)

func TestReadTrace(t *testing.T) {
	tr, err := ReadTrace(strings.NewReader("timestamp,value\n60,1\n120,2.5\n180,0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Step != time.Minute || len(tr.Samples) != 3 || tr.Samples[1].Value != 2.5 || tr.Samples[2].Time.Unix() != 180 {
		t.Fatalf("got step %s samples %v", tr.Step, tr.Samples)
	}
}

func TestReadTraceRefusesBadInput(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"no header", "1,2\n3,4\n", `header "1,2"`},
		{"hole", "timestamp,value\n0,1\n60,1\n180,1\n", "line 4: timestamp 180: want 120"},
		{"negative", "timestamp,value\n0,1\n60,-1\n", `line 3: value "-1"`},
		{"nan", "timestamp,value\n0,1\n60,NaN\n", `line 3: value "NaN"`},
		{"backwards", "timestamp,value\n60,1\n0,1\n", "line 3: timestamp 0: want > 60"},
		{"one row", "timestamp,value\n0,1\n", "want at least 2"},
		{"empty", "", "empty trace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadTrace(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
