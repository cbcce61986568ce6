package tenancy

import (
	"errors"
	"strings"
	"testing"
)

func TestConfineQuery(t *testing.T) {
	for _, tc := range []struct {
		name, expr string
		want       string // "" when refused
		wantErr    string
	}{
		{name: "a bare metric", expr: `up`, want: `up{namespace="shop"}`},
		{name: "inside functions and aggregations", expr: `sum(rate(http_requests_total{job="web"}[2m]))`,
			want: `sum(rate(http_requests_total{job="web",namespace="shop"}[2m]))`},
		{name: "both sides of a binary expression", expr: `sum(a) / on() group_left sum(b{x="1"})`,
			want: `sum(a{namespace="shop"}) / on () group_left () sum(b{namespace="shop",x="1"})`},
		{name: "subqueries and offsets", expr: `max_over_time(rate(c[1m])[10m:1m] offset 5m)`,
			want: `max_over_time(rate(c{namespace="shop"}[1m])[10m:1m] offset 5m)`},
		{name: "a selector by name only", expr: `{__name__=~"app_.*"}`, want: `{__name__=~"app_.*",namespace="shop"}`},
		{name: "its own namespace kept once", expr: `up{namespace="shop"}`, want: `up{namespace="shop"}`},
		{name: "a regexp that admits it narrows to it", expr: `up{namespace=~"shop|blog"}`, want: `up{namespace="shop"}`},
		{name: "another namespace excluded is fine", expr: `up{namespace!="blog"}`, want: `up{namespace="shop"}`},
		{name: "no selector at all", expr: `vector(3) * 2`, want: `vector(3) * 2`},
		{name: "absent of another namespace", expr: `absent(up{namespace="blog"})`, wantErr: `its matcher namespace="blog" conflicts with namespace="shop"`},
		{name: "another namespace", expr: `sum(x) + sum(up{namespace="blog"})`, wantErr: "reads series outside the Scaler's namespace"},
		{name: "its own namespace excluded", expr: `up{namespace!="shop"}`, wantErr: "conflicts"},
		{name: "a regexp that does not admit it", expr: `up{namespace=~"blog.*"}`, wantErr: "conflicts"},
		{name: "not PromQL", expr: `sum(`, wantErr: "not valid PromQL"},
		{name: "an experimental function", expr: `info(up)`, wantErr: "not valid PromQL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ConfineQuery(tc.expr, "namespace", "shop")
			switch {
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("ConfineQuery(%s) = %q, %v; want an error containing %q", tc.expr, got, err, tc.wantErr)
			case tc.wantErr == "" && err != nil:
				t.Fatalf("ConfineQuery(%s): %v", tc.expr, err)
			case got != tc.want:
				t.Errorf("ConfineQuery(%s) = %s, want %s", tc.expr, got, tc.want)
			}
			if tc.wantErr == "" {
				again, err := ConfineQuery(got, "namespace", "shop")
				if err != nil || again != got {
					t.Errorf("confining twice = %q, %v; want %q unchanged", again, err, got)
				}
			}
		})
	}
}

func TestConfineQueryConflictIsNamed(t *testing.T) {
	_, err := ConfineQuery(`up{ns="a"}`, "ns", "b")
	if !errors.Is(err, errConflict) {
		t.Errorf("err = %v, want errConflict", err)
	}
}
