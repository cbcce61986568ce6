package main

import (
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/scaled-dev/scaled/pkg/config"
)

// removedNamesShown is how many removed scalers a reload's warning names:
// a file cut short may drop thousands, and the line must stay one line.
const removedNamesShown = 5

// removedScalers lists the scalers of prev that next no longer has, in
// prev's order.
func removedScalers(prev, next *config.Config) []string {
	kept := make(map[string]bool, len(next.Scalers))
	for _, sc := range next.Scalers {
		kept[sc.Name] = true
	}
	var out []string
	for _, sc := range prev.Scalers {
		if !kept[sc.Name] {
			out = append(out, sc.Name)
		}
	}
	return out
}

// namesExcerpt is at most removedNamesShown of names, and how many more
// there are: "web, api and 998 more".
func namesExcerpt(names []string) string {
	if len(names) <= removedNamesShown {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:removedNamesShown], ", "), len(names)-removedNamesShown)
}

// reportRemoved warns that a successful reload removed scalers, whose
// targets nobody scales any longer, and counts them
// (scaled_config_scalers_removed_total, which an alert watches).
func reportRemoved(logger *zap.Logger, metrics interface{ ScalersRemoved(int) }, removed []string, left int) {
	if len(removed) == 0 {
		return
	}
	metrics.ScalersRemoved(len(removed))
	logger.Warn("config reload removed scalers; their targets are no longer scaled",
		zap.Int("removed", len(removed)), zap.String("names", namesExcerpt(removed)), zap.Int("scalers", left))
}
